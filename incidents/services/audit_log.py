"""The audit trail of logins, page views and access exports, and the privacy officer's search
through it.

Every entry says who, when, what object and from which address: never what was typed or
shown. Entries are only ever added; nothing in the app changes or removes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from incidents.audit_labels import (
    INCIDENT_KEYS,
    PERSON_KEY_ACTIONS,
    PERSON_KEYS,
    TEAM_KEYS,
    Lookups,
)
from incidents.extensions import db
from incidents.models import AftercareStep, AuditAction, AuditEvent, Incident, Team, User
from incidents.services.base import audit, transaction

LOGIN = AuditAction.AUTH_LOGIN
LOGIN_FAILED = AuditAction.AUTH_LOGIN_FAILED
LOGOUT = AuditAction.AUTH_LOGOUT
ACCESS_EXPORT = AuditAction.PRIVACY_ACCESS_EXPORT

# An action choice ending in this matches every action under the prefix ("auth.*").
PREFIX_MARK = ".*"
INCIDENT, STEP = "incident", "aftercarestep"  # object types, as `audit` stores them


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

    actor: str | None = None  # part of the actor's name or e-mail address
    object_type: str | None = None
    object_id: int | None = None
    action: str | None = None  # an exact action, or a prefix choice such as "auth.*"
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    incident_id: int | None = None  # the incident and its aftercare steps


def _filtered(query: Select[Any], criteria: AuditFilter, before: int | None) -> Select[Any]:
    """`query` restricted to the entries matching `criteria`, older than entry `before`."""
    if criteria.actor is not None:
        people = select(User.id).where(
            or_(
                User.name.icontains(criteria.actor, autoescape=True),
                User.email.icontains(criteria.actor, autoescape=True),
            )
        )
        query = query.where(AuditEvent.actor_id.in_(people))
    if criteria.object_type is not None:
        query = query.where(AuditEvent.object_type == criteria.object_type)
    if criteria.object_id is not None:
        query = query.where(AuditEvent.object_id == criteria.object_id)
    if criteria.incident_id is not None:
        steps = select(AftercareStep.id).where(AftercareStep.incident_id == criteria.incident_id)
        query = query.where(
            or_(
                and_(
                    AuditEvent.object_type == INCIDENT,
                    AuditEvent.object_id == criteria.incident_id,
                ),
                and_(AuditEvent.object_type == STEP, AuditEvent.object_id.in_(steps)),
            )
        )
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
    return query.order_by(AuditEvent.id.desc())


def search(criteria: AuditFilter, before: int | None, limit: int) -> Sequence[AuditEvent]:
    """Up to `limit` entries matching `criteria`, newest first, older than entry `before`.

    Keyset pagination by id: ids only grow, so they follow the order of writing.
    """
    query = select(AuditEvent).options(selectinload(AuditEvent.actor))
    return db.session.scalars(_filtered(query, criteria, before).limit(limit)).all()


def lookups(events: Iterable[AuditEvent], locale: str) -> Lookups:
    """The names and incident numbers that `events` mention, in at most four queries
    whatever their number: people and teams by name, steps by their incident, incidents by
    their readable number."""
    people: set[int] = set()
    teams: set[int] = set()
    steps: set[int] = set()
    incidents: set[int] = set()
    for event in events:
        kind, ident, details = event.object_type, event.object_id, event.details or {}
        if ident is not None:
            {"user": people, "team": teams, STEP: steps, INCIDENT: incidents}.get(kind, set()).add(
                ident
            )
        if event.action in PERSON_KEY_ACTIONS:
            people.update(v for k, v in details.items() if k in PERSON_KEYS and _is_id(v))
        teams.update(v for k, v in details.items() if k in TEAM_KEYS and _is_id(v))
        incidents.update(v for k, v in details.items() if k in INCIDENT_KEYS and _is_id(v))
    found = Lookups()
    if people:
        found.people = dict(
            db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all()
        )
    if teams:
        rows = db.session.execute(
            select(Team.id, Team.name_nl, Team.name_en).where(Team.id.in_(teams))
        ).all()
        found.teams = {
            ident: (english if locale == "en" else dutch) or dutch or english
            for ident, dutch, english in rows
        }
    if steps:
        found.step_incidents = dict(
            db.session.execute(
                select(AftercareStep.id, AftercareStep.incident_id).where(
                    AftercareStep.id.in_(steps)
                )
            ).all()
        )
        incidents.update(found.step_incidents.values())
    if incidents:
        found.incident_numbers = incident_numbers(incidents)
    return found


def incident_numbers(ids: Iterable[int]) -> dict[int, str | None]:
    """The readable numbers of incidents by id (None: a draft, which has none yet)."""
    query = select(Incident.id, Incident.number).where(Incident.id.in_(set(ids)))
    return dict(db.session.execute(query).all())


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def record_audit_export(user: User, **filters: Any) -> int:
    """Someone exported the audit trail: with which filters (never the rows). Returns the
    entry's id: the export holds the entries written before it, so never itself."""
    with transaction():
        event = audit(user, AuditAction.AUDIT_EXPORT, None, **filters)
        db.session.flush()
        return event.id


def export_pages(criteria: AuditFilter, below: int, size: int) -> Iterator[list[AuditEvent]]:
    """The entries matching `criteria` older than entry `below`, newest first, `size` at a
    time: the same queries for each page, so a million entries never sit in memory at once."""
    before: int | None = below
    while True:
        page = list(search(criteria, before, size))
        if not page:
            return
        yield page
        if len(page) < size:
            return
        # The session holds entries weakly: a page written out is let go before the next.
        before = page[-1].id
