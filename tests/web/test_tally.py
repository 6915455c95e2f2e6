"""The statistics' running counts: months in the organisation's time zone, the median from
whole minutes, rolled-back changes, and the `flask stats` commands. (Every test in the suite
also checks, when it ends, that the counts equal a full recount: see `tests/conftest.py`.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
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
from incidents.stats.queries import Counts, Period, counts, on_time


@pytest.fixture
def victim(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    return make_user(name="Victim", team=make_team("Income", manager=boss)), boss


def report(user, token, occurred_at, types=(IncidentType.VERBAL,)):
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
    found = counts(Period.parse("2025-Q1"))
    assert found.months == {"2025-02": 1}
    assert found.total() == 1
    assert found.by("type") == {("verbal", "1"): 1}
    assert counts(Period.parse("2024")).total() == 0


def test_the_median_of_first_contacts_comes_from_tenths_of_hours():
    def median(tenths: dict[int, int]) -> tuple[int, float | None]:
        cells = {("first_contact", str(t), 0): n for t, n in tenths.items()}
        return Counts(cells, {}).first_contact()

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
    before = counts(Period.of_year(2025)).cells
    # Someone else records the step first: the second attempt fails and is rolled back.
    db.session.execute(update(AftercareStep).values(attempts=1))
    db.session.commit()
    with pytest.raises(ServiceError):
        services.aftercare.complete_step(boss, step, StepResult(outcomes=["held"]), attempts=0)
    assert counts(Period.of_year(2025)).cells == before
    db.session.refresh(step)
    services.aftercare.complete_step(boss, step, StepResult(outcomes=["held"]), attempts=1)
    after = counts(Period.of_year(2025))
    assert after.outcomes("contact", ["held"]) == {"decided": 1, "held": 1}


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
    assert counts(Period.of_year(2025)).total() == 1


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
    found = counts(Period.of_year(2025))
    assert found.by("channel") == {("counter", "1"): 1}
    assert found.by("type") == {("threat", "1"): 1}


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
    period = Period.of_year(2025)
    found = counts(period)
    assert on_time(period, found, now, "Europe/Amsterdam") == (0, 2)
    later = datetime(2025, 6, 12, 10, 0, tzinfo=UTC)
    assert on_time(period, found, later, "Europe/Amsterdam") == (0, 4)


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
    assert counts(Period.of_year(2025)).first_contact() == (1, hours)
