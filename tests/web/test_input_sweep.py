"""An input sweep over the app's forms: long text, unicode, control characters, HTML and script,
SQL-like text; numbers and dates far out of range. Whatever is sent: no 500, what comes back is
escaped, and an out-of-range value gets a message next to its field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from incidents import services
from incidents.bounds import INT_MAX
from incidents.extensions import db
from incidents.models import AftercareStep, Channel, Incident, IncidentType, Role
from incidents.services import ReportData
from incidents.services import conversations as conversation_service
from incidents.services import locations as location_service
from incidents.services.aftercare import StepResult, result_errors
from tests.conftest import PASSWORD, form_errors, login

NASTY = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
    st.sampled_from(
        [
            '<script>alert("x")</script>',
            "<img src=x onerror=alert(1)>",
            "'; DROP TABLE incident; --",
            "\x00\x01\x02\x1b[31m",
            "\u202e\u0000\ufeff",
            "Robert'); DELETE FROM user WHERE ('1'='1",
            "%(name)s {{ 7*7 }} {% raw %}",
        ]
    ),
)


def forms(ids):
    """(role, url, fields that take free text, fixed fields)."""
    step, incident, team, user = ids["step"], ids["incident"], ids["team"], ids["user"]
    return [
        (None, "/login", ["email", "password"], {}),
        (Role.EMPLOYEE, "/account/password", ["current", "new", "repeat"], {}),
        (
            Role.ADMIN,
            "/admin/users/new",
            ["name", "email", "password"],
            {"role": "employee", "team": "0"},
        ),
        (
            Role.ADMIN,
            f"/admin/users/{user}/edit",
            ["name", "email"],
            {"role": "employee", "team": "0"},
        ),
        (
            Role.ADMIN,
            "/admin/teams/new",
            ["name_nl", "name_en"],
            {"parent": "0", "manager": "0", "deputy": "0"},
        ),
        (
            Role.ADMIN,
            f"/admin/teams/{team}/edit",
            ["name_nl", "name_en"],
            {"parent": "0", "manager": "0", "deputy": "0"},
        ),
        (
            Role.EMPLOYEE,
            "/incidents/new",
            [
                "description",
                "location",
                "outside_witnesses",
                "perpetrator_name",
                "perpetrator_reference",
                "occurred_at",
            ],
            {
                "channel": "counter",
                "types": "verbal",
                "affected_self": "y",
                "submission_token": "sweep-token-0000000001",
            },
        ),
        (
            Role.EMPLOYEE,
            "/incidents/quick",
            ["note", "type", "channel", "location", "when", "time_of_day"],
            {"submission_token": "sweep-token-0000000002"},
        ),
        (Role.ADMIN, "/admin/locations/new", ["name", "channel"], {}),
        (Role.ADMIN, f"/admin/locations/{ids['location']}/edit", ["name"], {"channel": "counter"}),
        (
            Role.MANAGER,
            f"/aftercare/steps/{step}",
            ["note", "reason", "reference", "held_on"],
            {"outcomes": "held", "attempts": "0"},
        ),
        (Role.HR, "/hr/conversations?month=2026-01", ["month"], {}),
        (None, "/language", ["locale", "next"], {}),
        (
            Role.EMPLOYEE,
            f"/incidents/{incident}/edit",
            ["description"],
            {"channel": "counter", "types": "verbal"},
        ),
    ]


@pytest.fixture
def world(app, make_user, make_team):
    boss = make_user(Role.MANAGER)
    team = make_team("Sweep", manager=boss)
    employee = make_user(Role.EMPLOYEE, team=team)
    incident = services.save_report(
        employee,
        "sweep-base-token-000001",
        ReportData(
            occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="base",
            affected_ids=[employee.id],
        ),
        submit=True,
    )
    users = {
        Role.EMPLOYEE: employee,
        Role.MANAGER: boss,
        Role.ADMIN: make_user(Role.ADMIN),
        Role.HR: make_user(Role.HR),
    }
    ids = {
        "step": incident.steps[0].id,
        "incident": incident.id,
        "team": team.id,
        "user": employee.id,
        "location": location_service.create_location(
            None, name="Sweep counter", channel=Channel.COUNTER
        ).id,
    }
    return users, ids


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=NASTY)
def test_no_input_gives_a_500_and_everything_comes_back_escaped(app, world, text):
    users, ids = world
    for role, url, fields, fixed in forms(ids):
        client = app.test_client()
        if role is not None:
            login(client, users[role])
        data = {**fixed, **dict.fromkeys(fields, text)}
        response = client.post(url, data=data)
        assert response.status_code < 500, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert not re.search(r"<script>alert|<img src=x onerror", body), url


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=2000), name=NASTY)
def test_any_uploaded_file_gets_an_answer_not_a_500(app, world, content, name):
    import io

    users, _ids = world
    client = login(app.test_client(), users[Role.HR])
    response = client.post(
        "/hr/conversations/upload",
        data={"file": (io.BytesIO(content), (name or "x")[:100] + ".csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    assert not re.search(r"<script>alert|<img src=x onerror", response.get_data(as_text=True))


# Bounds: every number and date a form or a query string takes gets a message or is ignored,
# never a 500 (an overflow in a time zone conversion, an INTEGER column, `int("²")`).

HUGE = "99999999999999999999"


def report_form(**overrides):
    data = {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "channel": "counter",
        "types": "verbal",
        "description": "He shouted.",
        "affected_self": "y",
        "perpetrator_known": "unknown",
        "submit": "1",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00",  # observed: OverflowError converting to UTC
        "1989-12-31T23:59",
        "9999-12-31T23:59",
        (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    ],
)
@pytest.mark.parametrize("button", ["submit", "save_draft"])
def test_a_report_date_out_of_range_is_refused_next_to_its_field(app, world, when, button):
    users, _ids = world
    client = login(app.test_client(), users[Role.EMPLOYEE])
    before = db.session.scalar(select(func.count(Incident.id)))
    data = report_form(occurred_at=when, submission_token=f"bounds-{button}-000000001")
    data.pop("submit")
    data[button] = "1"
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 200
    assert "occurred_at" in form_errors(response.text)
    assert db.session.scalar(select(func.count(Incident.id))) == before


def test_the_service_refuses_a_report_date_before_1990(app, world):
    users, _ids = world
    data = ReportData(
        occurred_at=datetime(1989, 12, 31, 22, tzinfo=UTC),
        channel=Channel.COUNTER,
        types=[IncidentType.VERBAL],
        description="x",
        affected_ids=[users[Role.EMPLOYEE].id],
    )
    with pytest.raises(services.InvalidInput) as refused:
        services.save_report(users[Role.EMPLOYEE], "bounds-service-token-001", data, submit=True)
    assert set(refused.value.errors) == {"occurred_at"}


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"attempts": HUGE}, "attempts"),  # observed: OverflowError on SQLite
        ({"attempts": "-1"}, "attempts"),
        ({"attempts": "²"}, "attempts"),
        ({"held_on": "0001-01-01"}, "held_on"),
        ({"held_on": "1989-12-31"}, "held_on"),
        ({"held_on": "9999-12-31"}, "held_on"),
    ],
)
def test_a_step_number_or_date_out_of_range_is_refused_next_to_its_field(app, world, fields, wrong):
    users, ids = world
    client = login(app.test_client(), users[Role.MANAGER])
    data = {"outcomes": "held", "attempts": "0", "held_on": "2026-01-05", **fields}
    response = client.post(f"/aftercare/steps/{ids['step']}", data=data)
    assert response.status_code == 200
    assert wrong in form_errors(response.text)
    step = db.session.get(AftercareStep, ids["step"])
    assert step is not None
    db.session.refresh(step)
    assert step.is_open and step.attempts == 0


@pytest.mark.parametrize("end", ["9999-12-31", "0001-01-01", "1989-12-31"])
def test_a_building_ban_end_date_out_of_range_is_refused_next_to_its_field(app, world, end):
    users, _ids = world
    employee = users[Role.EMPLOYEE]
    incident = services.save_report(
        employee,
        "bounds-threat-token-0001",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=2),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="He threatened me.",
            affected_ids=[employee.id],
        ),
        submit=True,
    )
    step = next(s for s in incident.steps if s.kind == "perpetrator_response")
    client = login(app.test_client(), users[Role.MANAGER])
    data = {"outcomes": "building_ban", "attempts": "0", "end_date": end, "citizen_heard": "y"}
    response = client.post(f"/aftercare/steps/{step.id}", data=data)
    assert response.status_code == 200
    assert "end_date" in form_errors(response.text)
    db.session.refresh(step)
    assert step.is_open


def test_the_service_bounds_the_dates_of_a_step(app):
    step = AftercareStep(kind="perpetrator_response")
    today = date(2026, 3, 10)
    ban = StepResult(outcomes=["building_ban"], citizen_heard=True)
    ban.end_date = today + timedelta(days=365 * 10)
    assert "end_date" not in result_errors(step, ban, today)
    ban.end_date = today + timedelta(days=365 * 11)
    assert "end_date" in result_errors(step, ban, today)
    contact = AftercareStep(kind="contact")
    held = StepResult(outcomes=["held"], held_on=date(1989, 12, 31))
    assert "held_on" in result_errors(contact, held, today)
    held.held_on = date(1990, 1, 1)
    assert "held_on" not in result_errors(contact, held, today)


def test_a_legal_hold_for_a_number_no_column_holds_is_refused_next_to_its_field(app, world):
    users, _ids = world
    client = login(app.test_client(), users[Role.ADMIN])
    for number in (HUGE, str(2**31), "0", "²", "2026-0", "\uff11\uff12\uff13\uff14-\uff11"):
        response = client.post(
            "/admin/legal-holds",
            data={"incident": number, "action": "hold", "reason": "Court case 2026/17"},
        )
        assert response.status_code == 200, number
        assert "incident" in form_errors(response.text), number


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/\nX: 1", "/incidents\r", "/\t/evil"])
def test_a_redirect_target_with_a_control_character_goes_home(app, world, target):
    users, _ids = world
    response = app.test_client().post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    employee = users[Role.EMPLOYEE]
    response = app.test_client().post(
        "/login", data={"email": employee.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "x=1" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("value", ["²", "١٢", HUGE, "-1", "0x10", " 1"])
def test_numbers_in_query_strings_never_give_a_500(app, world, value):
    users, ids = world
    pages = {
        Role.EMPLOYEE: ["/incidents?after={v}", "/account/data?after={v}"],
        Role.MANAGER: ["/aftercare?after={v}", "/aftercare?state=done&after={v}"],
        Role.ADMIN: [
            "/admin/audit?before={v}",
            "/admin/audit?object_id={v}",
        ],
        Role.HR: [
            "/hr/report?year={v}",
            "/hr/statistics?period={v}",
            "/hr/statistics?period=202{v}&by=team",
            "/hr/statistics?change=202{v}-01",
            "/hr/statistics?change=2025-01&months={v}",
            "/hr/statistics.csv?table=compare&change=2025-01&months={v}",
        ],
    }
    for role, urls in pages.items():
        client = login(app.test_client(), users[role])
        for url in urls:
            response = client.get(url.format(v=value))
            assert response.status_code < 500, url
    client = login(app.test_client(), users[Role.EMPLOYEE])
    response = client.post(
        f"/incidents/{ids['incident']}/edit",
        data=report_form(version=value, submission_token="x"),
    )
    assert response.status_code < 500


def test_every_integer_field_has_bounds_that_fit_a_column():
    """A new IntegerField without a NumberRange up to INT_MAX fails here."""
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm
    from wtforms import IntegerField
    from wtforms.validators import NumberRange

    import incidents

    for module in pkgutil.walk_packages(incidents.__path__, "incidents."):
        importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = 0
    for form in subclasses(FlaskForm):
        for name in dir(form):
            unbound = getattr(form, name, None)
            if unbound is None or getattr(unbound, "field_class", None) is not IntegerField:
                continue
            found += 1
            ranges = [v for v in unbound.kwargs.get("validators", []) if isinstance(v, NumberRange)]
            assert ranges, f"{form.__name__}.{name} has no NumberRange"
            assert all(r.max is not None and r.max <= INT_MAX for r in ranges), name
            assert all(r.min is not None and r.min >= 0 for r in ranges), name
    assert found >= 3
    assert conversation_service.MAX_COUNT <= INT_MAX  # the counts grid's bound fits too
