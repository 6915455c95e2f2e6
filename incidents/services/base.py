"""Shared pieces of the services: the error type, the transaction, the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import has_request_context, request
from flask_babel import gettext as _

from incidents.extensions import db
from incidents.locks import lock_incidents
from incidents.models import AuditAction, AuditEvent, Incident, User


class ServiceError(ValueError):
    """A request that breaks a rule; `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors: dict[str, str] = {field or "": message}


class InvalidInput(ServiceError):
    """Input that breaks one or more rules; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())), next(iter(errors)))
        self.errors = dict(errors)


_OPEN = "services.transaction"  # session.info: a transaction() block is open


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block did, or roll all of it back. A block inside another joins it:
    only the outermost commits (a SCIM request made of several service calls is still one
    transaction); the inner one flushes at its end, so the next call finds a clean session."""
    session = db.session
    if session.info.get(_OPEN):
        yield
        session.flush()
        return
    session.info[_OPEN] = True
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_OPEN, None)


@contextmanager
def still_loaded() -> Iterator[None]:
    """What the block's commits wrote stays loaded after them: a request that only reads back
    what it wrote (the new report's id and status for its redirect) costs no query, and on
    PostgreSQL no new transaction. A rollback still expires everything."""
    session = db.session()
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True


def lock_all(incident_ids: Iterable[int]) -> None:
    """Take these incidents' locks for the rest of this transaction (see `incidents.locks`),
    so what is read next is fresh: call it first, before reading anything the change decides
    on."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("lock an incident before changing anything")
    if lock_incidents(session, incident_ids):
        session.expire_all()  # what was read before the lock may be out of date


def lock(incident_id: int) -> Incident:
    """`lock_all` for one incident, read afresh."""
    lock_all([incident_id])
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise ServiceError(_("This incident no longer exists."))
    return incident


def audit(
    actor: User | None, action: AuditAction, obj: Any | None = None, **details: Any
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    unwrap = getattr(obj, "_get_current_object", None)
    if unwrap is not None:  # current_user: record the user, not the proxy
        obj = unwrap()
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        details=details,
        address=(request.remote_addr or "")[:45] if has_request_context() else "",
    )
    db.session.add(event)
    return event


def apply_changes(obj: Any, values: dict[str, Any]) -> list[str]:
    """Apply `values` to `obj`; return the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed
