"""Accounts and teams."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select

from incidents.extensions import db
from incidents.models import Role, Team, User
from incidents.security import hash_password
from incidents.services.base import ServiceError, apply_changes, audit, transaction


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
        changed = apply_changes(
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
        changed = apply_changes(
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
