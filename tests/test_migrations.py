"""Migrations: from an empty database to head and back, on SQLite and PostgreSQL, and the
models match what the migrations build."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import column, insert, inspect, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from tests.conftest import database_url, make_app


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path_factory):
    app = make_app(database_url(request, tmp_path_factory, "incidents_migrations"))
    with app.app_context():
        yield app
        db.engine.dispose()


def test_upgrade_from_empty_to_head_matches_the_models_and_downgrades(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert {"user", "team", "audit_event"} <= set(inspect(db.engine).get_table_names())
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


@pytest.fixture(params=["sqlite", "postgresql"])
def steps_app(request, tmp_path_factory):
    app = make_app(database_url(request, tmp_path_factory, "incidents_step_records"))
    with app.app_context():
        yield app
        db.engine.dispose()


BEFORE_TYPED_STEPS = "2668b6f7cca5"
# Step details as the code before typed step records wrote them, one per shape.
DETAILS: list[dict[str, object]] = [
    {},
    {"held_on": "2026-03-02", "reference": "NLA-2026-17"},
    {"end_date": "2027-01-31", "citizen_heard": True, "expired": True},
    {"reason": "Geen aangifte gewenst", "police_outcome": ""},
    {"attempts": ["2026-03-01T09:00:00+00:00", "2026-03-02T10:30:00+00:00"]},
    {"police_outcome": "Boete voor de verdachte", "held_on": "2026-02-27"},
]


def _insert(connection: Connection, table: str, **values: object) -> None:
    """A row as the schema of the moment wants it: `values`, and a plain value of the right
    type for every other required column without a default."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    plain: dict[type, object] = {int: 1, str: "x", bool: False, datetime: now, dict: "{}"}
    for found in inspect(connection).get_columns(table):
        if found["name"] in values or found["nullable"] or found.get("default"):
            continue
        values[found["name"]] = plain.get(found["type"].python_type, "x")
    connection.execute(insert(sql_table(table, *map(column, values))).values(values))


def _insert_steps(connection: Connection) -> None:
    _insert(connection, "user", id=1, role="manager", email="m@example.org")
    _insert(
        connection, "incident", id=1, reporter_id=1, status="submitted", perpetrator_known="unknown"
    )
    for number, details in enumerate(DETAILS, start=1):
        _insert(
            connection,
            "aftercare_step",
            id=number,
            incident_id=1,
            kind="police_report",
            subject="incident",
            status="done",
            outcomes='["not_filed"]',
            details=json.dumps(details),
        )


def test_typed_step_records_carry_the_details_over_and_back(steps_app):
    upgrade(revision=BEFORE_TYPED_STEPS)
    with db.engine.begin() as connection:
        _insert_steps(connection)
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT held_on, reference, end_date, citizen_heard, reason, police_outcome,"
                " attempt_times, measure_expired FROM aftercare_step ORDER BY id"
            )
        ).all()
    typed = [
        (
            str(row.held_on) if row.held_on else None,
            row.reference,
            str(row.end_date) if row.end_date else None,
            bool(row.citizen_heard),
            row.reason,
            row.police_outcome,
            row.attempt_times
            if isinstance(row.attempt_times, list)
            else json.loads(row.attempt_times),
            bool(row.measure_expired),
        )
        for row in rows
    ]
    assert typed == [
        (None, "", None, False, "", None, [], False),
        ("2026-03-02", "NLA-2026-17", None, False, "", None, [], False),
        (None, "", "2027-01-31", True, "", None, [], True),
        (None, "", None, False, "Geen aangifte gewenst", "", [], False),
        (None, "", None, False, "", None, DETAILS[4]["attempts"], False),
        ("2026-02-27", "", None, False, "", "Boete voor de verdachte", [], False),
    ]
    # A kind outside the enum is refused now.
    with db.engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(text("UPDATE aftercare_step SET kind = 'phone_call' WHERE id = 1"))
    downgrade(revision=BEFORE_TYPED_STEPS)
    with db.engine.connect() as connection:
        back = connection.execute(text("SELECT details FROM aftercare_step ORDER BY id")).scalars()
        assert [
            value if isinstance(value, dict) else json.loads(value) for value in back
        ] == DETAILS


BEFORE_LOCATIONS = "b1bc646f4262"


def test_locations_keep_active_names_unique_and_go_down_cleanly(empty_app):
    upgrade(revision=BEFORE_LOCATIONS)
    assert "location" not in inspect(db.engine).get_table_names()
    upgrade()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    row = {"name": "Balie", "channel": "counter", "created_at": now}
    with db.engine.begin() as connection:
        _insert(connection, "location", id=1, code="aaaaaaaa", name_key="balie", **row)
        # Archived locations (name_key NULL) may share a name with each other and an active one.
        for number, code in ((2, "bbbbbbbb"), (3, "cccccccc")):
            _insert(connection, "location", id=number, code=code, archived_at=now, **row)
    for duplicate in ({"code": "dddddddd", "name_key": "balie"}, {"code": "aaaaaaaa"}):
        with db.engine.connect() as connection, pytest.raises(IntegrityError):
            _insert(connection, "location", id=4, **{"name_key": None, **duplicate}, **row)
    with db.engine.connect() as connection, pytest.raises(IntegrityError):
        _insert(connection, "location", id=5, code="eeeeeeee", **{**row, "channel": "moon"})
    downgrade(revision=BEFORE_LOCATIONS)
    assert "location" not in inspect(db.engine).get_table_names()


BEFORE_MEASURES = "d4a7e2c91b58"
MEASURES = "061db8803e6f"


def _insert_building_bans(connection: Connection, today: date) -> None:
    """Four incidents with a done "response to the perpetrator": a building ban in force, one
    that ended, one on an anonymised incident, and a warning letter only."""
    _insert(connection, "user", id=1, role="manager", email="m@example.org")
    anonymised = datetime(2026, 2, 1, tzinfo=UTC)
    incidents = {
        1: ("Jan Jansen", "K-1001", None),
        2: ("Piet Pieters", "K-1002", None),
        3: ("", "", anonymised),  # retention emptied the perpetrator
        4: ("Klaas Klaassen", "K-1004", None),
    }
    for number, (name, reference, gone) in incidents.items():
        _insert(
            connection,
            "incident",
            id=number,
            reporter_id=1,
            status="submitted",
            number=f"2026-{number:04d}",
            submission_token=f"token-{number}",
            perpetrator_known="known",
            perpetrator_name=name,
            perpetrator_reference=reference,
            anonymised_at=gone,
        )
    steps = {
        1: (
            ["building_ban", "warning_letter"],
            today + timedelta(days=100),
            True,
            "Sloeg op de balie.",
        ),
        2: (["building_ban"], today - timedelta(days=10), False, ""),
        3: (["building_ban"], today + timedelta(days=50), True, ""),
        4: (["warning_letter"], today + timedelta(days=100), False, "Alleen een brief."),
    }
    for number, (outcomes, end_date, heard, reason) in steps.items():
        _insert(
            connection,
            "aftercare_step",
            id=number,
            incident_id=number,
            kind="perpetrator_response",
            subject="incident",
            status="done",
            outcomes=json.dumps(outcomes),
            end_date=end_date,
            held_on=date(2026, 1, 15),
            citizen_heard=heard,
            reason=reason,
            done_at=datetime(2026, 1, 15, 10, tzinfo=UTC),
            done_by_id=1,
        )


def test_building_bans_are_carried_over_into_the_register_and_back(steps_app):
    upgrade(revision=BEFORE_MEASURES)
    today = datetime.now(UTC).date()
    with db.engine.begin() as connection:
        _insert_building_bans(connection, today)
    upgrade(revision=MEASURES)
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, kind, citizen_name, citizen_reference, name_key, reference_key,"
                " reason, starts_on, ends_on, state, step_id, proposed_by_id, heard_on,"
                " carried_over, anonymised_at, approved_by_id FROM measure ORDER BY step_id"
            )
        ).all()
        links = connection.execute(
            text("SELECT measure_id, incident_id FROM measure_incident ORDER BY incident_id")
        ).all()
    carried = [
        (
            row.kind,
            row.citizen_name,
            row.citizen_reference,
            row.name_key,
            row.reference_key,
            row.reason,
            str(row.starts_on),
            str(row.ends_on),
            row.state,
            row.step_id,
            row.proposed_by_id,
            str(row.heard_on) if row.heard_on else None,
            bool(row.carried_over),
            row.anonymised_at is not None,
            row.approved_by_id,
        )
        for row in rows
    ]
    start = "2026-01-15"
    assert carried == [
        ("building_ban", "Jan Jansen", "K-1001", "jan jansen", "k-1001", "Sloeg op de balie.",
         start, str(today + timedelta(days=100)), "in_force", 1, 1, start, True, False, None),
        ("building_ban", "Piet Pieters", "K-1002", "piet pieters", "k-1002",
         "Toegangsverbod na incident 2026-0002.", start, str(today - timedelta(days=10)),
         "ended", 2, 1, None, True, False, None),
        # The anonymised incident's ban: no personal data, ended, anonymised itself.
        ("building_ban", "", "", "", "", "", start, str(today + timedelta(days=50)), "ended",
         3, 1, start, True, True, None),
    ]  # fmt: skip
    # Each rests on its own incident; the warning letter (step 4) is not a register measure.
    assert [incident for _m, incident in links] == [1, 2, 3]
    assert {measure for measure, _i in links} == {row.id for row in rows}
    downgrade(revision=BEFORE_MEASURES)
    assert not {"measure", "measure_incident", "measure_lookup"} & set(
        inspect(db.engine).get_table_names()
    )
    with db.engine.connect() as connection:
        kept = connection.execute(
            text("SELECT id, outcomes, end_date FROM aftercare_step ORDER BY id")
        ).all()
    assert [row.id for row in kept] == [1, 2, 3, 4]  # the steps themselves are untouched
    upgrade()  # and up again to head


BEFORE_PLACES = "061db8803e6f"


def test_incidents_get_their_registered_location_and_their_place_counts(steps_app):
    """The upgrade links each incident's place to the active location of that name, and writes
    the "place" counts a full recount makes, frozen too for the months published already."""
    from incidents.stats import tally

    upgrade(revision=BEFORE_PLACES)
    at = datetime(2026, 1, 15, 10, tzinfo=UTC)
    created = {"channel": "counter", "created_at": at}
    with db.engine.begin() as connection:
        _insert(connection, "user", id=1, role="employee", email="e@example.org")
        _insert(
            connection, "location", id=1, code="aaaaaaaa", name="Balie", name_key="balie", **created
        )
        _insert(connection, "location", id=2, code="bbbbbbbb", name="Kamer", name_key=None, archived_at=at, **created)  # fmt: skip
        # (place, status, occurred, submitted, channel): the place as typed.
        for number, (place, status, occurred, submitted, channel) in enumerate(
            [
                ("  BALIE ", "submitted", at, at, "counter"),  # January, published
                ("balie", "submitted", at + timedelta(days=26), at + timedelta(days=27), "phone"),
                ("Balie", "submitted", at, datetime(2026, 3, 20, tzinfo=UTC), None),  # too late
                ("Balie", "draft", at, None, "counter"),
                ("Kamer", "submitted", at, at, "counter"),  # archived: no location
                ("", "submitted", at, at, "counter"),
                # 31 January 23:30 UTC is February in Amsterdam.
                (
                    "Balie",
                    "submitted",
                    datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
                    at + timedelta(days=17),
                    "counter",
                ),
            ],
            start=1,
        ):
            _insert(
                connection,
                "incident",
                id=number,
                submission_token=f"token-{number}",
                reporter_id=1,
                status=status,
                perpetrator_known="unknown",
                location=place,
                occurred_at=occurred,
                submitted_at=submitted,
                channel=channel,
            )
        _insert(connection, "stat_publication", month="2026-01", published_at=at)
    upgrade()
    with db.engine.connect() as connection:
        linked = connection.execute(text("SELECT id, location_id FROM incident ORDER BY id"))
        assert list(linked) == [(1, 1), (2, 1), (3, 1), (4, 1), (5, None), (6, None), (7, 1)]
        place = (
            "SELECT month, key, level, count FROM {} WHERE measure = 'place' ORDER BY month, key"
        )
        migrated = list(connection.execute(text(place.format("stat_tally"))))
        assert migrated == [
            ("2026-01", "1:none:counter", 0, 1),
            ("2026-02", "1:none:counter", 0, 1),
            ("2026-02", "1:none:phone", 0, 1),
        ]
        assert list(connection.execute(text(place.format("stat_published")))) == migrated[:1]
        tally.rebuild(connection)
        assert sorted(connection.execute(text(place.format("stat_tally")))) == migrated
        connection.rollback()
    downgrade(revision=BEFORE_PLACES)
    with db.engine.connect() as connection:
        for table in ("stat_tally", "stat_published"):
            assert not list(connection.execute(text(place.format(table))))
        assert "location_id" not in {c["name"] for c in inspect(connection).get_columns("incident")}
