"""Locations and their posters: the register (admins only), the poster's QR code (decoded by a
real QR decoder), the quick log a poster opens (channel and location filled in, also after
signing in), its "when" choice in the organisation's time zone, and bad input of every kind.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from incidents.extensions import db, org_zone
from incidents.models import (
    LOCATION_CODE_ALPHABET,
    LOCATION_CODE_LENGTH,
    AuditAction,
    AuditEvent,
    Channel,
    Incident,
    Location,
    Role,
)
from incidents.services import InvalidInput, ServiceError
from incidents.services import locations as location_service
from tests.conftest import PASSWORD, form_errors, login

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def counter(app):
    return location_service.create_location(None, name="Balie publiekshal", channel=Channel.COUNTER)


@pytest.fixture
def employee(make_user, make_team):
    return make_user(Role.EMPLOYEE, team=make_team("Income"), email="eva@example.test")


def in_english(client):
    """The new strings are not in the Dutch catalogue yet: the tests read them in English."""
    client.post("/language", data={"locale": "en", "next": "/"})
    return client


def count(model=Incident):
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(location: Location) -> Location:
    db.session.expire_all()
    found = db.session.get(Location, location.id)
    assert found is not None
    return found


# --- Reading QR codes back ------------------------------------------------------------------


def dark_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The size in modules and the dark modules of a segno SVG: its stroke path is a run of
    `M x y`, `m dx dy` and `h n` (n dark modules from x on row y - 0.5)."""
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    if box is not None:
        size = int(box.group(1))
    else:  # the standalone file: width and height in pixels, and a scale
        width = re.search(r'width="(\d+)"', svg)
        scale = re.search(r"scale\((\d+)\)", svg)
        assert width is not None and scale is not None
        size = int(width.group(1)) // int(scale.group(1))
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg)
    assert path is not None, "the SVG draws its dark modules as one stroke path"
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d.\s]+)", path.group(1)):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            length = values[0] if command == "h" else values[0] - x
            dark |= {(int(y), int(x) + i) for i in range(int(length))}
            x += length
    return size, dark


def decode(svg: str) -> list[str]:
    """What a QR decoder (zxing-cpp) reads from the SVG, drawn at 8 pixels per module."""
    size, dark = dark_modules(svg)
    pixels = 8
    image = Image.new("L", (size * pixels, size * pixels), 255)
    draw = ImageDraw.Draw(image)
    for row, col in dark:
        draw.rectangle(
            [col * pixels, row * pixels, (col + 1) * pixels - 1, (row + 1) * pixels - 1], fill=0
        )
    return [found.text for found in zxingcpp.read_barcodes(image)]


def inline_svg(page: str) -> str:
    found = re.search(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert found is not None, "the poster carries its QR code inline"
    return found.group(0)


# --- The register: admins only ----------------------------------------------------------------


def location_urls(location_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/locations"),
        ("GET", "/admin/locations/new"),
        ("POST", "/admin/locations/new"),
        ("GET", f"/admin/locations/{location_id}"),
        ("GET", f"/admin/locations/{location_id}/edit"),
        ("POST", f"/admin/locations/{location_id}/edit"),
        ("GET", f"/admin/locations/{location_id}/qr.svg"),
        ("POST", f"/admin/locations/{location_id}/archive"),
    ]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_admins_open_the_register_and_its_posters(login_as, counter, role):
    client = login_as(role)
    for method, url in location_urls(counter.id):
        status = (client.get(url) if method == "GET" else client.post(url)).status_code
        if role == Role.ADMIN:
            assert status in (200, 302), (method, url, status)
        else:
            assert status == 403, (method, url, status)
    if role != Role.ADMIN:
        assert fresh(counter).active and fresh(counter).name == "Balie publiekshal"


def test_signed_out_the_register_sends_to_the_login(client, counter):
    for method, url in location_urls(counter.id):
        response = client.open(url, method=method)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next=")


def test_an_unknown_location_is_404(login_as):
    client = login_as(Role.ADMIN)
    for url in ("/admin/locations/999999", "/admin/locations/999999/edit"):
        assert client.get(url).status_code == 404
    assert client.get("/admin/locations/999999/qr.svg").status_code == 404
    assert client.post("/admin/locations/999999/archive").status_code == 404
    assert client.get("/admin/locations/abc").status_code == 404


def test_an_admin_adds_renames_changes_the_channel_and_archives(login_as):
    client = login_as(Role.ADMIN)
    added = client.post(
        "/admin/locations/new", data={"name": "  Spreekkamer   2 ", "channel": "interview_room"}
    )
    location = db.session.scalar(select(Location))
    assert location is not None
    assert added.status_code == 302
    assert added.headers["Location"] == f"/admin/locations/{location.id}"
    assert location.name == "Spreekkamer 2" and location.channel == Channel.INTERVIEW_ROOM
    assert len(location.code) == LOCATION_CODE_LENGTH
    assert set(location.code) <= set(LOCATION_CODE_ALPHABET)
    code = location.code

    listed = client.get("/admin/locations").text
    assert "Spreekkamer 2" in listed and code in listed

    client.post(
        f"/admin/locations/{location.id}/edit",
        data={"name": "Spreekkamer 2 (begane grond)", "channel": "counter"},
    )
    location = fresh(location)
    assert location.name == "Spreekkamer 2 (begane grond)" and location.channel == Channel.COUNTER
    assert location.code == code  # the printed posters stay right

    client.post(f"/admin/locations/{location.id}/archive")
    location = fresh(location)
    assert not location.active and location.archived_at is not None
    assert "inactive" in client.get("/admin/locations").text
    client.post(f"/admin/locations/{location.id}/archive")
    assert fresh(location).active

    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "location")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        AuditAction.LOCATION_CREATE,
        AuditAction.LOCATION_UPDATE,
        AuditAction.LOCATION_ARCHIVE,
        AuditAction.LOCATION_RESTORE,
    ]


def test_an_edit_that_changes_nothing_writes_no_audit_event(login_as, counter):
    client = login_as(Role.ADMIN)
    client.post(
        f"/admin/locations/{counter.id}/edit",
        data={"name": "Balie publiekshal", "channel": "counter"},
    )
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "location")
    ).all()
    assert events == [AuditAction.LOCATION_CREATE]


def test_names_are_unique_among_the_active_locations(login_as, counter):
    client = in_english(login_as(Role.ADMIN))
    same = client.post(
        "/admin/locations/new", data={"name": "BALIE  publiekshal", "channel": "counter"}
    )
    assert same.status_code == 200 and form_errors(same.text) == ["name"]
    assert "An active location is already called “BALIE publiekshal”." in same.text
    assert count(Location) == 1

    other = location_service.create_location(None, name="Balie 2", channel=Channel.COUNTER)
    renamed = client.post(
        f"/admin/locations/{other.id}/edit",
        data={"name": "balie publiekshal", "channel": "counter"},
    )
    assert form_errors(renamed.text) == ["name"]
    assert fresh(other).name == "Balie 2"

    # Once archived, the name is free again; the archived one cannot come back while it is used.
    location_service.set_location_archived(None, counter, True)
    again = location_service.create_location(
        None, name="Balie publiekshal", channel=Channel.COUNTER
    )
    assert again.code != counter.code
    with pytest.raises(ServiceError):
        location_service.set_location_archived(None, fresh(counter), False)
    refused = client.post(f"/admin/locations/{counter.id}/archive", follow_redirects=True)
    assert "An active location is already called" in refused.text
    assert not fresh(counter).active


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "channel": "counter"}, "name"),
        ({"name": "   ", "channel": "counter"}, "name"),
        ({"name": "x" * 121, "channel": "counter"}, "name"),
        ({"name": "Balie", "channel": "moon"}, "channel"),
        ({"name": "Balie"}, "channel"),
    ],
)
def test_bad_location_input_is_refused_next_to_its_field(login_as, data, field):
    client = login_as(Role.ADMIN)
    response = client.post("/admin/locations/new", data=data)
    assert response.status_code == 200
    assert field in form_errors(response.text)
    assert count(Location) == 0


def test_the_service_cleans_and_checks_the_name(app):
    with pytest.raises(InvalidInput) as empty:
        location_service.create_location(None, name=" \t ", channel=Channel.COUNTER)
    assert set(empty.value.errors) == {"name"}
    with pytest.raises(InvalidInput):
        location_service.create_location(None, name="x" * 121, channel=Channel.COUNTER)
    made = location_service.create_location(None, name="Balie\n hal", channel=Channel.COUNTER)
    assert made.name == "Balie hal"
    assert count(Location) == 1


def test_the_archive_button_needs_the_form_token(login_as, counter):
    client = login_as(Role.ADMIN)
    assert client.post(f"/admin/locations/{counter.id}/archive", csrf=False).status_code == 400
    assert fresh(counter).active


# --- The poster and its QR code ---------------------------------------------------------------


def test_the_poster_has_a_qr_code_that_a_reader_decodes_to_the_quick_log(app, login_as, counter):
    client = in_english(login_as(Role.ADMIN))
    page = client.get(f"/admin/locations/{counter.id}").text
    expected = f"http://127.0.0.1:5000/incidents/quick?at={counter.code}"
    svg = inline_svg(page)
    assert decode(svg) == [expected]
    assert "style=" not in svg and "<script" not in svg  # allowed inline under our CSP
    assert 'role="img"' in svg and "<title>" in svg
    assert '<h1 class="poster-title" id="poster-title">Balie publiekshal</h1>' in page
    assert "Shouted at or threatened here? Log it in a minute." in page
    assert f'<span class="poster-url">{expected}</span>' in page  # written out under it
    assert "no-print" in page
    assert client.get(f"/admin/locations/{counter.id}").headers["Content-Security-Policy"]


def test_the_poster_comes_in_either_language(login_as, counter):
    client = login_as(Role.ADMIN)  # whose own language is Dutch
    english = client.get(f"/admin/locations/{counter.id}?lang=en").text
    assert '<html lang="en">' in english
    assert "Shouted at or threatened here? Log it in a minute." in english
    dutch = client.get(f"/admin/locations/{counter.id}?lang=xx").text
    assert '<html lang="nl">' in dutch and "Poster in:" in dutch
    assert f'href="/admin/locations/{counter.id}?lang=en"' in dutch


def test_the_qr_code_starts_with_base_url_never_the_requests_host(app, login_as, counter):
    from incidents.admin.locations import quick_log_url

    app.config["BASE_URL"] = "https://nazorg.example.org/meld"
    try:
        page = login_as(Role.ADMIN).get(f"/admin/locations/{counter.id}").text
        # An admin on an internal host name (or a forged Host header) prints the same poster.
        with app.test_request_context("/", base_url="http://evil.example"):
            from_elsewhere = quick_log_url(counter)
    finally:
        app.config["BASE_URL"] = "http://127.0.0.1:5000"
    expected = f"https://nazorg.example.org/meld/incidents/quick?at={counter.code}"
    assert decode(inline_svg(page)) == [expected]
    assert from_elsewhere == expected


def test_the_qr_code_downloads_as_an_svg_file(login_as, counter):
    client = login_as(Role.ADMIN)
    response = client.get(f"/admin/locations/{counter.id}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="qr-{counter.code}.svg"'
    )
    svg = response.get_data(as_text=True)
    assert svg.startswith("<?xml")
    assert decode(svg) == [f"http://127.0.0.1:5000/incidents/quick?at={counter.code}"]


def test_renaming_a_location_keeps_what_its_posters_hold(login_as, counter):
    client = login_as(Role.ADMIN)
    before = decode(inline_svg(client.get(f"/admin/locations/{counter.id}").text))
    client.post(
        f"/admin/locations/{counter.id}/edit", data={"name": "Balie Stadhuis", "channel": "phone"}
    )
    page = client.get(f"/admin/locations/{counter.id}").text
    assert "Balie Stadhuis" in page
    assert decode(inline_svg(page)) == before


def test_the_poster_of_an_archived_location_says_it_fills_in_nothing(login_as, counter):
    location_service.set_location_archived(None, counter, True)
    client = in_english(login_as(Role.ADMIN))
    page = client.get(f"/admin/locations/{counter.id}").text
    assert "This location is archived" in page


def test_a_name_with_markup_is_shown_as_text(login_as):
    location = location_service.create_location(
        None, name='<script>alert("x")</script>', channel=Channel.COUNTER
    )
    client = login_as(Role.ADMIN)
    for url in ("/admin/locations", f"/admin/locations/{location.id}"):
        page = client.get(url).text
        assert "<script>alert" not in page and "&lt;script&gt;" in page


# --- The quick log a poster opens --------------------------------------------------------------


def open_quick_log(client, query: str) -> tuple[str, str]:
    """GET the quick log with `query`; returns the address it settles on and the page."""
    response = client.get(f"/incidents/quick?{query}")
    assert response.status_code == 302
    target = response.headers["Location"]
    page = client.get(target)
    assert page.status_code == 200
    return target, page.text


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'<input checked id="{name}-\d+" name="{name}"[^>]* value="([^"]+)"', page)


def test_a_poster_code_fills_in_the_channel_and_the_location(client, employee, counter, frozen):
    login(client, employee)
    target, page = open_quick_log(client, f"at={counter.code}")
    assert parse_qs(urlsplit(target).query)["at"] == [counter.code]  # kept through the redirect
    assert checked(page, "channel") == ["counter"]
    assert 'name="location" type="text" value="Balie publiekshal"' in page
    assert checked(page, "when") == ["now"]
    token = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/incidents/quick",
        data={
            "submission_token": token.group(1),
            "type": "verbal",
            "channel": "counter",
            "location": "Balie publiekshal",
            "when": "now",
        },
    )
    assert response.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.location == "Balie publiekshal" and incident.channel == Channel.COUNTER
    assert incident.occurred_at == NOW and incident.quick


def test_the_employee_may_change_what_the_poster_filled_in(client, employee, counter, frozen):
    login(client, employee)
    client.post(
        "/incidents/quick",
        data={
            "submission_token": "poster-changed-token-01",
            "type": "intimidation",
            "channel": "public_space",
            "location": "Parkeerplaats achter het stadhuis",
        },
    )
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.channel == Channel.PUBLIC_SPACE
    assert incident.location == "Parkeerplaats achter het stadhuis"


def test_a_code_is_read_in_any_case(client, employee, counter):
    login(client, employee)
    _target, page = open_quick_log(client, f"at=%20{counter.code.upper()}")
    assert checked(page, "channel") == ["counter"]


def test_an_archived_or_unknown_code_shows_the_plain_quick_log(client, employee, counter):
    location_service.set_location_archived(None, counter, True)
    in_english(login(client, employee))
    for code in (counter.code, "zzzzzzzz"):
        _target, page = open_quick_log(client, f"at={code}")
        assert checked(page, "channel") == []
        assert 'name="location" type="text" value=""' in page
        assert "is not in use (any more)" in page  # a small note


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "x" * 10_000,
        "%00%01%1b",
        "abc%0d%0aSet-Cookie:%20x=1",
        "%3Cscript%3Ealert(1)%3C/script%3E",
        "../../admin",
        "%ff%fe",
        "abcdefgh&at=ijklmnop",
        "12345678",  # the right length, outside the alphabet (0, 1)
    ],
)
def test_junk_codes_never_give_a_500(client, employee, counter, junk):
    login(client, employee)
    response = client.get(f"/incidents/quick?at={junk}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "script" not in location
    page = client.get(location)
    assert page.status_code == 200
    assert checked(page.text, "channel") == []
    # With a token already in the address (a crafted link): the plain quick log, too.
    direct = client.get(f"/incidents/quick?t=direct-padded-token-01&at={junk}")
    assert direct.status_code == 200
    assert "<script>alert" not in direct.text
    assert count() == 0


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=st.text(max_size=300))
def test_no_code_gives_a_500(app, employee, code):
    client = login(app.test_client(), employee)
    for query in (urlencode({"at": code}), urlencode({"t": "any-padded-token-00001", "at": code})):
        response = client.get(f"/incidents/quick?{query}", follow_redirects=True)
        assert response.status_code == 200, query
    assert count() == 0


def test_signed_out_a_scan_leads_to_the_quick_log_after_signing_in(client, employee, counter):
    scanned = client.get(f"/incidents/quick?at={counter.code}")
    assert scanned.status_code == 302
    to_login = urlsplit(scanned.headers["Location"])
    assert to_login.path == "/login"
    target = parse_qs(to_login.query)["next"][0]
    assert target == f"/incidents/quick?at={counter.code}"
    assert client.get(scanned.headers["Location"]).status_code == 200
    signed_in = client.post(
        "/login", data={"email": "eva@example.test", "password": PASSWORD, "next": target}
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == target
    _target, page = open_quick_log(client, f"at={counter.code}")
    assert checked(page, "channel") == ["counter"]
    assert 'value="Balie publiekshal"' in page


# --- When: just now, earlier today, yesterday ----------------------------------------------------


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=org_zone()).astimezone(UTC)


def quick(client, token: str, **fields: str):
    return client.post(
        "/incidents/quick",
        data={"submission_token": token, "type": "verbal", "channel": "phone", **fields},
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"when": "now"}, NOW),
        ({}, NOW),  # a form from before "when" existed: just now
        ({"when": "now", "time_of_day": ""}, NOW),
        ({"when": "today"}, NOW - timedelta(hours=1)),
        ({"when": "today", "time_of_day": "08:15"}, (date(2026, 3, 10), time(8, 15))),
        ({"when": "today", "time_of_day": "10:34"}, (date(2026, 3, 10), time(10, 34))),
        ({"when": "yesterday"}, (date(2026, 3, 9), time(12, 0))),
        ({"when": "yesterday", "time_of_day": "22:40"}, (date(2026, 3, 9), time(22, 40))),
        ({"when": "yesterday", "time_of_day": "00:00"}, (date(2026, 3, 9), time(0, 0))),
    ],
)
def test_when_gives_the_moment_in_the_organisations_time_zone(
    client, employee, frozen, fields, expected
):
    login(client, employee)
    response = quick(client, "when-padded-token-0001", **fields)
    assert response.status_code == 302, form_errors(response.text)
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.occurred_at == (local(*expected) if isinstance(expected, tuple) else expected)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"when": "now", "time_of_day": "08:00"}, "time_of_day", "Leave the time empty"),
        ({"when": "today", "time_of_day": "11:30"}, "time_of_day", "still to come today"),
        ({"when": "today", "time_of_day": "25:99"}, "time_of_day", "Not a valid time value"),
        ({"when": "today", "time_of_day": "8 uur"}, "time_of_day", "Not a valid time value"),
        ({"when": "tomorrow"}, "when", "Not a valid choice"),
        ({"when": ""}, "when", "Not a valid choice"),
    ],
)
def test_a_wrong_when_is_refused_next_to_its_field(
    client, employee, frozen, fields, field, message
):
    in_english(login(client, employee))
    response = quick(client, "when-padded-token-0002", **fields)
    assert response.status_code == 200
    assert form_errors(response.text) == [field]
    assert message in response.text
    assert count() == 0


def test_just_after_midnight(client, employee, frozen):
    frozen.move_to(datetime(2026, 3, 9, 23, 10, tzinfo=UTC))  # 00:10 on 10 March in Amsterdam
    login(client, employee)
    # Earlier today at 23:50 has not happened yet today: it was yesterday.
    refused = quick(client, "midnight-padded-token-01", when="today", time_of_day="23:50")
    assert form_errors(refused.text) == ["time_of_day"]
    # Earlier today without a time: an hour ago would be yesterday, so midnight.
    quick(client, "midnight-padded-token-02", when="today")
    quick(client, "midnight-padded-token-03", when="yesterday", time_of_day="23:50")
    moments = db.session.scalars(select(Incident.occurred_at).order_by(Incident.id)).all()
    assert moments == [
        local(date(2026, 3, 10), time(0, 0)),
        local(date(2026, 3, 9), time(23, 50)),
    ]


def test_earlier_today_is_an_hour_ago_on_the_night_the_clocks_go_forward(client, employee, frozen):
    # 29 March 2026, 03:30 summer time; an hour ago it was 01:30 winter time.
    frozen.move_to(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    login(client, employee)
    quick(client, "dst-padded-token-000001", when="today")
    incident = db.session.scalar(select(Incident))
    assert incident is not None
    assert incident.occurred_at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_the_quick_log_fields_come_back_with_their_errors(client, employee, counter, frozen):
    login(client, employee)
    response = quick(
        client,
        "back-padded-token-00001",
        when="yesterday",
        time_of_day="25:00",
        location="Balie publiekshal",
        note="Schreeuwde",
    )
    assert form_errors(response.text) == ["time_of_day"]
    assert checked(response.text, "when") == ["yesterday"]
    assert 'value="Balie publiekshal"' in response.text and 'value="Schreeuwde"' in response.text


def test_the_quick_log_location_is_at_most_200_characters(client, employee, frozen):
    login(client, employee)
    response = quick(client, "long-padded-token-00001", location="x" * 201)
    assert form_errors(response.text) == ["location"]
    assert count() == 0


def test_a_time_error_reads_in_dutch_by_default(client, employee, frozen):
    login(client, employee)
    response = quick(client, "dutch-padded-token-0001", when="today", time_of_day="25:99")
    assert "Ongeldige waarde voor tijd." in response.text  # WTForms' own catalogue
    assert "Wanneer gebeurde het?" in response.text


# --- The demo -----------------------------------------------------------------------------------


def test_the_demo_has_locations_with_posters(app):
    from incidents.services.demo import DEMO_LOCATIONS, seed_demo

    seed_demo()
    seed_demo()  # a second run adds nothing
    names = db.session.scalars(select(Location.name).order_by(Location.id)).all()
    assert names == [name for name, _channel in DEMO_LOCATIONS]


def test_two_codes_differ(app):
    codes = {location_service.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == LOCATION_CODE_LENGTH for code in codes)


def test_the_svg_download_holds_no_name(login_as):
    location = location_service.create_location(None, name="Balie & co", channel=Channel.COUNTER)
    client = login_as(Role.ADMIN)
    svg = client.get(f"/admin/locations/{location.id}/qr.svg").get_data(as_text=True)
    assert "Balie" not in svg
    assert io.StringIO(svg).read().count("<svg") == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Kept on the device at 23:10 the evening before, sent at 10:30: counted from 23:10.
        ({"when": "now"}, (date(2026, 3, 9), time(23, 10))),
        ({"when": "today"}, (date(2026, 3, 9), time(22, 10))),
        ({"when": "today", "time_of_day": "20:00"}, (date(2026, 3, 9), time(20, 0))),
        ({"when": "yesterday"}, (date(2026, 3, 8), time(12, 0))),
    ],
)
def test_a_log_kept_offline_counts_its_when_from_the_moment_it_was_kept(
    client, employee, frozen, fields, expected
):
    login(client, employee)
    kept = local(date(2026, 3, 9), time(23, 10, 42)).isoformat().replace("+00:00", "Z")
    response = quick(client, "kept-padded-token-0001", kept_at=kept, **fields)
    assert response.status_code == 302, form_errors(response.text)
    incident = db.session.scalar(select(Incident))
    assert incident is not None and incident.occurred_at == local(*expected)


@pytest.mark.parametrize(
    "kept",
    ["", "junk", "2026-03-10T09:00:00", "1989-12-31T23:00:00Z", "2026-03-11T09:00:00Z", "9" * 300],
)
def test_a_kept_moment_that_cannot_be_right_counts_from_now(client, employee, frozen, kept):
    """No zone, before 1990, ahead of the clock, or not a moment: "just now" is now."""
    login(client, employee)
    response = quick(client, "kept-padded-token-0002", kept_at=kept, when="now")
    assert response.status_code == 302, form_errors(response.text)
    incident = db.session.scalar(select(Incident))
    assert incident is not None and incident.occurred_at == NOW
