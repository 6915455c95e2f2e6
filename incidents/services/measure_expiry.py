"""The life of a measure after its approval, in the daily `flask retention` run.

- An approved measure comes into force on its start date (`MEASURE_START`) and ends by itself
  after its end date (`MEASURE_EXPIRE`): nobody has to do anything. What holds on a day does
  not wait for this run (`Measure.state_on`); the run brings the stored state up to date, so
  the register, the statistics and the audit trail say when it happened.
- Two weeks before its end date the manager is reminded once (`MEASURE_REMIND`): the one who
  proposed it while still an active manager, else the managers of the affected employees of
  its incidents. The mail asks to extend it (a new proposal, approved again) or let it end; a
  measure already extended gets none.
- An ended or withdrawn measure keeps the citizen's name as long as one of its incidents keeps
  its personal data; once every incident was anonymised by retention, so is the measure
  (`MEASURE_ANONYMISE`), in the same run when its last incident goes. A measure in force keeps
  its data until it ended (the counter needs it), and goes in the run after.

Locks: the run takes the locks of every incident of the measures it may change before it
changes anything (`incident_ids_to_lock`, called by `retention.run_retention` together with
its own), then reads again and changes only measures whose incidents it holds. A measure that
became due meanwhile waits for the next run. Running it twice changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incidents import notify
from incidents.extensions import db
from incidents.models import (
    AuditAction,
    Incident,
    Measure,
    MeasureState,
    PersonRole,
    User,
    measure_incident,
)
from incidents.services.base import audit, lock_all, transaction
from incidents.services.measures import extension_of, today

REMIND_DAYS_BEFORE = 14
REMINDER_KIND = "measure_ending"  # the notification kind (incidents.notify.TEXTS)

ACTIVE = (MeasureState.APPROVED, MeasureState.IN_FORCE)
CLOSED = (MeasureState.ENDED, MeasureState.WITHDRAWN)
REPORT_KEYS = ("measures_started", "measures_ended", "measures_reminded", "measures_anonymised")


def _candidates(day: date, anonymising: Collection[int]) -> Any:
    """Measures the run may change on `day`: to start, to end, to remind, or to anonymise
    (ended or ending, every incident anonymised or in `anonymising`)."""
    start = (Measure.state == MeasureState.APPROVED) & (Measure.starts_on <= day)
    end = Measure.state.in_(ACTIVE) & (Measure.ends_on < day)
    remind = (
        Measure.state.in_(ACTIVE)
        & (Measure.starts_on <= day)
        & (Measure.ends_on <= day + timedelta(days=REMIND_DAYS_BEFORE))
        & Measure.reminded_at.is_(None)
    )
    # A measure one of whose incidents keeps its personal data (and is not being anonymised
    # now) keeps its own.
    kept = (
        select(measure_incident.c.measure_id)
        .join(Incident, Incident.id == measure_incident.c.incident_id)
        .where(Incident.anonymised_at.is_(None), Incident.id.not_in(list(anonymising)))
    )
    stale = (Measure.state == MeasureState.PROPOSED) & (Measure.ends_on < day)
    anonymise = (
        Measure.anonymised_at.is_(None)
        & (Measure.state.in_(CLOSED) | end | stale)
        & Measure.id.not_in(kept)
    )
    return select(Measure).where(start | end | remind | anonymise)


def incident_ids_to_lock(now: datetime, anonymising: Collection[int] = ()) -> list[int]:
    """The incidents of every measure this run may change (`anonymising`: the incidents the
    retention run may anonymise now). Their locks are taken before anything changes."""
    ids = _candidates(today(now), anonymising).with_only_columns(Measure.id)
    return list(
        db.session.scalars(
            select(measure_incident.c.incident_id)
            .where(measure_incident.c.measure_id.in_(ids))
            .distinct()
        )
    )


def apply(
    now: datetime, locked: Collection[int], anonymised: Collection[int] = ()
) -> dict[str, int]:
    """Start, end, remind and anonymise what is due, inside the caller's transaction, after it
    took the locks of `locked` (incident ids); `anonymised`: the incidents anonymised in
    this run. Returns the counts for the run's report."""
    day = today(now)
    held = set(locked)
    report = dict.fromkeys(REPORT_KEYS, 0)
    measures = db.session.scalars(
        _candidates(day, anonymised)
        .options(selectinload(Measure.incidents).selectinload(Incident.people))
        .order_by(Measure.id)
    ).all()
    for measure in measures:
        if not {i.id for i in measure.incidents} <= held:
            continue  # became due after the locks were taken: the next run
        changed = False
        if measure.state == MeasureState.APPROVED and measure.starts_on <= day:
            measure.state = MeasureState.IN_FORCE
            audit(None, AuditAction.MEASURE_START, measure, starts_on=measure.starts_on.isoformat())
            report["measures_started"] += 1
            changed = True
        if measure.state in ACTIVE and measure.ends_on < day:
            measure.state = MeasureState.ENDED
            measure.closed_at, measure.closed_by_id = now, None
            audit(None, AuditAction.MEASURE_EXPIRE, measure, ends_on=measure.ends_on.isoformat())
            report["measures_ended"] += 1
            changed = True
        if _reminder_due(measure, day):
            _remind(measure, now)
            report["measures_reminded"] += 1
            changed = True
        if _anonymisable(measure, day, set(anonymised)):
            _anonymise(measure, now)
            report["measures_anonymised"] += 1
            changed = True
        if changed:
            measure.revision += 1  # a form opened before is refused, not applied
    return report


def _reminder_due(measure: Measure, day: date) -> bool:
    return (
        measure.state == MeasureState.IN_FORCE
        and measure.reminded_at is None
        and measure.ends_on - timedelta(days=REMIND_DAYS_BEFORE) <= day <= measure.ends_on
        and extension_of(measure) is None
    )


def reminder_recipients(measure: Measure) -> list[User]:
    """Who is reminded: the proposer while still an active manager; else the managers of the
    affected employees of its incidents (their team's manager, else its deputy: both may
    open the measure); else, when none is left, the security officers."""
    if measure.proposed_by is not None and measure.proposed_by.is_active_manager:
        return [measure.proposed_by]
    found: dict[int, User] = {}
    for incident in measure.incidents:
        for person in incident.people_in(PersonRole.AFFECTED):
            team = person.user.team
            if team is None:
                continue
            boss = next(
                (m for m in (team.manager, team.deputy) if m is not None and m.is_active_manager),
                None,
            )
            if boss is not None:
                found.setdefault(boss.id, boss)
    if not found:
        officers = db.session.scalars(
            select(User).where(User.security_officer, User.active).order_by(User.id)
        )
        found = {u.id: u for u in officers}
    return sorted(found.values(), key=lambda u: u.id)


def _remind(measure: Measure, now: datetime) -> None:
    recipients = reminder_recipients(measure)
    incident = next((i for i in measure.incidents if i.anonymised_at is None), None)
    for recipient in recipients:
        notify.queue(REMINDER_KIND, recipient, str(measure.id), incident=incident)
    measure.reminded_at = now
    audit(None, AuditAction.MEASURE_REMIND, measure, ends_on=measure.ends_on.isoformat())


def _anonymisable(measure: Measure, day: date, anonymised_now: set[int]) -> bool:
    """Ended or withdrawn (or a proposal whose end date passed: it can never take effect),
    and every incident it rests on anonymised."""
    over = measure.state in CLOSED or (
        measure.state == MeasureState.PROPOSED and measure.ends_on < day
    )
    return (
        measure.anonymised_at is None
        and over
        and all(i.anonymised_at is not None or i.id in anonymised_now for i in measure.incidents)
    )


def _anonymise(measure: Measure, now: datetime) -> None:
    """Remove the measure's personal data; keep what the statistics count (kind, dates, state,
    who proposed and approved it)."""
    measure.citizen_name = measure.citizen_reference = ""
    measure.name_key = measure.reference_key = ""
    measure.reason = measure.not_heard_reason = measure.close_reason = ""
    measure.contact_person_id = None
    measure.anonymised_at = now
    audit(None, AuditAction.MEASURE_ANONYMISE, measure)


def run_measure_expiry(now: datetime) -> dict[str, int]:
    """The same on its own, in one transaction (without anonymising any incident)."""
    with transaction():
        locked = incident_ids_to_lock(now)
        lock_all(locked)
        return apply(now, locked)
