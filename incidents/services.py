"""The only code that changes data. Each public function is one transaction and writes its
audit event in it: it commits on success and rolls back on any error.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.models import (
    AuditEvent,
    Channel,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    IncidentType,
    IncidentTypeRow,
    PerpetratorKnown,
    PersonRole,
    Role,
    Team,
    User,
    utcnow,
)
from incidents.security import hash_password


class ServiceError(ValueError):
    """A request that breaks a rule; `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: dict[str, str] = {field or "": message}


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block did, or roll all of it back."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def audit(actor: User | None, action: str, obj: Any | None = None, **details: Any) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        details=details,
    )
    db.session.add(event)
    return event


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def user_by_email(email: str) -> User | None:
    """The user with this e-mail address, active or not."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _check_email_free(email: str, user: User | None = None) -> None:
    query = select(func.count()).select_from(User).where(User.email == email)
    if user is not None:
        query = query.where(User.id != user.id)
    if db.session.scalar(query):
        raise ServiceError(_("Another account already uses this e-mail address."), "email")


def _changed(obj: Any, values: dict[str, Any]) -> list[str]:
    """Apply `values` to `obj`; return the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def create_user(
    actor: User | None,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    team: Team | None = None,
    locale: str | None = None,
) -> User:
    """Create an account."""
    with transaction():
        email = normalise_email(email)
        _check_email_free(email)
        user = User(
            email=email,
            name=name.strip(),
            password_hash=hash_password(password),
            role=role,
            team=team,
            locale=locale,
        )
        db.session.add(user)
        db.session.flush()
        audit(actor, "user.create", user, role=role.value)
    return user


def update_user(
    actor: User,
    user: User,
    *,
    email: str,
    name: str,
    role: Role,
    team: Team | None,
    password: str | None = None,
) -> list[str]:
    """Change a user's details and optionally the password; returns the fields that changed."""
    with transaction():
        email = normalise_email(email)
        _check_email_free(email, user)
        changed = _changed(
            user,
            {
                "email": email,
                "name": name.strip(),
                "role": role,
                "team_id": team.id if team else None,
            },
        )
        if password:
            _replace_password(user, password)
            changed.append("password")
        if changed:
            audit(actor, "user.update", user, fields=changed)
    return changed


def _replace_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_token = secrets.token_urlsafe(32)


def set_password(actor: User, user: User, password: str) -> None:
    """Set a new password and end every session of that user."""
    with transaction():
        _replace_password(user, password)
        audit(actor, "user.password", user)


def rehash_password(user: User, password: str) -> None:
    """Store a fresh hash after login when the hashing parameters changed (sessions stay)."""
    with transaction():
        user.password_hash = hash_password(password)


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (ending every session) or reactivate an account."""
    if user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    with transaction():
        user.active = active
        if not active:
            user.session_token = secrets.token_urlsafe(32)
        audit(actor, "user.activate" if active else "user.deactivate", user)


def set_locale(user: User, locale: str) -> None:
    """Remember the user's language."""
    with transaction():
        user.locale = locale


def _check_team_people(
    parent: Team | None, team: Team | None, manager: User | None, deputy: User | None
) -> None:
    if (
        team is not None
        and parent is not None
        and (parent.id == team.id or team in parent.ancestors())
    ):
        raise ServiceError(_("A team cannot be placed under itself."), "parent")
    for name, person in (("manager", manager), ("deputy", deputy)):
        if person is not None and (not person.active or person.role != Role.MANAGER):
            raise ServiceError(_("Choose an active user with the manager role."), name)
    if manager is not None and deputy is not None and manager.id == deputy.id:
        raise ServiceError(_("The deputy must be someone other than the manager."), "deputy")


def create_team(
    actor: User | None,
    *,
    name_nl: str,
    name_en: str,
    parent: Team | None = None,
    manager: User | None = None,
    deputy: User | None = None,
) -> Team:
    """Create a team or department."""
    with transaction():
        _check_team_people(parent, None, manager, deputy)
        team = Team(
            name_nl=name_nl.strip(),
            name_en=name_en.strip(),
            parent=parent,
            manager=manager,
            deputy=deputy,
        )
        db.session.add(team)
        db.session.flush()
        audit(actor, "team.create", team)
    return team


def update_team(
    actor: User | None,
    team: Team,
    *,
    name_nl: str,
    name_en: str,
    parent: Team | None,
    manager: User | None,
    deputy: User | None,
) -> list[str]:
    """Change a team's names, place and managers; returns the fields that changed."""
    with transaction():
        _check_team_people(parent, team, manager, deputy)
        changed = _changed(
            team,
            {
                "name_nl": name_nl.strip(),
                "name_en": name_en.strip(),
                "parent_id": parent.id if parent else None,
                "manager_id": manager.id if manager else None,
                "deputy_id": deputy.id if deputy else None,
            },
        )
        if changed:
            audit(actor, "team.update", team, fields=changed)
    return changed


def set_team_active(actor: User, team: Team, active: bool) -> None:
    """Deactivate a team (refused while it still has active members or sub-teams) or reactivate it."""
    with transaction():
        if not active:
            if any(member.active for member in team.members):
                raise ServiceError(_("Move the active members to another team first."))
            if any(child.active for child in team.children):
                raise ServiceError(_("Deactivate or move its sub-teams first."))
        team.active = active
        audit(actor, "team.activate" if active else "team.deactivate", team)


# --- Incident reporting ---------------------------------------------------------------------

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


class InvalidReport(ServiceError):
    """A report that breaks one or more rules; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())), next(iter(errors)))
        self.errors = dict(errors)


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


def _report_errors(
    reporter: User, data: ReportData, complete: bool, quick: bool = False
) -> dict[str, str]:
    """The rules a report must keep; `complete`: also the fields required to submit
    (a quick log needs no description)."""
    errors: dict[str, str] = {}
    if data.occurred_at is not None and data.occurred_at > utcnow() + FUTURE_TOLERANCE:
        errors["occurred_at"] = _("The date and time cannot be in the future.")
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
    wanted = set(data.affected_ids) | set(data.witness_ids)
    if wanted:
        active = set(db.session.scalars(select(User.id).where(User.id.in_(wanted), User.active)))
        if set(data.affected_ids) - active:
            errors["affected"] = _("Choose colleagues from the list of active accounts.")
        if set(data.witness_ids) - active:
            errors["witnesses"] = _("Choose colleagues from the list of active accounts.")
    if data.perpetrator_known == PerpetratorKnown.UNKNOWN and (
        data.perpetrator_name.strip() or data.perpetrator_reference.strip()
    ):
        errors["perpetrator_known"] = _("You entered a name or reference: choose 'known'.")
    return errors


def _apply_report(incident: Incident, data: ReportData) -> list[str]:
    """Write `data` onto `incident`; returns the names of what changed."""
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
    changed = _changed(incident, values)
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
            for user_id, person in current.items():
                if user_id not in ids:
                    incident.people.remove(person)
            db.session.flush()  # removals first: a person may move from one role to the other
            incident.people.extend(
                IncidentPerson(user_id=i, role=role) for i in ids if i not in current
            )
            changed.append(name)
    return changed


def _record(incident: Incident, actor: User, action: str, fields: list[str]) -> None:
    incident.changes.append(IncidentChange(actor_id=actor.id, action=action, fields=fields))
    incident.updated_at = utcnow()


def incident_by_token(token: str) -> Incident | None:
    return db.session.scalar(select(Incident).where(Incident.submission_token == token))


def save_report(
    reporter: User, token: str, data: ReportData, *, submit: bool, quick: bool = False
) -> Incident:
    """Create or complete a report; `submit` turns a draft into a reported incident.

    The token comes from the form: a double submit (double click, back and resubmit) finds the
    incident the first submit made and changes nothing once it has been submitted.
    """
    existing = incident_by_token(token)
    if existing is not None:
        if existing.reporter_id != reporter.id:
            raise ServiceError(_("This form was already used. Start a new report."))
        if not existing.is_draft:
            return existing
        return complete_draft(reporter, existing, data, submit=submit)
    errors = _report_errors(reporter, data, complete=submit, quick=quick)
    if errors:
        raise InvalidReport(errors)
    try:
        with transaction():
            incident = Incident(submission_token=token, reporter_id=reporter.id, quick=quick)
            db.session.add(incident)
            fields = _apply_report(incident, data)
            if submit:
                incident.status = IncidentStatus.SUBMITTED
                incident.submitted_at = utcnow()
            _record(incident, reporter, "submitted" if submit else "draft", fields)
            db.session.flush()
            audit(reporter, "incident.submit" if submit else "incident.draft", incident)
    except IntegrityError:
        # A concurrent submit with the same token won the race: that incident is the one.
        winner = incident_by_token(token)
        if winner is None or winner.reporter_id != reporter.id:
            raise
        return winner
    return incident


def complete_draft(
    reporter: User, incident: Incident, data: ReportData, *, submit: bool
) -> Incident:
    """Save a draft again, and submit it when asked."""
    errors = _report_errors(reporter, data, complete=submit)
    if errors:
        raise InvalidReport(errors)
    with transaction():
        fields = _apply_report(incident, data)
        if submit:
            incident.status = IncidentStatus.SUBMITTED
            incident.submitted_at = utcnow()
        _record(incident, reporter, "submitted" if submit else "draft", fields)
        audit(reporter, "incident.submit" if submit else "incident.draft", incident)
    return incident


def amend_report(actor: User, incident: Incident, data: ReportData) -> list[str]:
    """After submission: the reporter or an affected employee adds or corrects information.

    Required fields stay required; every change is kept in the history (who, when, which fields).
    """
    errors = _report_errors(incident.reporter, data, complete=True)
    if errors:
        raise InvalidReport(errors)
    with transaction():
        fields = _apply_report(incident, data)
        if fields:
            _record(incident, actor, "updated", fields)
            audit(actor, "incident.update", incident, fields=fields)
    return fields


def quick_log(
    reporter: User, token: str, incident_type: IncidentType, channel: Channel, note: str
) -> Incident:
    """Log everyday verbal aggression or intimidation in a few taps: it happened now, to me."""
    data = ReportData(
        occurred_at=utcnow(),
        channel=channel,
        types=[incident_type],
        description=note,
        affected_ids=[reporter.id],
    )
    return save_report(reporter, token, data, submit=True, quick=True)


def discard_draft(reporter: User, incident: Incident) -> None:
    """Throw away an unfinished report. Submitted incidents are never deleted."""
    if not incident.is_draft or incident.reporter_id != reporter.id:
        raise ServiceError(_("Only your own drafts can be discarded."))
    with transaction():
        audit(reporter, "incident.discard", incident)
        db.session.delete(incident)
