"""Incident reporting: reports, drafts, quick logs and additions. Each call is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from incidents import access
from incidents.bounds import EARLIEST_MOMENT
from incidents.extensions import db
from incidents.models import (
    AlarmEvent,
    AuditAction,
    Channel,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    IncidentType,
    IncidentTypeRow,
    Notification,
    PerpetratorKnown,
    PersonRole,
    Team,
    User,
    utcnow,
)
from incidents.services import aftercare, numbers
from incidents.services import evidence as evidence_store
from incidents.services.base import (
    InvalidInput,
    ServiceError,
    apply_changes,
    audit,
    lock,
    transaction,
)
from incidents.services.evidence import Upload
from incidents.services.locations import location_id_for

# Facts the form records, in the order the history names them.
REPORT_FIELDS = (
    "occurred_at",
    "channel",
    "location",
    "description",
    "weapon",
    "threat_home",
    "injury",
    "absence",
    "hospital",
    "outside_witnesses",
    "perpetrator_known",
    "perpetrator_name",
    "perpetrator_reference",
    "police_called",
    "police_report_wanted",
    "damage",
)
# Allow a little clock difference between the phone and the server.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class ReportData:
    """What a reporter filled in. Empty values are allowed while the report is a draft."""

    occurred_at: datetime | None = None
    channel: Channel | None = None
    types: list[IncidentType] = field(default_factory=list)
    location: str = ""
    description: str = ""
    weapon: bool = False
    threat_home: bool = False
    injury: bool = False
    absence: bool = False
    hospital: bool = False
    affected_ids: list[int] = field(default_factory=list)
    witness_ids: list[int] = field(default_factory=list)
    outside_witnesses: str = ""
    perpetrator_known: PerpetratorKnown = PerpetratorKnown.UNKNOWN
    perpetrator_name: str = ""
    perpetrator_reference: str = ""
    police_called: bool = False
    police_report_wanted: bool = False
    damage: bool = False


def _named_accounts(data: ReportData) -> dict[int, User]:
    """The active accounts the report names as affected or witness, by id, with their teams
    and those teams' managers: the checks need them, and then the protocol (who runs each
    one's aftercare) finds them loaded. The caller keeps the dictionary: the session holds
    what it loaded only while someone refers to it."""
    wanted = set(data.affected_ids) | set(data.witness_ids)
    if not wanted or len(wanted) > current_app.config["MAX_COLLEAGUES_PER_REPORT"]:
        return {}  # too many is refused (`_report_errors`) before any list reaches the database
    return {
        user.id: user
        for user in db.session.scalars(
            select(User)
            .where(User.id.in_(wanted), User.active)
            .options(joinedload(User.team).joinedload(Team.manager))
        )
    }


def _report_errors(
    reporter: User,
    data: ReportData,
    named: dict[int, User],
    complete: bool,
    quick: bool = False,
) -> dict[str, str]:
    """The rules a report must keep; `complete`: also the fields required to submit
    (a quick log needs no description)."""
    errors: dict[str, str] = {}
    limit = current_app.config["MAX_COLLEAGUES_PER_REPORT"]
    if len(set(data.affected_ids) | set(data.witness_ids)) > limit:
        # Checked before anything else: a list of thousands of ids never reaches the database.
        message = ngettext(
            "Choose at most %(num)s colleague in one report.",
            "Choose at most %(num)s colleagues in one report.",
            limit,
        )
        return {"witnesses" if data.witness_ids else "affected": message}
    if data.occurred_at is not None and data.occurred_at > utcnow() + FUTURE_TOLERANCE:
        errors["occurred_at"] = _("The date and time cannot be in the future.")
    elif data.occurred_at is not None and data.occurred_at < EARLIEST_MOMENT:
        errors["occurred_at"] = _("Enter a date from 1 January 1990 on.")
    if complete:
        if data.occurred_at is None:
            errors["occurred_at"] = _("Enter when it happened.")
        if data.channel is None:
            errors["channel"] = _("Choose where or how it happened.")
        if not data.types:
            errors["types"] = _("Choose at least one type.")
        if not data.description.strip() and not quick:
            errors["description"] = _("Describe briefly what happened.")
        if not data.affected_ids:
            errors["affected"] = _("Say who was affected: you, or one or more colleagues.")
    if reporter.id in data.witness_ids:
        errors["witnesses"] = _("You cannot be your own witness.")
    elif set(data.witness_ids) & set(data.affected_ids):
        errors["witnesses"] = _("Someone cannot be both affected and a witness.")
    if data.affected_ids or data.witness_ids:
        active = set(named)
        if set(data.affected_ids) - active:
            errors["affected"] = _("Choose colleagues from the list of active accounts.")
        if set(data.witness_ids) - active:
            errors["witnesses"] = _("Choose colleagues from the list of active accounts.")
    if data.perpetrator_known == PerpetratorKnown.UNKNOWN and (
        data.perpetrator_name.strip() or data.perpetrator_reference.strip()
    ):
        errors["perpetrator_known"] = _("You entered a name or reference: choose 'known'.")
    return errors


def _apply_report(incident: Incident, data: ReportData, named: dict[int, User]) -> list[str]:
    """Write `data` onto `incident`; returns the names of what changed. `named`: the
    accounts of `_named_accounts`."""
    values = {name: getattr(data, name) for name in REPORT_FIELDS}
    for name in (
        "location",
        "description",
        "outside_witnesses",
        "perpetrator_name",
        "perpetrator_reference",
    ):
        values[name] = values[name].strip()
    if values["perpetrator_known"] == PerpetratorKnown.UNKNOWN:
        values["perpetrator_name"] = values["perpetrator_reference"] = ""
    changed = apply_changes(incident, values)
    if "location" in changed:
        incident.location_id = location_id_for(incident.location)
    wanted_types = sorted(set(data.types))
    if incident.types != wanted_types:
        incident.type_rows = [IncidentTypeRow(type=t) for t in wanted_types]
        changed.append("types")
    for role, ids, name in (
        (PersonRole.AFFECTED, data.affected_ids, "affected"),
        (PersonRole.WITNESS, data.witness_ids, "witnesses"),
    ):
        current = {p.user_id: p for p in incident.people if p.role == role}
        if set(current) != set(ids):
            removed = [person for user_id, person in current.items() if user_id not in ids]
            for person in removed:
                incident.people.remove(person)
            if removed:
                db.session.flush()  # removals first: a person may move to the other role
            incident.people.extend(
                IncidentPerson(user=named[i], role=role) for i in ids if i not in current
            )
            changed.append(name)
    return changed


def _record(incident: Incident, actor: User, action: str, fields: list[str]) -> None:
    incident.version = (incident.version or 1) + 1
    incident.changes.append(
        IncidentChange(actor_id=actor.id, action=action, fields=fields, version=incident.version)
    )
    incident.updated_at = utcnow()


@dataclass(frozen=True)
class SavedMeanwhile:
    """A save the form did not know of: who, when, which fields."""

    name: str
    at: datetime
    fields: list[str]


class StaleEdit(ServiceError):
    """The form was made from an older version of the report: someone saved in between.
    `changes` are the saves the form did not know of, oldest first."""

    def __init__(self, changes: list[IncidentChange]) -> None:
        super().__init__(
            _(
                "Someone else changed this report while you were editing it. Nothing of yours "
                "was saved: the form now shows the report as it is. Make your changes again."
            )
        )
        self.changes = [
            SavedMeanwhile(c.actor.name if c.actor else "", c.at, list(c.fields)) for c in changes
        ]


def _locked_current(incident: Incident, version: int | None) -> Incident:
    """Lock the incident, read it afresh, and refuse a form made from an older version
    (None: no form version to check, for a double submit of the new-report form)."""
    incident = lock(incident.id)
    if incident.anonymised_at is not None:
        raise ServiceError(_("This incident was anonymised; it can no longer be changed."))
    if version is not None and version != incident.version:
        newer = [c for c in incident.changes if c.version is None or c.version > version]
        raise StaleEdit(newer)
    return incident


def _submit(incident: Incident) -> None:
    """A draft becomes a reported incident; `_number` gives it its number."""
    incident.status = IncidentStatus.SUBMITTED
    incident.submitted_at = utcnow()


def _number(incident: Incident) -> None:
    """A submitted incident's number, the last change of its transaction (`numbers.assign`:
    taken first, reports sent at the same moment waited for each other's whole transaction)."""
    if incident.submitted_at is not None:
        numbers.assign(incident, incident.submitted_at)


def incident_by_token(token: str) -> Incident | None:
    return db.session.scalar(select(Incident).where(Incident.submission_token == token))


def save_report(
    reporter: User,
    token: str,
    data: ReportData,
    *,
    submit: bool,
    quick: bool = False,
    evidence: Sequence[Upload] = (),
) -> Incident:
    """Create or complete a report; `submit` turns a draft into a reported incident.

    The token comes from the form: a double submit (double click, back and resubmit) finds the
    incident the first submit made and changes nothing once it has been submitted. `evidence`:
    files sent with a new report, checked (`evidence.check`) and stored in its transaction, all
    or nothing; a report that existed already gets none (they were sent with it the first time).
    """
    existing = incident_by_token(token)
    if existing is not None:
        if existing.reporter_id != reporter.id:
            raise ServiceError(_("This form was already used. Start a new report."))
        if not existing.is_draft:
            return existing
        return complete_draft(reporter, existing, data, submit=submit, version=None)
    named = _named_accounts(data)
    errors = _report_errors(reporter, data, named, complete=submit, quick=quick)
    if errors:
        raise InvalidInput(errors)
    prepared = evidence_store.check(evidence)
    try:
        with evidence_store.stored(prepared) as files, transaction():
            # A new incident has no steps and is not closed: said here, the protocol's check
            # for steps it has already costs no query, and closing it no UPDATE.
            incident = Incident(
                submission_token=token,
                reporter_id=reporter.id,
                quick=quick,
                steps=[],
                closed_at=None,
            )
            # Everything the row holds is set before it is added, so it is written with one
            # INSERT (its version and level), not inserted and then updated; only its number
            # comes last (`_number`).
            fields = _apply_report(incident, data, named)
            assessed = None
            if submit:
                _submit(incident)
                assessed = aftercare.set_level(incident, reporter)
            _record(incident, reporter, "submitted" if submit else "draft", fields)
            db.session.add(incident)
            db.session.flush()
            evidence_store.attach(reporter, incident, files)
            if assessed is not None:
                aftercare.apply_protocol(incident, reporter, assessed=assessed)
            audit(
                reporter,
                AuditAction.INCIDENT_SUBMIT if submit else AuditAction.INCIDENT_DRAFT,
                incident,
            )
            _number(incident)
    except IntegrityError:
        # A concurrent submit with the same token won the race: that incident is the one.
        winner = incident_by_token(token)
        if winner is None or winner.reporter_id != reporter.id:
            raise
        return winner
    return incident


def complete_draft(
    reporter: User, incident: Incident, data: ReportData, *, submit: bool, version: int | None
) -> Incident:
    """Save a draft again, and submit it when asked. `version`: the one the form was made
    from (see `amend_report`)."""
    named = _named_accounts(data)
    errors = _report_errors(reporter, data, named, complete=submit)
    if errors:
        raise InvalidInput(errors)
    with transaction():
        incident = _locked_current(incident, version)
        if not incident.is_draft:
            if version is None:
                return incident  # the double submit of a draft that went in meanwhile
            raise StaleEdit([c for c in incident.changes if (c.version or 0) > version])
        fields = _apply_report(incident, data, named)
        if submit:
            _submit(incident)
        _record(incident, reporter, "submitted" if submit else "draft", fields)
        if submit:
            db.session.flush()
            aftercare.apply_protocol(incident, reporter)
        audit(
            reporter,
            AuditAction.INCIDENT_SUBMIT if submit else AuditAction.INCIDENT_DRAFT,
            incident,
        )
        _number(incident)
    return incident


def amend_report(actor: User, incident: Incident, data: ReportData, version: int) -> list[str]:
    """After submission: the reporter or an affected employee adds or corrects information.

    Required fields stay required; every change is kept in the history (who, when, which
    fields). `version` is the version the form was made from: when someone saved the report
    in between, nothing is changed and `StaleEdit` says what they changed.
    """
    named = _named_accounts(data)
    errors = _report_errors(incident.reporter, data, named, complete=True)
    if errors:
        raise InvalidInput(errors)
    with transaction():
        incident = _locked_current(incident, version)
        fields = _apply_report(incident, data, named)
        if fields:
            _record(incident, actor, "updated", fields)
            db.session.flush()
            aftercare.apply_protocol(incident, actor)
            audit(actor, AuditAction.INCIDENT_UPDATE, incident, fields=fields)
    return fields


def quick_log(
    reporter: User,
    token: str,
    incident_type: IncidentType,
    channel: Channel,
    note: str,
    *,
    location: str = "",
    occurred_at: datetime | None = None,
) -> Incident:
    """Log everyday verbal aggression or intimidation in a few taps: it happened to me, at
    `occurred_at` (None: now, the moment it is saved), at `location` (free text, as in the
    full report; a location's poster fills in its name)."""
    data = ReportData(
        occurred_at=utcnow() if occurred_at is None else occurred_at,
        channel=channel,
        types=[incident_type],
        location=location,
        description=note,
        affected_ids=[reporter.id],
    )
    return save_report(reporter, token, data, submit=True, quick=True)


def discard_draft(reporter: User, incident: Incident) -> None:
    """Throw away an unfinished report. Submitted incidents are never deleted."""
    with transaction():
        incident = lock(incident.id)
        if not access.can_discard(reporter, incident):
            mine = incident.is_draft and incident.reporter_id == reporter.id
            raise ServiceError(
                _("Your manager has started the aftercare of this alarm: complete the report.")
                if mine
                else _("Only your own drafts can be discarded.")
            )
        audit(reporter, AuditAction.INCIDENT_DISCARD, incident)
        # The alarm that made the draft stays (it still counts, and a resent event must not
        # make a new draft); it only loses its draft.
        db.session.execute(
            update(AlarmEvent).where(AlarmEvent.incident_id == incident.id).values(incident_id=None)
        )
        # Mails about the draft (the alarm's, a reminder) stay in the outbox, without the link
        # to a draft that is gone (they then link to the home page).
        db.session.execute(
            update(Notification)
            .where(Notification.incident_id == incident.id)
            .values(incident_id=None)
        )
        step_ids = [s.id for s in incident.steps]  # an alarm's contact step, still open
        if step_ids:
            db.session.execute(
                update(Notification).where(Notification.step_id.in_(step_ids)).values(step_id=None)
            )
        db.session.delete(incident)
