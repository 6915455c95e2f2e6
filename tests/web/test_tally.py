"""The statistics' running counts: months in the organisation's time zone, the median from
whole minutes, rolled-back changes, and the `flask stats` commands. (Every test in the suite
also checks, when it ends, that the counts equal a full recount: see `tests/conftest.py`.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import update

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Channel,
    Incident,
    IncidentStatus,
    IncidentType,
    IncidentTypeRow,
    Role,
    StatTally,
    StepStatus,
)
from incidents.services import ReportData, ServiceError
from incidents.services.aftercare import StepResult
from incidents.stats.periods import Period
from incidents.stats.queries import Counts, on_time
from incidents.stats.queries import counts as read_counts

YEAR = Period("2025", date(2025, 1, 1), date(2026, 1, 1))
Q1 = Period("2025-Q1", date(2025, 1, 1), date(2025, 4, 1))


def counts(period: Period) -> Counts:
    """The running counts of a period (every measure, not yet published)."""
    return read_counts(period.months(), published=False)


def total(found: Counts) -> int:
    return sum(found.months().values())


@pytest.fixture
def victim(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    return make_user(name="Victim", team=make_team("Income", manager=boss)), boss


def report(user, token, occurred_at, types=(IncidentType.VERBAL,), late=False):
    """Reported an hour after it happened (or, `late`, after its month was published)."""
    reported = occurred_at + (timedelta(days=60) if late else timedelta(hours=1))
    with time_machine.travel(reported, tick=False):
        return services.save_report(
            user,
            token,
            ReportData(
                occurred_at=occurred_at,
                channel=Channel.COUNTER,
                types=list(types),
                description="It happened.",
                affected_ids=[user.id],
            ),
            submit=True,
        )


def test_months_are_counted_in_the_organisations_time_zone(victim):
    # 31 January 23:30 UTC is 1 February 00:30 in Amsterdam, on SQLite as on PostgreSQL.
    report(victim[0], "zone-token-0000000001", datetime(2025, 1, 31, 23, 30, tzinfo=UTC))
    found = counts(Q1)
    assert found.months() == {"2025-02": 1}
    assert found.by("type", Q1.months()) == {("verbal", 1): 1}
    assert total(counts(Period("2024", date(2024, 1, 1), date(2025, 1, 1)))) == 0


def test_the_median_of_first_contacts_comes_from_tenths_of_hours():
    def median(tenths: dict[int, int]) -> tuple[int, float | None]:
        return Counts({}, {("first_contact", str(t)): n for t, n in tenths.items()}).first_contact()

    assert median({}) == (0, None)
    assert median({5: 1, 15: 2}) == (3, 1.5)  # 0.5, 1.5, 1.5 hours
    assert median({5: 2, 15: 2}) == (4, 1.0)  # 0.5, 0.5, 1.5, 1.5: (0.5 + 1.5) / 2
    assert median({10: 1, 20: 1, 100: 5}) == (7, 10.0)


def test_a_change_that_is_rolled_back_counts_nothing(victim):
    user, boss = victim
    incident = report(user, "rollback-token-000001", datetime(2025, 3, 3, 10, tzinfo=UTC))
    step = db.session.scalars(
        db.select(AftercareStep).where(AftercareStep.incident_id == incident.id)
    ).one()
    before = counts(YEAR).cells
    # Someone else records the step first: the second attempt fails and is rolled back.
    db.session.execute(update(AftercareStep).values(attempts=1))
    db.session.commit()
    with pytest.raises(ServiceError):
        services.aftercare.complete_step(boss, step, StepResult(outcomes=["held"]), attempts=0)
    assert counts(YEAR).cells == before
    db.session.refresh(step)
    services.aftercare.complete_step(boss, step, StepResult(outcomes=["held"]), attempts=1)
    after = counts(YEAR)
    assert after.by("decided", YEAR.months()) == {("contact", 0): 1}
    assert after.by("outcome", YEAR.months()) == {("contact:held", 0): 1}


def test_stats_check_finds_drift_and_rebuild_repairs_it(app, victim):
    report(victim[0], "cli-token-00000000001", datetime(2025, 5, 5, 10, tzinfo=UTC))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 0 and "equal to a full recount" in result.output
    db.session.execute(
        update(StatTally).where(StatTally.measure == "channel").values(count=StatTally.count + 2)
    )
    db.session.commit()
    result = runner.invoke(args=["stats", "check"])
    assert result.exit_code == 1
    assert "('channel', '2025-05', 'counter', 1): kept 3, recounted 1" in result.output
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0 and "rows" in result.output
    assert runner.invoke(args=["stats", "check"]).exit_code == 0
    assert total(counts(YEAR)) == 1


def test_an_incident_made_and_changed_in_one_transaction_counts_once(victim):
    user = victim[0]
    incident = Incident(
        submission_token="one-transaction-000001",
        status=IncidentStatus.SUBMITTED,
        reporter_id=user.id,
        occurred_at=datetime(2025, 4, 4, 10, tzinfo=UTC),
        channel=Channel.PHONE,
        level=1,
    )
    db.session.add(incident)
    db.session.flush()  # written once as a phone incident...
    incident.channel = Channel.COUNTER  # ...then changed before the commit
    db.session.add(IncidentTypeRow(incident_id=incident.id, type=IncidentType.THREAT))
    db.session.commit()
    found = counts(YEAR)
    assert found.by("channel", YEAR.months()) == {("counter", 1): 1}
    assert found.by("type", YEAR.months()) == {("threat", 1): 1}


def test_open_steps_count_as_due_once_their_deadline_has_passed(victim):
    now = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)
    deadlines = [
        datetime(2025, 6, 9, 23, 0, tzinfo=UTC),  # days ago
        datetime(2025, 6, 11, 0, 30, tzinfo=UTC),  # today, before now
        datetime(2025, 6, 11, 15, 0, tzinfo=UTC),  # today, later
        datetime(2025, 6, 12, 9, 0, tzinfo=UTC),  # tomorrow
    ]
    for n, deadline in enumerate(deadlines):
        incident = report(victim[0], f"due-token-{n:012d}", datetime(2025, 6, 2, 10, tzinfo=UTC))
        step = db.session.scalars(
            db.select(AftercareStep).where(AftercareStep.incident_id == incident.id)
        ).one()
        step.due_at = deadline
        db.session.commit()
    found = counts(YEAR)
    assert on_time(YEAR, found, now) == (0, 2)
    later = datetime(2025, 6, 12, 10, 0, tzinfo=UTC)
    assert on_time(YEAR, found, later) == (0, 4)


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_month_of_a_moment_is_that_of_the_zone_even_at_month_ends(zone):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from incidents.stats.tally import org_month

    moment = datetime(2024, 1, 1, tzinfo=UTC)
    while moment < datetime(2025, 1, 1, tzinfo=UTC):
        stored = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        assert org_month(stored, zone) == moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
        moment += timedelta(minutes=47)
    assert org_month(None, zone) is None


@pytest.mark.parametrize(
    ("after", "hours"),
    [
        (timedelta(hours=2, minutes=10), 2.2),  # exact to the tenth up to 8 hours
        (timedelta(hours=9, minutes=20), 9.5),  # then to the half hour
        (timedelta(hours=30, minutes=20), 30.0),  # then to the hour
        (timedelta(days=9, hours=5), 216.0),  # after a week, to the day
    ],
)
def test_first_contacts_are_counted_at_the_precision_shown(victim, after, hours):
    occurred = datetime(2025, 3, 3, 10, tzinfo=UTC)
    incident = report(victim[0], "contact-token-000000001", occurred)
    step = db.session.scalars(
        db.select(AftercareStep).where(AftercareStep.incident_id == incident.id)
    ).one()
    assert step.kind == "contact"
    step.status, step.done_at, step.outcomes = StepStatus.DONE, occurred + after, ["held"]
    db.session.commit()
    assert counts(YEAR).first_contact() == (1, hours)


def test_a_report_that_arrives_after_its_month_was_published_is_not_counted(victim):
    report(victim[0], "in-time-token-0000001", datetime(2025, 5, 5, 10, tzinfo=UTC))
    # A month is published 7 days after it ends: 60 days later is too late.
    report(victim[0], "late-token-00000000001", datetime(2025, 5, 6, 10, tzinfo=UTC), late=True)
    assert counts(YEAR).months() == {"2025-05": 1}


def test_published_counts_do_not_move_when_an_incident_changes_later(app, victim):
    from incidents.services.statistics import publish_closed_months

    user = victim[0]
    incident = report(user, "frozen-token-000000001", datetime(2025, 5, 5, 10, tzinfo=UTC))
    with time_machine.travel(datetime(2025, 6, 9, tzinfo=UTC), tick=False):
        with services.transaction():
            assert publish_closed_months(datetime(2025, 6, 9, tzinfo=UTC)) == ["2025-05"]
        with services.transaction():  # nothing new the second time
            assert publish_closed_months(datetime(2025, 6, 9, tzinfo=UTC)) == []
        services.amend_report(
            user,
            incident,
            ReportData(
                occurred_at=incident.occurred_at,
                channel=Channel.PHONE,
                types=[IncidentType.PHYSICAL],
                description="It happened, and worse.",
                affected_ids=[user.id],
            ),
            incident.version,
        )
    live = counts(YEAR)
    published = read_counts(YEAR.months())
    assert live.by("channel", ["2025-05"]) == {("phone", 3): 1}
    assert published.by("channel", ["2025-05"]) == {("counter", 1): 1}


def test_the_membership_history_follows_every_change_of_team_and_state(app, make_user, make_team):
    from sqlalchemy import select

    from incidents.models import TeamMembership

    admin = make_user(Role.ADMIN)
    first, second = make_team("First"), make_team("Second")
    with time_machine.travel(datetime(2025, 1, 1, tzinfo=UTC), tick=False):
        person = make_user(name="Mover", team=first)
    with time_machine.travel(datetime(2025, 3, 1, tzinfo=UTC), tick=False):
        services.update_user(
            admin, person, email=person.email, name=person.name, role=person.role, team=second
        )
    with time_machine.travel(datetime(2025, 6, 1, tzinfo=UTC), tick=False):
        services.set_active(admin, person, False)
    with time_machine.travel(datetime(2025, 9, 1, tzinfo=UTC), tick=False):
        services.set_active(admin, person, True)
    rows = db.session.execute(
        select(TeamMembership.team_id, TeamMembership.since, TeamMembership.until)
        .where(TeamMembership.user_id == person.id)
        .order_by(TeamMembership.since)
    ).all()
    assert [(team, since.month, until.month if until else None) for team, since, until in rows] == [
        (first.id, 1, 3),
        (second.id, 3, 6),
        (second.id, 9, None),
    ]


def test_a_transactions_count_reads_each_incident_once(app, victim):
    # The statement every change runs looks the incidents up once, in a common table
    # expression that each measure reads, and writes its constants into the SQL: a few
    # kilobytes instead of one lookup a measure in 13 KB.
    from sqlalchemy import event

    from incidents.stats import tally

    first = report(victim[0], "once-1", datetime(2025, 3, 3, 9, tzinfo=UTC))
    second = report(victim[0], "once-2", datetime(2025, 4, 3, 9, tzinfo=UTC))
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with db.engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", note)
        found = tally.count(connection, [first.id, second.id])
        event.remove(connection, "before_cursor_execute", note)
    assert found[("team", "2025-03", str(victim[0].team_id), first.level)] == 1
    assert found[("team", "2025-04", str(victim[0].team_id), second.level)] == 1
    [statement] = seen
    assert statement.count("FROM incident") == 1
    assert statement.startswith("WITH counted AS")
    assert "'first_contact'" in statement  # a constant, not a parameter
    assert len(statement) < 7000
