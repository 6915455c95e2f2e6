"""The manager's calendar feed: what it holds (and never holds), and its secret address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import select

from incidents import services
from incidents.extensions import current_protocol as protocol
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditEvent,
    Channel,
    IncidentType,
    PerpetratorKnown,
    Role,
    StepStatus,
)
from incidents.services import ReportData
from incidents.services.calendar import renew_calendar_token, user_by_calendar_token
from tests.conftest import login

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OCCURRED = NOW - timedelta(minutes=30)

# What the incident says; none of it may reach a calendar on someone else's server.
SENSITIVE = [
    "Vera Vissering",  # the affected employee
    "Willem Wittebrood",  # the colleague witness
    "Pieter Plaaggeest",  # the perpetrator
    "KLANT-4711",  # the perpetrator's client reference
    "Olga Omstander",  # an outside witness
    "Balie Zuid",  # the location
    "Gooide een stoel",  # the description
    "Nog niet bereikt, morgen opnieuw",  # a note on an open step
    "Bart Baasman",  # the owning manager
    OCCURRED.strftime("%Y%m%dT%H%M"),  # when it happened
]
# Links and UIDs come from BASE_URL (TestConfig's), never from the request's host.
BASE_URL, HOST = "http://127.0.0.1:5000", "127.0.0.1"
EVENT_PROPERTIES = {"UID", "DTSTAMP", "DTSTART", "DURATION", "SUMMARY", "URL", "DESCRIPTION"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    """Mira manages Enforcement and deputises for Income; Bart manages Income."""
    bart, mira, other = (
        make_user(Role.MANAGER, name=n) for n in ("Bart Baasman", "Mira Manager", "Otto Other")
    )
    income = make_team("Income", manager=bart, deputy=mira)
    enforcement = make_team("Enforcement", manager=mira)
    elsewhere = make_team("Elsewhere", manager=other)
    return {
        "bart": bart,
        "mira": mira,
        "other": other,
        "victim": make_user(name="Vera Vissering", team=income),
        "witness": make_user(name="Willem Wittebrood", team=enforcement),
        "outsider": make_user(name="Ursula Unrelated", team=elsewhere),
        "income": income,
        "enforcement": enforcement,
    }


def submit(org, affected="victim", witness="witness"):
    return services.save_report(
        org[affected],
        f"calendar-token-{affected}",
        ReportData(
            occurred_at=OCCURRED,
            channel=Channel.COUNTER,
            location="Balie Zuid",
            types=[IncidentType.PHYSICAL],
            description="Gooide een stoel over de balie.",
            affected_ids=[org[affected].id],
            witness_ids=[org[witness].id] if witness else [],
            outside_witnesses="Olga Omstander",
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name="Pieter Plaaggeest",
            perpetrator_reference="KLANT-4711",
        ),
        submit=True,
    )


def step_of(incident, definition_id):
    db.session.refresh(incident)
    return next(s for s in incident.steps if s.definition_id == definition_id)


def complete(client, step, **data):
    data.setdefault("attempts", str(step.attempts))
    return client.post(f"/aftercare/steps/{step.id}", data=data)


def feed_url(token):
    return f"/aftercare/calendar/{token}.ics"


def fetch(app, token):
    """The feed as a calendar program fetches it: no login."""
    return app.test_client().get(feed_url(token))


def events(response):
    calendar = Calendar.from_ical(response.data)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_holds_exactly_the_open_steps_owned_or_deputised(app, org, frozen):
    incident = submit(org)
    submit(org, affected="outsider", witness=None)  # another manager's incident
    bart = login(app.test_client(), org["bart"])
    done = step_of(incident, "contact")
    assert complete(bart, done, outcomes="held", held_on="2026-03-10").status_code == 302
    noted = step_of(incident, "aftercare_conversation")
    complete(bart, noted, outcomes="not_reached", note="Nog niet bereikt, morgen opnieuw")
    db.session.refresh(noted)
    assert noted.is_open and noted.note  # open, with a note the feed must not show
    mira = org["mira"]
    token = renew_calendar_token(mira)

    response = fetch(app, token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    calendar = Calendar.from_ical(response.data)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) and str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    found = events(response)
    steps = db.session.scalars(select(AftercareStep)).all()
    expected = {
        s
        for s in steps
        if s.status == StepStatus.OPEN and (s.owner_id == mira.id or s.team_id == org["income"].id)
    }
    # Owned (the witness's track in Mira's own team) and deputised (Bart's Income steps).
    assert {s.owner_id for s in expected} == {mira.id, org["bart"].id}
    assert set(found) == {f"step-{s.id}@{HOST}" for s in expected}
    assert f"step-{done.id}@{HOST}" not in found
    titles = {d.id: d.title_nl for d in protocol().steps}
    for step in expected:
        event = found[f"step-{step.id}@{HOST}"]
        assert set(event) == EVENT_PROPERTIES  # nothing else
        assert event["DTSTART"].dt == step.due_at
        assert event["DURATION"].dt == timedelta(minutes=15)
        link = f"{BASE_URL}/aftercare/steps/{step.id}"
        assert str(event["URL"]) == link and str(event["DESCRIPTION"]) == link
        assert str(event["SUMMARY"]) == titles[step.definition_id]  # Dutch, none overdue yet
    unfolded = response.data.replace(b"\r\n ", b"")
    for text in SENSITIVE:
        assert text.encode() not in response.data and text.encode() not in unfolded, text


def test_the_feed_in_english_with_overdue_marked(app, org, make_user, make_team, frozen):
    english = make_user(Role.MANAGER, locale="en")
    org["income"].deputy_id = english.id
    db.session.commit()
    incident = submit(org)
    token = renew_calendar_token(english)
    frozen.move_to(NOW + timedelta(days=1))

    found = events(fetch(app, token))

    contact = step_of(incident, "contact")  # due at 17:00 yesterday
    later = step_of(incident, "closing_conversation")
    titles = {d.id: d.title_en for d in protocol().steps}
    assert str(found[f"step-{contact.id}@{HOST}"]["SUMMARY"]) == (f"Overdue: {titles['contact']}")
    assert str(found[f"step-{later.id}@{HOST}"]["SUMMARY"]) == titles["closing_conversation"]
    assert str(found[f"step-{later.id}@{HOST}"]["DTSTAMP"].dt) == str(NOW + timedelta(days=1))


def test_the_feed_runs_a_constant_number_of_queries(app, org, frozen, count_queries):
    token = renew_calendar_token(org["mira"])
    fetch(app, token)
    with count_queries() as none:
        fetch(app, token)
    submit(org)
    with count_queries() as many:
        assert len(events(fetch(app, token))) > 5
    assert many.count == none.count


def test_renewing_makes_the_old_address_404_at_once(app, org, frozen):
    mira = login(app.test_client(), org["mira"])
    response = mira.post("/aftercare/calendar/renew")
    assert response.status_code == 302 and response.headers["Location"] == "/aftercare"
    db.session.refresh(org["mira"])
    first = org["mira"].calendar_token
    assert first and len(first) == 43
    assert fetch(app, first).status_code == 200
    page = mira.get("/aftercare").text
    assert f'value="{BASE_URL}{feed_url(first)}"' in page and "readonly" in page

    mira.post("/aftercare/calendar/renew")
    db.session.refresh(org["mira"])
    second = org["mira"].calendar_token

    assert second and second != first
    gone = fetch(app, first)
    assert gone.status_code == 404 and gone.mimetype == "text/html"
    assert "Error code 404" in gone.text or "Foutcode 404" in gone.text  # the normal 404 page
    assert fetch(app, second).status_code == 200
    assert feed_url(first) not in mira.get("/aftercare").text
    renewals = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.calendar_renew")
    ).all()
    assert [e.details for e in renewals] == [{"replaced": False}, {"replaced": True}]
    assert all(first not in str(e.details) and second not in str(e.details) for e in renewals)


def test_renewing_tells_the_manager_the_old_address_stopped(app, make_user):
    manager = make_user(Role.MANAGER, locale="en")
    client = login(app.test_client(), manager)
    page = client.get("/aftercare").text
    assert 'action="/aftercare/calendar/renew"' in page and 'id="calendar-address"' not in page
    assert "Create address" in page
    client.post("/aftercare/calendar/renew")
    page = client.post("/aftercare/calendar/renew", follow_redirects=True).text
    assert "The old address no longer works." in page
    assert 'id="calendar-address"' in page and 'for="calendar-address"' in page
    assert "Renew address (the old one stops working)" in page


def test_unknown_and_malformed_tokens_404(app, org, count_queries):
    renew_calendar_token(org["mira"])
    assert fetch(app, "x" * 43).status_code == 404
    assert fetch(app, "short").status_code == 404
    assert fetch(app, "a" * 64).status_code == 404
    with count_queries() as counter:
        assert user_by_calendar_token("short") is None
        assert user_by_calendar_token("a" * 42 + "!") is None
    assert counter.count == 0  # refused before any query


def test_an_employees_token_does_not_open_a_feed(app, org):
    employee = org["victim"]
    employee.calendar_token = "e" * 43
    db.session.commit()
    assert fetch(app, "e" * 43).status_code == 404


def test_a_deactivated_manager_has_no_feed(app, org, make_user):
    token = renew_calendar_token(org["mira"])
    assert fetch(app, token).status_code == 200
    services.set_active(make_user(Role.ADMIN), org["mira"], False)
    assert fetch(app, token).status_code == 404


def test_renewing_needs_a_login_and_a_form_token(app, org):
    anonymous = app.test_client().post("/aftercare/calendar/renew")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    mira = login(app.test_client(), org["mira"])
    assert mira.post("/aftercare/calendar/renew", csrf=False).status_code == 400
    assert mira.get("/aftercare/calendar/renew").status_code == 405
    db.session.refresh(org["mira"])
    assert org["mira"].calendar_token is None
    employee = login(app.test_client(), org["victim"])
    assert employee.post("/aftercare/calendar/renew").status_code == 403
