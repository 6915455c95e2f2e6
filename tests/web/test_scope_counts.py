"""Counting incidents by scope (teams, channels, registered locations), for organisational
measures: the place linked to its registered location through every way a report comes in,
renamed and archived locations, the "place" running counts and their freeze at publication,
and `in_scope` for every kind of scope. On SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, Incident, IncidentType, Role, StatPublished, StatTally
from incidents.services import ReportData, alarms
from incidents.services import locations as location_service
from incidents.services.retention import _anonymise
from incidents.services.statistics import FROZEN_MEASURES, publish_closed_months
from incidents.stats import tally
from incidents.stats.queries import in_scope
from tests.conftest import login

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam
SECRET = "alarm-secret-for-scope-tests"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def places(app):
    counter = location_service.create_location(
        None, name="Balie publiekshal", channel=Channel.COUNTER
    )
    room = location_service.create_location(
        None, name="Spreekkamer 2", channel=Channel.INTERVIEW_ROOM
    )
    return counter, room


@pytest.fixture
def employee(make_user, make_team):
    return make_user(Role.EMPLOYEE, team=make_team("Income"), email="eva@example.test")


def token(client, url: str) -> str:
    found = re.search(
        r'name="submission_token" type="hidden" value="([^"]+)"',
        client.get(url, follow_redirects=True).text,
    )
    assert found is not None
    return found.group(1)


def report_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "occurred_at": "2026-03-10T10:15",
        "channel": "counter",
        "types": ["verbal"],
        "description": "Client shouted.",
        "affected_self": "y",
        "location": "",
        "perpetrator_known": "unknown",
        "submit": "Submit report",
    }
    data.update(overrides)
    return data


def newest() -> Incident:
    db.session.expire_all()
    found = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    assert found is not None
    return found


def send_alarm(client, event_id: str, location: str):
    raw = json.dumps(
        {
            "id": event_id,
            "user": "eva@example.test",
            "triggered_at": "2026-03-10T10:05:00+01:00",
            "location": location,
            "device": "button-17",
        }
    ).encode()
    timestamp = str(int(NOW.timestamp()))
    return client.post(
        "/api/alarms",
        data=raw,
        csrf=False,
        content_type="application/json",
        headers={
            "X-Incidents-Timestamp": timestamp,
            "X-Incidents-Signature": alarms.signature(SECRET, timestamp, raw),
        },
    )


def test_every_way_a_report_comes_in_links_its_registered_location(
    app, client, employee, places, frozen
):
    counter, room = places
    login(client, employee)

    # The full form: the name as typed, in any case and spacing.
    client.post(
        "/incidents/new",
        data=report_form(
            submission_token=token(client, "/incidents/new"), location="  balie   PUBLIEKSHAL "
        ),
    )
    full = newest()
    assert (full.location, full.location_id) == ("balie   PUBLIEKSHAL", counter.id)

    # A draft, completed later somewhere else, then corrected after submission.
    draft_response = client.post(
        "/incidents/new",
        data=report_form(
            submission_token=token(client, "/incidents/new"),
            location="Spreekkamer 2",
            submit=None,
            save_draft="Save as draft",
        ),
    )
    assert draft_response.status_code == 302
    draft = newest()
    assert draft.is_draft and draft.location_id == room.id
    client.post(
        f"/incidents/{draft.id}/edit",
        data=report_form(location="In de lift", version=str(draft.version)),
    )
    draft = newest()
    assert not draft.is_draft and draft.location_id is None
    client.post(
        f"/incidents/{draft.id}/edit",
        data=report_form(location="spreekkamer 2", version=str(draft.version)),
    )
    assert newest().location_id == room.id
    # A correction that leaves the place alone leaves its location alone.
    client.post(
        f"/incidents/{draft.id}/edit",
        data=report_form(
            location="spreekkamer 2", description="Worse.", version=str(newest().version)
        ),
    )
    assert newest().description == "Worse." and newest().location_id == room.id

    # The quick log from the counter's poster, and from the offline shell (the same address,
    # its own token), with a place that is not registered.
    client.get(f"/incidents/quick?at={counter.code}", follow_redirects=True)
    client.post(
        "/incidents/quick",
        data={
            "submission_token": token(client, f"/incidents/quick?at={counter.code}"),
            "type": "verbal",
            "channel": "counter",
            "location": "Balie publiekshal",
            "when": "now",
        },
    )
    assert newest().quick and newest().location_id == counter.id
    client.post(
        "/incidents/quick",
        data={
            "submission_token": "offline-kept-token-000000000001",
            "type": "intimidation",
            "channel": "public_space",
            "location": "Parkeerplaats",
            "when": "now",
        },
    )
    assert newest().location == "Parkeerplaats" and newest().location_id is None

    # The alarm button's webhook: its draft has the place the provider sent.
    app.config["ALARM_WEBHOOK_SECRET"] = [SECRET]
    try:
        assert send_alarm(client, "evt-room", "SPREEKKAMER 2").status_code == 201
        assert newest().is_draft and newest().location_id == room.id
        assert send_alarm(client, "evt-nowhere", "").status_code == 201
        assert newest().location_id is None
    finally:
        app.config["ALARM_WEBHOOK_SECRET"] = []

    # Retention takes the text but not the location: it names no one, and still counts.
    with services.transaction():
        _anonymise(db.session.get_one(Incident, full.id), NOW)
    full = db.session.get_one(Incident, full.id)
    assert full.location == "" and full.location_id == counter.id


def subsets(values) -> list[frozenset]:
    """The empty set, each value alone, and every pair."""
    return [frozenset(c) for n in range(3) for c in itertools.combinations(values, n)]


def log(user, place: str, token: str, at: datetime = NOW, channel: Channel = Channel.COUNTER):
    with time_machine.travel(at + timedelta(minutes=5), tick=False):
        return services.quick_log(
            user, token, IncidentType.VERBAL, channel, "", location=place, occurred_at=at
        )


def test_a_renamed_or_archived_location_keeps_the_incidents_it_had(employee, places):
    counter, _room = places
    before = log(employee, "Balie publiekshal", "rename-token-0000000001")
    location_service.update_location(None, counter, name="Balie hal", channel=Channel.COUNTER)
    # The old name names nothing now, the new one the same location.
    assert log(employee, "Balie publiekshal", "rename-token-0000000002").location_id is None
    assert log(employee, "Balie hal", "rename-token-0000000003").location_id == counter.id
    # A new location takes the old name: the earlier incident stays with the counter, also
    # when it is corrected (its place text unchanged).
    other = location_service.create_location(
        None, name="Balie publiekshal", channel=Channel.COUNTER
    )
    services.amend_report(
        employee,
        before,
        ReportData(
            occurred_at=before.occurred_at,
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            location="Balie publiekshal",
            description="Later: a threat too.",
            affected_ids=[employee.id],
        ),
        before.version,
    )
    assert db.session.get_one(Incident, before.id).location_id == counter.id
    assert log(employee, "Balie publiekshal", "rename-token-0000000004").location_id == other.id
    # Archived: its name fills in nothing any more; what it had stays.
    location_service.set_location_archived(None, counter, True)
    assert log(employee, "Balie hal", "rename-token-0000000005").location_id is None
    months = [NOW.strftime("%Y-%m")]
    assert in_scope(months, frozenset(), frozenset(), frozenset({counter.id})) == {
        "2026-03": (2, 5)
    }
    assert in_scope(months, frozenset(), frozenset(), frozenset({other.id})) == {"2026-03": (1, 5)}


def test_places_are_counted_and_frozen_when_their_month_is_published(app, employee, places):
    counter, room = places
    march = datetime(2025, 3, 12, 10, tzinfo=UTC)
    team = employee.team_id
    incident = log(employee, "Balie publiekshal", "frozen-place-token-001", at=march)
    log(employee, "Spreekkamer 2", "frozen-place-token-002", at=march, channel=Channel.PHONE)
    log(employee, "Nergens", "frozen-place-token-003", at=march)
    with db.engine.connect() as connection:
        stored = tally.stored(connection)
        assert tally.drift(connection) == {}  # kept as a full recount counts them
    places_kept = {key: n for key, n in stored.items() if key[0] == "place"}
    assert places_kept == {
        ("place", "2025-03", f"{counter.id}:{team}:counter", 0): 1,
        ("place", "2025-03", f"{room.id}:{team}:phone", 0): 1,
    }
    assert "place" in FROZEN_MEASURES
    published_at = datetime(2025, 4, 9, tzinfo=UTC)
    with time_machine.travel(published_at, tick=False), services.transaction():
        assert publish_closed_months(published_at) == ["2025-03"]
    frozen_rows = db.session.scalars(select(StatPublished).where(StatPublished.measure == "place"))
    assert {(r.month, r.key, r.count) for r in frozen_rows} == {
        ("2025-03", f"{counter.id}:{team}:counter", 1),
        ("2025-03", f"{room.id}:{team}:phone", 1),
    }
    scope: tuple[list[str], frozenset[int], frozenset[str], frozenset[int]] = (
        ["2025-03"],
        frozenset(),
        frozenset(),
        frozenset({counter.id}),
    )
    assert in_scope(*scope) == {"2025-03": (1, 3)}
    # A late correction moves the incident to the room: the running counts follow, the
    # published month does not.
    with time_machine.travel(published_at + timedelta(days=3), tick=False):
        services.amend_report(
            employee,
            incident,
            ReportData(
                occurred_at=march,
                channel=Channel.INTERVIEW_ROOM,
                types=[IncidentType.VERBAL],
                location="Spreekkamer 2",
                description="It was in the room after all.",
                affected_ids=[employee.id],
            ),
            incident.version,
        )
    running = db.session.scalars(
        select(StatTally).where(StatTally.measure == "place", StatTally.count != 0)
    )
    assert {r.key for r in running} == {
        f"{room.id}:{team}:interview_room",
        f"{room.id}:{team}:phone",
    }
    assert in_scope(*scope) == {"2025-03": (1, 3)}
    assert in_scope(["2025-03"], frozenset(), frozenset(), frozenset({room.id})) == {
        "2025-03": (1, 3)
    }


def test_in_scope_counts_every_kind_of_scope_as_an_intersection(
    app, make_user, make_team, places, count_queries
):
    """Every combination of teams, channels and locations (none, one, both of each), in a
    published month and a running one, against a count of the incidents themselves."""
    counter, room = places
    income, care = make_team("Income"), make_team("Care")
    people = {
        income.id: make_user(Role.EMPLOYEE, team=income),
        care.id: make_user(Role.EMPLOYEE, team=care),
    }
    january, february = datetime(2025, 1, 14, 9, tzinfo=UTC), datetime(2025, 2, 11, 9, tzinfo=UTC)
    # (month, team, channel, place typed): every combination once, some twice.
    seeded = []
    number = itertools.count(1)
    places_typed = {counter.id: "Balie publiekshal", room.id: "spreekkamer 2", None: "Elders"}
    for at in (january, february):
        for team_id, channel, location_id in itertools.product(
            people, (Channel.COUNTER, Channel.PHONE), places_typed
        ):
            times = 2 if (channel == Channel.PHONE and location_id == room.id) else 1
            for _ in range(times):
                log(
                    people[team_id],
                    places_typed[location_id],
                    f"scope-token-{next(number):012d}",
                    at=at,
                    channel=channel,
                )
                seeded.append((at.strftime("%Y-%m"), team_id, channel.value, location_id))
    published_at = datetime(2025, 2, 9, tzinfo=UTC)  # January is published, February is not
    with time_machine.travel(published_at, tick=False), services.transaction():
        assert publish_closed_months(published_at) == ["2025-01"]
    months = ["2025-01", "2025-02", "2025-03"]
    for teams, channels, locations in itertools.product(
        subsets(people), subsets(("counter", "phone")), subsets((counter.id, room.id))
    ):
        expected = {}
        for month in months:
            rows = [row for row in seeded if row[0] == month]
            inside = [
                row
                for row in rows
                if (not teams or row[1] in teams)
                and (not channels or row[2] in channels)
                and (not locations or row[3] in locations)
            ]
            expected[month] = (len(inside), len(rows))
        with count_queries() as counter_of_queries:
            found = in_scope(months, teams, channels, locations)
        assert found == expected, (teams, channels, locations)
        assert counter_of_queries.count <= 3
    assert in_scope([], frozenset(), frozenset(), frozenset()) == {}
    # Unknown teams, channels and locations are in no scope, and break nothing.
    assert in_scope(months, frozenset({999999}), frozenset({"x:y"}), frozenset({-1})) == {
        "2025-01": (0, 14),
        "2025-02": (0, 14),
        "2025-03": (0, 0),
    }
