"""The right of access (GDPR art. 15): everything the app holds about one user.

`collect(user)` gathers it as plain, JSON-serialisable data (moments as ISO 8601 in UTC).
It only reads: the caller records that the export was made through
`incidents.services.audit_log.record_export`.

What is in it, and what is deliberately left out because it is about another person:

- the account: name, e-mail, role, team, language, created, active. Never the password
  hash, the session token or the calendar token (only whether a calendar feed exists).
- the incidents that concern the user. As reporter or affected employee: the incident's own
  fields and the user's part in it; the other people only as counts ("affected colleagues: 1",
  "witnesses: 1"), the reporter as "you" or "a colleague", never by name. Perpetrator data and
  the names of outside witnesses are held but not included (`NOT_INCLUDED`). As a colleague
  witness only the witness view: when, channel, types and the user's part. Drafts are the
  reporter's alone, as in `incidents.access`.
- the user's own aftercare steps (their own track), with the notes. The owner's name is
  included: it is the user's own manager (or deputy) running their aftercare, whom they
  already see on their steps page and need to know. Steps about the incident as a whole
  (police report, response to the perpetrator) are not about the user and are left out.
  A corrected step has its corrections: when, who (as a role, or "you"), the reason, and the
  earlier values of what is about the user (outcomes, date, reason, note).
- the files (evidence) on the incidents the user sees in full, as reporter or affected
  employee: name, size, type, SHA-256, when added and by whom (as the rest of the export
  names people), whether chosen for the police, and when and why a file was removed. Never the
  files of an incident the user only witnessed. `archive` adds the files themselves (those
  still held, as they are shown: photos without their metadata) to a ZIP with the export.
- the history entries the user made on those incidents (which fields, not values).
- the audit entries about those incidents, about the user's own aftercare steps and about
  their account: when, what, and who as a role ("manager", "employee", ...) or "you";
  never another person's name. The role is the actor's current role.
- the e-mails queued for the user: kind and dates.
- the user's sessions: when they began and were last seen, from which address and browser
  (never the session's secret).

The number of queries is constant: one per section, whatever the number of incidents.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import joinedload, selectinload

from incidents.extensions import db
from incidents.labels import SYSTEM, YOU
from incidents.models import (
    AftercareStep,
    Attachment,
    AuditEvent,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    Notification,
    PerpetratorKnown,
    PersonRole,
    StepCorrection,
    Team,
    User,
    UserSession,
    utcnow,
)
from incidents.services.evidence import store

# Written into the export where data is held but belongs to another person.
NOT_INCLUDED = "held, not included: it is about another person"
A_COLLEAGUE = "a colleague"
AGGRAVATING_FACTS = ("weapon", "threat_home", "injury", "absence", "hospital")


def iso(moment: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC (stored moments are aware and in UTC already)."""
    return moment.isoformat() if moment is not None else None


def _account(user: User, locale: str) -> dict[str, Any]:
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "team": user.team.name(locale) if user.team is not None else None,
        "locale": user.locale,
        "created_at": iso(user.created_at),
        "active": user.active,
        "absent": user.away,
        "absent_until": user.absent_until.isoformat() if user.away and user.absent_until else None,
        "calendar_feed": user.calendar_token is not None,
    }


def _incidents(user: User) -> list[Incident]:
    involved = exists().where(
        IncidentPerson.incident_id == Incident.id, IncidentPerson.user_id == user.id
    )
    query = (
        select(Incident)
        .where(
            or_(
                Incident.reporter_id == user.id,
                and_(Incident.status == IncidentStatus.SUBMITTED, involved),
            )
        )
        .options(selectinload(Incident.type_rows), selectinload(Incident.people))
        .order_by(Incident.occurred_at, Incident.id)
    )
    return list(db.session.scalars(query))


def _in_full(user: User, incident: Incident) -> bool:
    """The user sees this incident in full (reporter or affected), not as a witness."""
    return incident.reporter_id == user.id or any(
        p.user_id == user.id and p.role == PersonRole.AFFECTED for p in incident.people
    )


def _files(incident_ids: list[int]) -> dict[int, list[Attachment]]:
    """The attachments of these incidents by incident, in the order they were added."""
    if not incident_ids:
        return {}
    query = (
        select(Attachment)
        .where(Attachment.incident_id.in_(incident_ids))
        .options(joinedload(Attachment.added_by), joinedload(Attachment.removed_by))
        .order_by(Attachment.added_at, Attachment.id)
    )
    found: dict[int, list[Attachment]] = {}
    for attachment in db.session.scalars(query):
        found.setdefault(attachment.incident_id, []).append(attachment)
    return found


def _file(user: User, attachment: Attachment) -> dict[str, Any]:
    removed = not attachment.present
    return {
        "id": attachment.id,
        "name": attachment.filename,
        "size": attachment.size,
        "type": attachment.content_type,
        "sha256": attachment.sha256,
        "added_at": iso(attachment.added_at),
        "added_by": _who(user, attachment.added_by) if attachment.added_by_id else None,
        "for_police": attachment.for_police,
        "removed_at": iso(attachment.removed_at),
        "removed_by": _who(user, attachment.removed_by) if removed else None,
        "removed_reason": attachment.removed_reason if removed else None,
    }


def _incident(user: User, incident: Incident, files: list[Attachment]) -> dict[str, Any]:
    mine = sorted(p.role.value for p in incident.people if p.user_id == user.id)
    reporter = incident.reporter_id == user.id
    your_roles = (["reporter"] if reporter else []) + mine
    common = {
        "id": incident.id,
        "your_roles": your_roles,
        "occurred_at": iso(incident.occurred_at),
        "channel": incident.channel.value if incident.channel else None,
        "types": [t.value for t in incident.types],
    }
    if not _in_full(user, incident):
        return {**common, "view": "witness"}
    others = [p for p in incident.people if p.user_id != user.id]
    perpetrator_held = (
        bool(incident.perpetrator_name or incident.perpetrator_reference)
        or incident.perpetrator_known != PerpetratorKnown.UNKNOWN
    )
    return {
        **common,
        "view": "full",
        "status": incident.status.value,
        "quick": incident.quick,
        "reported_by": YOU if reporter else A_COLLEAGUE,
        "location": incident.location,
        "description": incident.description,
        "aggravating_facts": [f for f in AGGRAVATING_FACTS if getattr(incident, f)],
        "police_called": incident.police_called,
        "police_report_wanted": incident.police_report_wanted,
        "damage": incident.damage,
        "level": incident.level,
        "submitted_at": iso(incident.submitted_at),
        "aftercare_closed_at": iso(incident.closed_at),
        "other_affected_colleagues": sum(p.role == PersonRole.AFFECTED for p in others),
        "colleague_witnesses": sum(p.role == PersonRole.WITNESS for p in others),
        "outside_witnesses": NOT_INCLUDED if incident.outside_witnesses.strip() else None,
        "perpetrator": NOT_INCLUDED if perpetrator_held else None,
        "files": [_file(user, a) for a in files],
    }


def _steps(user: User) -> list[AftercareStep]:
    query = (
        select(AftercareStep)
        .where(AftercareStep.subject_user_id == user.id)
        .options(
            joinedload(AftercareStep.owner),
            joinedload(AftercareStep.done_by),
            selectinload(AftercareStep.corrections).joinedload(StepCorrection.actor),
        )
        .order_by(AftercareStep.due_at, AftercareStep.id)
    )
    return list(db.session.scalars(query))


def _who(user: User, actor: User | None) -> str:
    """The user themselves as "you", anyone else only by their role."""
    if actor is None:
        return SYSTEM
    return YOU if actor.id == user.id else actor.role.value


def _step_details(step: AftercareStep) -> dict[str, Any]:
    """What a completed step records beside its outcomes that is about the user (the
    reference, the end date of a measure and the police outcome are not)."""
    details = {
        "held_on": step.held_on.isoformat() if step.held_on else None,
        "reason": step.reason or None,
        "attempts": list(step.attempt_times) or None,
    }
    return {key: value for key, value in details.items() if value is not None}


def _step(user: User, step: AftercareStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "incident_id": step.incident_id,
        "step": step.definition_id,
        "kind": step.kind,
        "as": step.subject,
        "due_at": iso(step.due_at),
        "status": step.status.value,
        "outcomes": list(step.outcomes or []),
        "note": step.note,
        "details": _step_details(step),
        "not_required_reason": step.not_required_reason,
        "done_at": iso(step.done_at),
        "done_by": _who(user, step.done_by) if step.done_by_id else None,
        "owner": ({"name": step.owner.name, "role": step.owner.role.value} if step.owner else None),
        "corrections": [_correction(user, c) for c in step.corrections],
    }


# What a correction kept that is about the user (as `_step_details`: not the reference or
# the end date of a measure).
CORRECTED_ABOUT_YOU = ("outcomes", "held_on", "reason", "note")


def _correction(user: User, correction: StepCorrection) -> dict[str, Any]:
    return {
        "at": iso(correction.at),
        "by": _who(user, correction.actor),
        "reason": correction.reason,
        "previous": {
            name: value
            for name, value in correction.previous.items()
            if name in CORRECTED_ABOUT_YOU
        },
    }


def _history(user: User, incident_ids: list[int]) -> list[dict[str, Any]]:
    query = (
        select(IncidentChange)
        .where(IncidentChange.actor_id == user.id, IncidentChange.incident_id.in_(incident_ids))
        .order_by(IncidentChange.at, IncidentChange.id)
    )
    return [
        {
            "at": iso(c.at),
            "incident_id": c.incident_id,
            "action": c.action,
            "fields": list(c.fields or []),
        }
        for c in db.session.scalars(query)
    ]


ABOUT = {"incident": "incident", "aftercarestep": "aftercare_step", "user": "account"}


def _audit(user: User, incident_ids: list[int], step_ids: list[int]) -> list[dict[str, Any]]:
    about = or_(
        and_(AuditEvent.object_type == "user", AuditEvent.object_id == user.id),
        and_(AuditEvent.object_type == "incident", AuditEvent.object_id.in_(incident_ids))
        if incident_ids
        else false(),
        and_(AuditEvent.object_type == "aftercarestep", AuditEvent.object_id.in_(step_ids))
        if step_ids
        else false(),
    )
    query = (
        select(AuditEvent)
        .where(about)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    entries = []
    for event in db.session.scalars(query):
        who = _who(user, event.actor)
        entries.append(
            {
                "at": iso(event.at),
                "action": event.action,
                "about": ABOUT[event.object_type],
                "object_id": event.object_id,
                "by": who,
                # The address is personal data of whoever acted: only the user's own.
                "address": event.address if who == YOU else None,
                "change": _account_change(event),
            }
        )
    return entries


# What an admin changed on an account, as the person is shown it (separation of duties: every
# change of role, team, manager or deputy is told to them).
_ACCOUNT_DETAILS = ("fields", "role", "change", "welcome")


def _account_change(event: AuditEvent) -> dict[str, Any] | None:
    if event.object_type != "user" or not event.details:
        return None
    change = {k: event.details[k] for k in _ACCOUNT_DETAILS if k in event.details}
    team = db.session.get(Team, event.details["team"]) if "team" in event.details else None
    if team is not None:
        change["team"] = {"nl": team.name("nl"), "en": team.name("en")}
    return change or None


def _notifications(user: User) -> list[dict[str, Any]]:
    query = (
        select(Notification.kind, Notification.created_at, Notification.sent_at)
        .where(Notification.recipient_id == user.id)
        .order_by(Notification.created_at, Notification.id)
    )
    return [
        {"kind": kind, "created_at": iso(created), "sent_at": iso(sent)}
        for kind, created, sent in db.session.execute(query)
    ]


def collect(user: User, locale: str | None = None) -> dict[str, Any]:
    """Everything held about `user`, minus other people's personal data (see the module)."""
    return _collect(user, locale)[0]


def _collect(user: User, locale: str | None) -> tuple[dict[str, Any], list[Attachment]]:
    """The export, and the files it lists that are still held."""
    incidents = _incidents(user)
    steps = _steps(user)
    incident_ids = [i.id for i in incidents]
    files = _files([i.id for i in incidents if _in_full(user, i)])
    data = {
        "generated_at": iso(utcnow()),
        "account": _account(user, locale or user.locale or "nl"),
        "incidents": [_incident(user, i, files.get(i.id, [])) for i in incidents],
        "aftercare_steps": [_step(user, s) for s in steps],
        "history": _history(user, incident_ids),
        "audit": _audit(user, incident_ids, [s.id for s in steps]),
        "notifications": _notifications(user),
        "sessions": _sessions(user),
    }
    held = [a for listed in files.values() for a in listed if a.present]
    return data, held


def as_json(data: dict[str, Any]) -> str:
    """The export as the JSON download holds it."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)


def file_path(attachment: Attachment) -> str:
    """Where a file is in the ZIP: files/<attachment id>-<its name> (names are made safe
    when a file is added: no folders, no forbidden characters)."""
    return f"files/{attachment.id}-{attachment.filename.replace('/', '_')}"


def archive(user: User, locale: str | None = None) -> tuple[dict[str, Any], bytes]:
    """The export as a ZIP: `my-data.json` and the files still held, as `file_path` names
    them. A file the store cannot give raises `StorageError`: nothing half is handed out."""
    data, held = _collect(user, locale)
    storage = store()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive_:
        archive_.writestr("my-data.json", as_json(data))
        for attachment in held:
            archive_.writestr(file_path(attachment), storage.get(attachment.key))
    return data, buffer.getvalue()


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at)
    )
    return [
        {
            "created_at": iso(row.created_at),
            "last_seen_at": iso(row.last_seen_at),
            "address": row.address,
            "browser": row.user_agent,
        }
        for row in rows
    ]
