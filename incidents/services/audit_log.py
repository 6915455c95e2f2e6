"""The audit trail of logins, page views and access exports, and the privacy officer's search
through it.

Every entry says who, when, what object and from which address: never what was typed or
shown. Entries are only ever added; nothing in the app changes or removes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incidents.extensions import db
from incidents.models import AuditAction, AuditEvent, User
from incidents.services.base import audit, transaction

LOGIN = AuditAction.AUTH_LOGIN
LOGIN_FAILED = AuditAction.AUTH_LOGIN_FAILED
LOGOUT = AuditAction.AUTH_LOGOUT
ACCESS_EXPORT = AuditAction.PRIVACY_ACCESS_EXPORT

# An action choice ending in this matches every action under the prefix ("auth.*").
PREFIX_MARK = ".*"


def record_login(user: User) -> None:
    """A successful login."""
    with transaction():
        audit(user, LOGIN, user)


def record_failed_login(user: User | None) -> None:
    """A failed login: whether the account exists, never the address or password typed."""
    with transaction():
        audit(None, LOGIN_FAILED, user, account_exists=user is not None)


def record_logout(user: User) -> None:
    """A logout, by the user themselves."""
    with transaction():
        audit(user, LOGOUT, user)


def record_view(user: User, action: AuditAction, obj: Any, **details: Any) -> None:
    """Someone looked at a page with personal data: which object, never what it showed."""
    with transaction():
        audit(user, action, obj, **details)


def record_export(user: User, fmt: str) -> None:
    """Someone exported their own data (right of access): in which format, never what."""
    with transaction():
        audit(user, ACCESS_EXPORT, user, format=fmt)


@dataclass(frozen=True)
class AuditFilter:
    """What the privacy officer searches for; None: no restriction."""

    actor_id: int | None = None
    object_type: str | None = None
    object_id: int | None = None
    action: str | None = None  # an exact action, or a prefix choice such as "auth.*"
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def search(criteria: AuditFilter, before: int | None, limit: int) -> Sequence[AuditEvent]:
    """Up to `limit` entries matching `criteria`, newest first, older than entry `before`.

    Keyset pagination by id: ids only grow, so they follow the order of writing.
    """
    query = select(AuditEvent).options(selectinload(AuditEvent.actor))
    if criteria.actor_id is not None:
        query = query.where(AuditEvent.actor_id == criteria.actor_id)
    if criteria.object_type is not None:
        query = query.where(AuditEvent.object_type == criteria.object_type)
    if criteria.object_id is not None:
        query = query.where(AuditEvent.object_id == criteria.object_id)
    if criteria.action is not None:
        if criteria.action.endswith(PREFIX_MARK):
            prefix = criteria.action.removesuffix(PREFIX_MARK) + "."
            query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
        else:
            query = query.where(AuditEvent.action == criteria.action)
    if criteria.since is not None:
        query = query.where(AuditEvent.at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.at < criteria.until)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()


def object_types() -> list[str]:
    """The kinds of object the trail mentions."""
    return list(
        db.session.scalars(
            select(AuditEvent.object_type)
            .where(AuditEvent.object_type != "")
            .distinct()
            .order_by(AuditEvent.object_type)
        )
    )


def actions() -> list[str]:
    """Every action in the trail, each group preceded by its prefix choice ("auth.*")."""
    names = db.session.scalars(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    choices: list[str] = []
    for name in names:
        group = name.split(".", 1)[0] + PREFIX_MARK
        if "." in name and group not in choices:
            choices.append(group)
        choices.append(name)
    return choices


def details_text(details: dict[str, Any] | None) -> str:
    """The details of an entry as `key=value` pairs, for reading (the template escapes it)."""
    parts = []
    for key, value in sorted((details or {}).items()):
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts)
