"""Login sessions, kept on the server.

The browser's cookie holds only an opaque random id (the token); the database keeps its
SHA-256, so someone who reads the table cannot use a session, with the user, when the session
began and was last seen, from which address and browser. A session ends when its row is
deleted: logout, SESSION_IDLE_MINUTES without a request, SESSION_MAX_HOURS after the login,
a password change, a deactivation, or the user ending it from another browser. A copied cookie
stops working at that moment.

`last_seen_at` is written at most once a minute (not a write per request), so the idle
timeout counts from the first request of the last active minute.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, delete, or_, select, update
from sqlalchemy.orm import joinedload

from incidents.extensions import db
from incidents.models import AuditAction, User, UserSession, utcnow
from incidents.services.base import audit, transaction

TOUCH_EVERY = timedelta(minutes=1)
ENDED = AuditAction.AUTH_SESSION_END  # audit action: the user ended sessions from the sessions page


def token_hash(token: str) -> str:
    """What the database keeps of a session's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return timedelta(minutes=config["SESSION_IDLE_MINUTES"]), timedelta(
        hours=config["SESSION_MAX_HOURS"]
    )


def is_expired(row: UserSession, now: datetime) -> bool:
    """Idle too long, or begun too long ago."""
    idle, longest = _limits()
    return now - row.last_seen_at > idle or now - row.created_at > longest


def start(user: User, *, address: str, user_agent: str) -> str:
    """Begin a session for `user` (one transaction, which also removes everyone's sessions
    that are over); the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with transaction():
        _delete_expired(now)
        db.session.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                address=address[:45],
                user_agent=user_agent[:200],
            )
        )
    return token


def find(token: str) -> UserSession | None:
    """The live session with this token, its user loaded; None when there is none. An expired
    one is deleted when found; a live one is marked seen, at most once a minute."""
    row = db.session.scalar(_by_token(), {"token_hash": token_hash(token)})
    if row is None:
        return None
    now = utcnow()
    if is_expired(row, now):
        with transaction():
            db.session.execute(delete(UserSession).where(UserSession.id == row.id))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with transaction():
            db.session.execute(
                update(UserSession)
                .where(UserSession.id == row.id)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
    return row


@functools.cache
def _by_token() -> Select[UserSession]:
    """`find`'s statement, built once (it runs on every request): the hash is bound."""
    return (
        select(UserSession)
        .options(joinedload(UserSession.user))
        .where(UserSession.token_hash == bindparam("token_hash"))
    )


def of_user(user: User) -> Sequence[UserSession]:
    """The user's live sessions, the most recently seen first."""
    now = utcnow()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    return [row for row in rows if not is_expired(row, now)]


def end(token: str) -> None:
    """End the session with this token (logout)."""
    with transaction():
        db.session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


def end_one(user: User, session_id: int) -> bool:
    """End one of the user's own sessions; False when the user has no session with this id
    (someone else's is never touched)."""
    with transaction():
        ended = _delete(
            UserSession.user_id == user.id,
            UserSession.id == session_id,
        )
        if ended:
            audit(user, ENDED, user, sessions=ended)
    return ended > 0


def end_others(user: User, token: str) -> int:
    """End every session of the user but this one; how many ended."""
    with transaction():
        ended = _delete(
            UserSession.user_id == user.id,
            UserSession.token_hash != token_hash(token),
        )
        if ended:
            audit(user, ENDED, user, sessions=ended)
    return ended


def end_all(user: User) -> int:
    """End every session of the user, in the caller's transaction (a password change or a
    deactivation commits it together with its own change); how many ended."""
    return _delete(UserSession.user_id == user.id)


def purge_expired() -> int:
    """Delete the sessions that are over, everyone's (one cheap statement); how many."""
    with transaction():
        return _delete_expired(utcnow())


def _delete_expired(now: datetime) -> int:
    idle, longest = _limits()
    return _delete(
        or_(UserSession.last_seen_at < now - idle, UserSession.created_at < now - longest)
    )


def _delete(*criteria: ColumnElement[bool]) -> int:
    result = db.session.execute(
        delete(UserSession).where(*criteria).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
