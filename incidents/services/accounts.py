"""Accounts and teams."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from incidents import notify
from incidents.extensions import db
from incidents.models import (
    AccountSource,
    AftercareStep,
    AuditAction,
    AuditEvent,
    Role,
    StepStatus,
    Team,
    User,
)
from incidents.passwords import hash_password
from incidents.services import ownership, sessions
from incidents.services.base import ServiceError, apply_changes, audit, lock_all, transaction

# The default of an optional argument that means "leave this field as it is" (None clears it).
KEEP: Any = object()

# Permissions an administrator gives on the account form, and nobody else: the directory
# (SCIM) and the HR import leave them as they are.
_FLAGS = ("front_office", "security_officer", "works_council")


def _given(**values: Any) -> dict[str, Any]:
    """The values that were given, leaving out those that are KEEP."""
    return {name: value for name, value in values.items() if value is not KEEP}


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


def create_user(
    actor: User | None,
    *,
    email: str,
    name: str,
    password: str | None,
    role: Role,
    team: Team | None = None,
    locale: str | None = None,
    source: AccountSource = AccountSource.ADMIN,
    external_id: str | None = None,
    employee_number: str | None = None,
    front_office: bool = False,
    security_officer: bool = False,
    works_council: bool = False,
) -> User:
    """Create an account. Without a password (an admin creating it) the person gets a mail
    with a link to set their own: nobody else ever knows it. An account from the directory,
    the HR import or a first single sign-on (`source`) gets no link: it signs in through the
    organisation's provider (its password is a random one nobody knows). The front-office
    and security-officer flags are the admin's to give (never the directory's or the HR
    import's)."""
    with transaction():
        email = normalise_email(email)
        _check_email_free(email)
        user = User(
            email=email,
            name=name.strip(),
            password_hash=hash_password(password or secrets.token_urlsafe(32)),
            role=role,
            team=team,
            locale=locale,
            source=source,
            external_id=external_id,
            employee_number=employee_number,
            front_office=front_office,
            security_officer=security_officer,
            works_council=works_council,
        )
        db.session.add(user)
        db.session.flush()
        flags = {name: True for name in _FLAGS if getattr(user, name)}
        event = audit(
            actor, AuditAction.USER_CREATE, user, role=role.value, source=source.value, **flags
        )
        if password is None and source is AccountSource.ADMIN:
            from incidents.services import password_reset

            password_reset.issue(actor, user, welcome=True)
        _tell(event, None, team)
    return user


def _tell(event: AuditEvent, person: User | None, *teams: Team | None) -> None:
    """Mail the person a change concerns, and the managers of these teams (one mail each,
    whatever the number of teams they manage). Changes an administrator made, that is: not
    those of the command line or the demo data."""
    if event.actor_id is None:
        return
    db.session.flush()
    if person is not None:
        notify.queue("account_changed", person, str(event.id))
    for team in teams:
        manager = team.manager if team is not None else None
        if manager is not None and (person is None or manager.id != person.id):
            notify.queue("team_changed", manager, str(event.id))


def update_user(
    actor: User | None,
    user: User,
    *,
    email: str,
    name: str,
    role: Role,
    team: Team | None,
    external_id: str | None = KEEP,
    employee_number: str | None = KEEP,
    front_office: bool = KEEP,
    security_officer: bool = KEEP,
    works_council: bool = KEEP,
) -> list[str]:
    """Change a user's details; returns the fields that changed. An admin never sets an
    existing user's password (see `password_reset`), nor changes their own role. A change of
    role or team is told to the person and to the managers of the old and the new team. The
    directory's id and the employee number stay as they are unless given (SCIM, the import),
    and so do the front-office and security-officer flags (only the admin's form gives them,
    and never to the admin's own account)."""
    if actor is not None and actor.id == user.id and role != user.role:
        raise ServiceError(_("Another administrator must change your own role."), "role")
    flags = _given(
        front_office=front_office, security_officer=security_officer, works_council=works_council
    )
    for flag, value in flags.items():
        # Separation of duties: an admin who gave themselves a permission would read the
        # register (security officer) or look citizens up (front office).
        if actor is not None and actor.id == user.id and value != getattr(user, flag):
            raise ServiceError(
                _("Another administrator must change this permission on your own account."), flag
            )
    with transaction():
        lock_all(ownership.open_steps_of(user))  # a mover's steps follow them
        email = normalise_email(email)
        _check_email_free(email, user)
        old_team = user.team
        changed = apply_changes(
            user,
            {
                "email": email,
                "name": name.strip(),
                "role": role,
                "team_id": team.id if team else None,
            }
            | _given(external_id=external_id, employee_number=employee_number)
            | flags,
        )
        if changed:
            event = audit(actor, AuditAction.USER_UPDATE, user, fields=changed)
            if {"role", "team_id"} & set(changed):
                db.session.flush()
                db.session.refresh(user)
                _tell(event, user, old_team, user.team)
            if "team_id" in changed:
                ownership.follow_mover(actor, user)
            if "role" in changed and not user.is_active_manager:
                ownership.hand_over_steps_of(actor, user)
    return changed


def _replace_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    sessions.end_all(user)  # in this transaction: a copied cookie stops working with it


def set_password(actor: User, user: User, password: str) -> None:
    """Set a new password and end every session of that user (the user changing their own
    then begins a fresh one)."""
    with transaction():
        _replace_password(user, password)
        audit(actor, AuditAction.USER_PASSWORD, user)


def rehash_password(user: User, password: str) -> None:
    """Store a fresh hash after login when the hashing parameters changed (sessions stay)."""
    with transaction():
        user.password_hash = hash_password(password)


def set_active(actor: User | None, user: User, active: bool) -> None:
    """Deactivate (ending every session) or reactivate an account. `actor` None: the
    directory or the HR import. A leaver's open steps go to another owner at once."""
    if actor is not None and user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    with transaction():
        lock_all(ownership.open_steps_of(user))
        user.active = active
        if active:
            audit(actor, AuditAction.USER_ACTIVATE, user)
            return
        sessions.end_all(user)
        db.session.flush()
        moved = ownership.hand_over_steps_of(actor, user)
        audit(actor, AuditAction.USER_DEACTIVATE, user, steps_handed_over=moved)


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
        if person is not None and not person.is_active_manager:
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
    external_id: str | None = None,
) -> Team:
    """Create a team or department (`external_id`: the directory's group or the HR code)."""
    _check_not_oneself(actor, None, manager, deputy)
    with transaction():
        _check_team_people(parent, None, manager, deputy)
        team = Team(
            name_nl=name_nl.strip(),
            name_en=name_en.strip(),
            parent=parent,
            manager=manager,
            deputy=deputy,
            external_id=external_id,
        )
        db.session.add(team)
        db.session.flush()
        audit(actor, AuditAction.TEAM_CREATE, team)
        _tell_team_roles(actor, team, {"manager": None, "deputy": None})
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
    external_id: str | None = KEEP,
) -> list[str]:
    """Change a team's names, place and managers; returns the fields that changed. A new or
    former manager or deputy is told, and so is the team's manager. The directory's id stays
    as it is unless given."""
    _check_not_oneself(actor, team, manager, deputy)
    with transaction():
        lock_all(_open_steps_of_team(team))  # a former manager's steps go to the new one
        _check_team_people(parent, team, manager, deputy)
        before = {"manager": team.manager, "deputy": team.deputy}
        changed = apply_changes(
            team,
            {
                "name_nl": name_nl.strip(),
                "name_en": name_en.strip(),
                "parent_id": parent.id if parent else None,
                "manager_id": manager.id if manager else None,
                "deputy_id": deputy.id if deputy else None,
            }
            | _given(external_id=external_id),
        )
        if changed:
            audit(actor, AuditAction.TEAM_UPDATE, team, fields=changed)
            db.session.flush()
            db.session.refresh(team)
            _tell_team_roles(actor, team, before)
            for former in before.values():
                if former is not None and former.id not in (team.manager_id, team.deputy_id):
                    ownership.hand_over_steps_of(actor, former, team)
    return changed


def _open_steps_of_team(team: Team) -> list[int]:
    """The incidents with open steps of `team`, to lock before its managers change."""
    return list(
        db.session.scalars(
            select(AftercareStep.incident_id)
            .where(AftercareStep.status == StepStatus.OPEN, AftercareStep.team_id == team.id)
            .distinct()
        )
    )


def _check_not_oneself(
    actor: User | None, team: Team | None, manager: User | None, deputy: User | None
) -> None:
    """Separation of duties: an admin who became a team's manager or deputy would read its
    incidents. Making oneself either takes a second admin."""
    if actor is None:
        return
    current = {
        "manager": team.manager_id if team else None,
        "deputy": team.deputy_id if team else None,
    }
    for name, person in (("manager", manager), ("deputy", deputy)):
        if person is not None and person.id == actor.id and current[name] != actor.id:
            raise ServiceError(
                _("Another administrator must make you manager or deputy of a team."), name
            )


def _tell_team_roles(actor: User | None, team: Team, before: dict[str, User | None]) -> None:
    """For each person who became or stopped being the team's manager or deputy: an event on
    their account (shown on their data page) and a mail to them and the team's manager."""
    for name in ("manager", "deputy"):
        old, new = before[name], getattr(team, name)
        if (old.id if old else None) == (new.id if new else None):
            continue
        for person, change in ((old, "removed"), (new, "added")):
            if person is None:
                continue
            event = audit(
                actor, AuditAction.USER_TEAM_ROLE, person, team=team.id, role=name, change=change
            )
            _tell(event, person, team)


def set_team_active(actor: User | None, team: Team, active: bool) -> None:
    """Deactivate a team (refused while it still has active members or sub-teams) or reactivate it."""
    with transaction():
        if not active:
            if any(member.active for member in team.members):
                raise ServiceError(_("Move the active members to another team first."))
            if any(child.active for child in team.children):
                raise ServiceError(_("Deactivate or move its sub-teams first."))
        team.active = active
        audit(actor, AuditAction.TEAM_ACTIVATE if active else AuditAction.TEAM_DEACTIVATE, team)
