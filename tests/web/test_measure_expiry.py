"""The life of a measure after its approval, on a frozen clock moving over the days: it comes
into force on its start date and ends on its end date by itself (the daily `flask retention`
run), the manager is reminded once two weeks before (not for a measure already extended; the
proposer, else the affected employees' managers), it leaves the lookup the day after its end
even without the run, and its personal data goes with its incidents'. Both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from incidents import notify
from incidents.extensions import db
from incidents.models import (
    AuditAction,
    AuditEvent,
    Incident,
    Measure,
    MeasureState,
    Notification,
    RetentionRun,
    Role,
    utcnow,
)
from incidents.services import measure_expiry, measures, retention
from tests.conftest import login
from tests.web.measure_helpers import REASON, TODAY, approve, in_force, propose, submit
from tests.web.test_races import race

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def early(day: date) -> datetime:
    """02:00 in Amsterdam on `day`, when cron runs the daily job."""
    return datetime.combine(day, time(2, 0), AMSTERDAM).astimezone(UTC)


def run_on(traveller, day: date) -> dict[str, int]:
    traveller.move_to(early(day))
    report = retention.run_retention(utcnow(), 5)
    db.session.expire_all()
    return report


def fresh(measure: Measure) -> Measure:
    found = db.session.get(Measure, measure.id)
    assert found is not None
    return found


def events(action: AuditAction, measure: Measure | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if measure is not None:
        query = query.where(AuditEvent.object_type == "measure", AuditEvent.object_id == measure.id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def reminders() -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.kind == "measure_ending")
            .order_by(Notification.id)
        )
    )


def measure_part(report: dict[str, int]) -> dict[str, int]:
    return {key: report[key] for key in measure_expiry.REPORT_KEYS}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_a_measure_starts_and_ends_on_its_dates_by_itself(app, staff, march_10):
    measure = approve(staff, propose(staff, submit(staff), days=10, starts_on=TODAY + timedelta(3)))
    assert measure.state == MeasureState.APPROVED
    start, end = TODAY + timedelta(days=3), TODAY + timedelta(days=12)
    assert (measure.starts_on, measure.ends_on) == (start, end)
    seen: dict[date, tuple[MeasureState, dict[str, int]]] = {}
    for day in days(TODAY + timedelta(days=1), end + timedelta(days=3)):
        report = run_on(march_10, day)
        seen[day] = (fresh(measure).state, measure_part(report))
    states = {day: state for day, (state, _r) in seen.items()}
    assert all(
        states[d] == MeasureState.APPROVED for d in days(TODAY + timedelta(1), start - timedelta(1))
    )
    assert all(states[d] == MeasureState.IN_FORCE for d in days(start, end))
    assert all(
        states[d] == MeasureState.ENDED for d in days(end + timedelta(1), end + timedelta(3))
    )
    assert seen[start][1]["measures_started"] == 1
    assert seen[end + timedelta(days=1)][1]["measures_ended"] == 1
    assert sum(r["measures_started"] for _s, r in seen.values()) == 1
    assert sum(r["measures_ended"] for _s, r in seen.values()) == 1

    measure = fresh(measure)
    assert measure.closed_at == early(end + timedelta(days=1)) and measure.closed_by_id is None
    assert measure.ends_on == end  # the end date stays what was approved
    assert measure.citizen_name == "Jan Jansen"  # its incident keeps its data: so does it
    (started,) = events(AuditAction.MEASURE_START, measure)
    (expired,) = events(AuditAction.MEASURE_EXPIRE, measure)
    assert started.actor_id is None and expired.actor_id is None
    assert started.details == {"starts_on": start.isoformat()}
    assert expired.details == {"ends_on": end.isoformat()}
    # The report is kept with the run, and the legal-holds page shows the measures ended.
    run = db.session.scalar(
        select(RetentionRun).where(RetentionRun.at == early(end + timedelta(days=1)))
    )
    assert run is not None and run.report["measures_ended"] == 1
    page = login(app.test_client(), staff["admin"]).get("/admin/legal-holds").text
    with app.test_request_context(), force_locale("nl"):
        header = gettext("Measures ended")
    assert header in page


def test_the_day_after_its_end_it_is_no_longer_in_force_even_without_the_run(app, staff, march_10):
    measure = in_force(staff, days=10)
    end = TODAY + timedelta(days=9)
    assert measure.in_force_on(end)
    march_10.move_to(early(end + timedelta(days=1)))
    db.session.refresh(measure)
    assert measure.state == MeasureState.IN_FORCE  # stored: the run has not been
    assert not measure.in_force_on(measures.today())
    assert measure.state_on(measures.today()) == MeasureState.ENDED
    # The register lists it as ended, and nobody can end it "early" any more.
    register = measures.register(staff["boss"])
    assert measure in register.ended and measure not in register.current
    with pytest.raises(measures.ServiceError, match="al beëindigd"):
        measures.close(staff["boss"], measure.id, measure.revision, "Not needed any more")


def test_the_manager_is_reminded_once_two_weeks_before_the_end(app, staff, march_10):
    staff["boss"].locale = "en"
    db.session.commit()
    measure = in_force(staff, days=60)
    end = TODAY + timedelta(days=59)
    remind_on = end - timedelta(days=14)
    counts = {}
    for day in days(remind_on - timedelta(days=2), end + timedelta(days=2)):
        counts[day] = run_on(march_10, day)["measures_reminded"]
    assert {d: n for d, n in counts.items() if n} == {remind_on: 1}
    (note,) = reminders()
    assert note.recipient_id == staff["boss"].id
    assert note.key == f"measure_ending:{measure.id}:{staff['boss'].id}"
    (reminded,) = events(AuditAction.MEASURE_REMIND, measure)
    assert reminded.actor_id is None and reminded.details == {"ends_on": end.isoformat()}
    measure = fresh(measure)
    assert measure.reminded_at == early(remind_on)

    # The mail: extend or let it end, its end date and a link to the measure; no citizen.
    with app.test_request_context():
        mail = notify.compose(note)
    assert mail.to == staff["boss"].email
    assert "ends soon" in mail.subject and "within two weeks" in mail.text
    assert "extend it" in mail.text and "let it end" in mail.text
    assert f"/measures/{measure.id}" in mail.text and f"/measures/{measure.id}" in mail.html
    assert "Last day in force" in mail.text
    for secret in ("Jan Jansen", "K-1001", REASON, "Victim"):
        assert secret not in mail.text and secret not in mail.html and secret not in mail.subject
    # The link opens the measure for the manager it went to.
    client = login(app.test_client(), staff["boss"])
    assert client.get(f"/measures/{measure.id}").status_code == 200


def test_the_mail_goes_in_the_managers_language_and_names_nobody(app, staff, march_10):
    measure = in_force(staff, days=20)
    run_on(march_10, measure.ends_on - timedelta(days=14))
    (note,) = reminders()
    with app.test_request_context():
        mail = notify.compose(note)
        with force_locale("nl"):
            subject = str(notify.TEXTS["measure_ending"][0])
    assert mail.subject == subject  # Boss reads Dutch, the default
    assert f"/measures/{measure.id}" in mail.text
    for secret in ("Jan Jansen", "K-1001", REASON, "Victim"):
        assert secret not in mail.text and secret not in mail.html


def test_an_extended_measure_gets_no_reminder(app, staff, march_10):
    measure = in_force(staff, days=30)
    db.session.refresh(measure)
    extension = measures.propose(
        staff["boss"],
        measures.Proposal(
            kind=measure.kind,
            citizen_name=measure.citizen_name,
            citizen_reference=measure.citizen_reference,
            reason=REASON,
            starts_on=measure.ends_on + timedelta(days=1),
            ends_on=measure.ends_on + timedelta(days=60),
        ),
        extends=measure,
    )
    for day in days(TODAY + timedelta(days=1), measure.ends_on):
        assert run_on(march_10, day)["measures_reminded"] == 0
    assert reminders() == []
    assert fresh(measure).reminded_at is None
    # Turned down, the extension no longer stands in the way: the reminder goes after all.
    db.session.refresh(extension)
    measures.close(staff["officer"], extension.id, extension.revision, "Not proportionate")
    assert measure_part(retention.run_retention(utcnow(), 5))["measures_reminded"] == 1


def test_the_reminder_goes_to_the_affected_employees_manager_once_the_proposer_is_gone(
    app, staff, march_10
):
    # The deputy proposed it, then stopped being a manager: the victim's manager hears.
    deputy_made = in_force(staff, by="deputy", days=20)
    # Boss proposed this one and is still a manager: he hears himself.
    boss_made = in_force(staff, days=20)
    staff["deputy"].role = Role.EMPLOYEE
    db.session.commit()
    run_on(march_10, TODAY + timedelta(days=6))
    by_measure = {n.key.split(":")[1]: n.recipient_id for n in reminders()}
    assert by_measure == {
        str(deputy_made.id): staff["boss"].id,
        str(boss_made.id): staff["boss"].id,
    }


def test_without_the_team_manager_the_deputy_then_the_security_officer_is_reminded(
    app, staff, march_10
):
    to_deputy = in_force(staff, days=20)
    to_officer = in_force(staff, days=22)  # reminded a day later
    staff["boss"].active = False
    db.session.commit()
    run_on(march_10, TODAY + timedelta(days=6))
    assert [(n.recipient_id, n.key.split(":")[1]) for n in reminders()] == [
        (staff["deputy"].id, str(to_deputy.id))
    ]
    staff["deputy"].active = False
    db.session.commit()
    run_on(march_10, TODAY + timedelta(days=7))
    assert [(n.recipient_id, n.key.split(":")[1]) for n in reminders()][1:] == [
        (staff["officer"].id, str(to_officer.id))
    ]
    # The security officer can open the measure the mail links to (and so could the deputy,
    # before leaving).
    client = login(app.test_client(), staff["officer"])
    assert client.get(f"/measures/{to_officer.id}").status_code == 200


def _close_long_ago(incident: Incident) -> None:
    """The incident's aftercare closed six years ago: due for retention now."""
    incident = db.session.get(Incident, incident.id) or incident
    incident.closed_at = datetime(2020, 1, 6, tzinfo=UTC)
    db.session.commit()


def test_personal_data_follows_the_incidents_retention(app, staff, march_10):
    ended = in_force(staff, days=5)  # ends before the incident's retention
    withdrawn = propose(staff, submit(staff))
    db.session.refresh(withdrawn)
    measures.close(staff["boss"], withdrawn.id, withdrawn.revision, "Talked it over")
    stale = propose(staff, submit(staff), days=5)  # never approved, its end date passed
    current = in_force(staff, days=200)  # still in force when its incident goes
    two = submit(staff), submit(staff)
    both = in_force(staff, two[0])  # rests on two incidents, one of them stays
    both = fresh(both)
    both.incidents.append(two[1])
    db.session.commit()
    run_on(march_10, TODAY + timedelta(days=10))  # `ended` ended; nothing anonymised yet
    assert fresh(ended).anonymised_at is None

    for measure in (ended, withdrawn, stale, current):
        _close_long_ago(measure.incidents[0])
    _close_long_ago(two[0])
    report = run_on(march_10, TODAY + timedelta(days=11))
    assert report["anonymised"] == 5
    assert report["measures_anonymised"] == 3  # in the same run as their incidents

    def personal(measure: Measure) -> tuple[object, ...]:
        m = fresh(measure)
        return (m.citizen_name, m.citizen_reference, m.name_key, m.reference_key, m.reason,
                m.not_heard_reason, m.close_reason, m.contact_person_id)  # fmt: skip

    for gone in (ended, withdrawn, stale):
        assert personal(gone) == ("", "", "", "", "", "", "", None)
        m = fresh(gone)
        assert m.anonymised_at == early(TODAY + timedelta(days=11))
        assert m.kind == "two_colleagues" and m.starts_on == TODAY  # the counts stay
        assert len(events(AuditAction.MEASURE_ANONYMISE, m)) == 1
        assert m not in measures.register(staff["officer"]).ended
    assert personal(current)[0] == "Jan Jansen"  # the counter still needs it
    assert personal(both)[0] == "Jan Jansen"  # one of its incidents keeps its data

    # Once `current` ended, the next run takes its data too.
    end = fresh(current).ends_on
    report = run_on(march_10, end + timedelta(days=1))
    assert measure_part(report) == {
        "measures_started": 0,
        "measures_ended": 2,  # `current`, and `both`
        "measures_reminded": 0,
        "measures_anonymised": 1,
    }
    assert personal(current)[0] == "" and personal(both)[0] == "Jan Jansen"


def test_a_second_run_changes_nothing_twice(app, staff, march_10):
    starting = approve(staff, propose(staff, submit(staff), starts_on=TODAY + timedelta(days=1)))
    ending = in_force(staff, days=2)
    reminded = in_force(staff, days=15)
    run_on(march_10, TODAY + timedelta(days=1))  # reminders for `reminded` and `ending`
    report = run_on(march_10, TODAY + timedelta(days=2))
    assert measure_part(report) == {
        "measures_started": 0,
        "measures_ended": 1,
        "measures_reminded": 0,
        "measures_anonymised": 0,
    }
    revisions = {m.id: fresh(m).revision for m in (starting, ending, reminded)}
    audited = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    mails = len(reminders())
    again = retention.run_retention(utcnow() + timedelta(minutes=5), 5)
    assert measure_part(again) == dict.fromkeys(measure_expiry.REPORT_KEYS, 0)
    db.session.expire_all()
    assert {m.id: fresh(m).revision for m in (starting, ending, reminded)} == revisions
    assert db.session.scalar(select(func.count(AuditEvent.id))) == audited + 1  # the run itself
    assert len(reminders()) == mails == 2


def test_a_measure_whose_incidents_are_not_locked_is_left_for_the_next_run(app, staff, march_10):
    measure = approve(staff, propose(staff, submit(staff), starts_on=TODAY + timedelta(days=1)))
    march_10.move_to(early(TODAY + timedelta(days=1)))
    now = utcnow()
    assert measure_expiry.incident_ids_to_lock(now) == [measure.incidents[0].id]
    assert measure_expiry.run_measure_expiry(now)["measures_started"] == 1
    db.session.expire_all()
    later = approve(staff, propose(staff, submit(staff), starts_on=TODAY + timedelta(days=2)))
    march_10.move_to(early(TODAY + timedelta(days=2)))
    # Became due after the run took its locks: not changed now.
    assert measure_expiry.apply(utcnow(), locked=[])["measures_started"] == 0
    db.session.rollback()
    assert fresh(later).state == MeasureState.APPROVED


def test_two_runs_at_once_start_remind_and_end_once(app, staff, march_10):
    starting = [
        approve(staff, propose(staff, submit(staff), starts_on=TODAY + timedelta(days=1), days=15))
        for _ in range(3)
    ]
    ending = [in_force(staff, days=1) for _ in range(3)]
    march_10.move_to(early(TODAY + timedelta(days=1)))
    now = utcnow()

    def job(wait):
        wait()
        return retention.run_retention(now, 5)

    results = race(app, job, job)
    assert not [r for r in results if isinstance(r, Exception)], results
    db.session.expire_all()
    assert sum(r["measures_started"] for r in results) == 3
    assert sum(r["measures_ended"] for r in results) == 3
    assert sum(r["measures_reminded"] for r in results) == 3
    for measure in starting:
        assert len(events(AuditAction.MEASURE_START, measure)) == 1
        assert len(events(AuditAction.MEASURE_REMIND, measure)) == 1
    for measure in ending:
        assert len(events(AuditAction.MEASURE_EXPIRE, measure)) == 1
    assert len(reminders()) == 3
