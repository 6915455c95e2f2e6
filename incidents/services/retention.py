"""Retention: remove the personal data of incidents whose aftercare closed long ago, let
perpetrator measures expire (the register's: `measure_expiry`), and let an administrator stop
retention with a legal hold.

What stays after anonymising is what the statistics count: when it happened, the channel,
the types, the level and the aggravating facts, the team, and the steps' outcomes and dates.
What goes is everything that tells who or what: free text, perpetrator data, outside
witnesses, the notes (and what corrections kept: earlier values, reasons), the links to the
colleagues involved, and the evidence: every file's bytes leave the store (after the run has
committed) and its row keeps only what says nothing (kind, type, size, hash, dates), marked as
taken by retention, so the statistics still count the incident as one with evidence. The incident itself is no longer shown to anyone once
`anonymised_at` is set.

`flask retention` (in `incidents.cli`) runs `run_retention` daily; running it twice does
nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import selectinload

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    Incident,
    IncidentChange,
    IncidentStatus,
    RetentionRun,
    StepCorrection,
    StepStatus,
    User,
)
from incidents.rules import StepKind
from incidents.services import measure_expiry, numbers
from incidents.services.base import ServiceError, audit, lock, lock_all, transaction
from incidents.services.evidence import delete_bytes
from incidents.stats.tally import RETENTION_REMOVAL

DEFAULT_YEARS = 5
REASON_MIN, REASON_MAX = 3, 200
RECENT_RUNS = 10

MEASURE_KIND = StepKind.PERPETRATOR_RESPONSE


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The same moment `years` calendar years earlier; 29 February becomes 28 February."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February in a year that has none
        return now.replace(year=now.year - years, day=28)


def _anonymise(incident: Incident, now: datetime) -> tuple[list[str], int]:
    """Remove the personal data of one incident; keep what the statistics count. Returns the
    store keys whose bytes go once this commits, and how many files were still there."""
    incident.description = ""
    incident.location = ""  # location_id stays: a registered place names no one, and counts
    incident.outside_witnesses = ""
    incident.perpetrator_name = ""
    incident.perpetrator_reference = ""
    # The colleagues involved: the link is what identifies them (their names live in users).
    incident.people.clear()
    for step in incident.steps:
        step.note = ""
        step.subject_user_id = None
        _remove_personal_details(step)
    # Corrections keep earlier notes, numbers and reasons, and their own reason: all go.
    if incident.steps:
        db.session.execute(
            update(StepCorrection)
            .where(StepCorrection.step_id.in_([s.id for s in incident.steps]))
            .values(reason="", previous={}, corrected={})
        )
    keys, removed = _remove_files(incident, now)
    incident.anonymised_at = now
    incident.updated_at = now
    incident.version = (incident.version or 1) + 1  # an edit form still open is refused
    return keys, removed


def _remove_files(incident: Incident, now: datetime) -> tuple[list[str], int]:
    """The incident's files: names blanked, those still there marked as taken by retention
    (nobody removed them: the statistics keep counting them); the reason a person gave for
    an earlier removal is free text and goes too. The history's file names go with them.
    The key stays (it is random, names nothing, and the column is unique and required)."""
    keys: list[str] = []
    removed = 0
    for attachment in incident.attachments:
        # Every key, also of files removed before: a failed deletion then is tried again.
        keys += [k for k in (attachment.key, attachment.original_key) if k]
        attachment.filename = ""
        attachment.original_key = None
        attachment.for_police = False
        if attachment.present:
            attachment.removed_at, attachment.removed_by_id = now, None
            attachment.removed_reason = RETENTION_REMOVAL
            removed += 1
        else:
            attachment.removed_reason = ""
    if incident.attachments:
        db.session.execute(
            update(IncidentChange)
            .where(
                IncidentChange.incident_id == incident.id,
                IncidentChange.action.like("evidence%"),
            )
            .values(fields=[])
        )
    return keys, removed


def _remove_personal_details(step: AftercareStep) -> None:
    """Empty what a step recorded as free text or identifying values. The police outcome is
    emptied, not removed: the statistics count police reports whose outcome is known."""
    step.reference = ""
    step.reason = ""
    if step.police_outcome is not None:
        step.police_outcome = ""


def _ended_measures(today: date) -> Select[Any]:
    """Perpetrator measures whose end date lies before `today`, not yet marked expired."""
    return select(AftercareStep).where(
        AftercareStep.kind == MEASURE_KIND,
        AftercareStep.status == StepStatus.DONE,
        AftercareStep.end_date < today,
        ~AftercareStep.measure_expired,
    )


def _today(now: datetime) -> date:
    from incidents.extensions import org_zone

    return now.astimezone(org_zone()).date()


def run_retention(now: datetime, years: int) -> dict[str, int]:
    """One retention run, in one transaction: anonymise the incidents whose aftercare closed
    more than `years` ago (unless on legal hold), mark ended perpetrator measures as expired,
    let the register's measures start, end, remind and lose their personal data
    (`measure_expiry`), and keep the report as a `RetentionRun`. Running it again changes nothing new. The files
    of the anonymised incidents leave the evidence store after the commit."""
    if years < 1:
        raise ServiceError(_("The retention period must be at least one year."), "years")
    cutoff = retention_cutoff(now, years)
    due = (
        Incident.status == IncidentStatus.SUBMITTED,
        Incident.closed_at.is_not(None),
        Incident.closed_at < cutoff,
        Incident.anonymised_at.is_(None),
    )
    today = _today(now)
    with transaction():
        # Lock what is due, then read it again: an edit that reopened an incident or placed
        # a hold meanwhile has committed by then, and one still to come waits for this run.
        ended = _ended_measures(today)
        due_ids = list(db.session.scalars(select(Incident.id).where(*due)))
        locked = [
            *due_ids,
            *db.session.scalars(ended.with_only_columns(AftercareStep.incident_id)),
            # The register's measures that start, end, are reminded or anonymised now.
            *measure_expiry.incident_ids_to_lock(now, due_ids),
        ]
        lock_all(locked)
        incidents = db.session.scalars(
            select(Incident)
            .where(*due, ~Incident.legal_hold)
            .options(
                selectinload(Incident.people),
                selectinload(Incident.steps),
                selectinload(Incident.attachments),
            )
            .order_by(Incident.id)
        ).all()
        held = (
            db.session.scalar(select(func.count(Incident.id)).where(*due, Incident.legal_hold)) or 0
        )
        keys: list[str] = []
        files_removed = 0
        for incident in incidents:
            gone, removed = _anonymise(incident, now)
            keys += gone
            files_removed += removed
            audit(None, AuditAction.RETENTION_ANONYMISE, incident)

        expired = 0
        for step in db.session.scalars(ended.order_by(AftercareStep.id)).all():
            step.measure_expired = True
            audit(None, AuditAction.RETENTION_EXPIRE_MEASURE, step)
            expired += 1

        measures = measure_expiry.apply(now, locked, [i.id for i in incidents])

        report = {
            "anonymised": len(incidents),
            "files_removed": files_removed,
            "held": held,
            "measures_expired": expired,
            **measures,
            "years": years,
        }
        run = RetentionRun(at=now, report=report)
        db.session.add(run)
        db.session.flush()
        audit(None, AuditAction.RETENTION_RUN, run, **report)
    delete_bytes(keys)  # only now: had the run failed, the files would still be needed
    return report


def find_incident(number: str | None) -> Incident:
    """A submitted incident by its number ("2026-0142"), for the legal-hold form."""
    incident = numbers.incident_numbered(number)
    if incident is None or incident.status != IncidentStatus.SUBMITTED:
        raise ServiceError(_("There is no submitted incident with this number."), "incident")
    return incident


SEARCH_LIMIT = 20


def incidents_numbered(typed: str) -> Sequence[Any]:
    """Submitted incidents whose number starts with what was typed ("2026", "2026-01", a whole
    number), the latest first: number, date submitted, level and hold only, never contents.

    A range on the number (its unique index), not LIKE: "2026-01" finds 2026-0100 to
    2026-0199, and nothing in what was typed is a wildcard."""
    whole = numbers.parse(typed)
    prefix = whole or typed.strip().lstrip("#").strip()
    if not prefix or any(c not in "0123456789-" for c in prefix):
        return []
    return db.session.execute(
        select(Incident.number, Incident.submitted_at, Incident.level, Incident.legal_hold)
        .where(Incident.number >= prefix, Incident.number < prefix + "~")
        .order_by(Incident.number.desc())
        .limit(SEARCH_LIMIT)
    ).all()


def set_legal_hold(actor: User, incident: Incident, hold: bool, reason: str) -> None:
    """Place or lift a legal hold: while placed, retention leaves the incident alone."""
    reason = reason.strip()
    if hold and not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ServiceError(
            ngettext(
                "Give the reason in %(min)s to %(num)s character.",
                "Give the reason in %(min)s to %(num)s characters.",
                REASON_MAX,
                min=REASON_MIN,
            ),
            "reason",
        )
    if len(reason) > REASON_MAX:
        raise ServiceError(
            ngettext(
                "Keep the reason under %(num)s character.",
                "Keep the reason under %(num)s characters.",
                REASON_MAX,
            ),
            "reason",
        )
    with transaction():
        incident = lock(incident.id)
        _check_hold(incident, hold)
        incident.legal_hold = hold
        audit(
            actor,
            AuditAction.INCIDENT_LEGAL_HOLD if hold else AuditAction.INCIDENT_LEGAL_HOLD_LIFTED,
            incident,
            reason=reason,
        )


def _check_hold(incident: Incident, hold: bool) -> None:
    if incident.status != IncidentStatus.SUBMITTED:
        raise ServiceError(_("There is no submitted incident with this number."), "incident")
    if hold and incident.anonymised_at is not None:
        raise ServiceError(
            _("This incident has already been anonymised; there is nothing left to hold."),
            "incident",
        )
    if hold == incident.legal_hold:
        raise ServiceError(
            _("This incident is already on legal hold.")
            if hold
            else _("This incident is not on legal hold."),
            "incident",
        )


def held_incidents() -> Sequence[Any]:
    """Incidents on legal hold: number, date submitted and level only, never contents."""
    return db.session.execute(
        select(Incident.number, Incident.submitted_at, Incident.level)
        .where(Incident.legal_hold)
        .order_by(Incident.number)
    ).all()


def recent_runs(limit: int = RECENT_RUNS) -> Sequence[RetentionRun]:
    """The latest retention runs and their reports, newest first."""
    return db.session.scalars(
        select(RetentionRun).order_by(RetentionRun.at.desc(), RetentionRun.id.desc()).limit(limit)
    ).all()


def format_report(report: dict[str, Any]) -> str:
    """The report as one line, for the command and its log."""
    defaults = dict.fromkeys(("files_removed", *measure_expiry.REPORT_KEYS), 0)
    return (
        "anonymised {anonymised}, files removed {files_removed}, held {held}, "
        "measures expired {measures_expired}, measures started {measures_started}, "
        "measures ended {measures_ended}, measures reminded {measures_reminded}, "
        "measures anonymised {measures_anonymised} (retention {years} years)".format(
            **{**defaults, **report}
        )
    )
