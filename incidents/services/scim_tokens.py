"""The bearer tokens of the SCIM endpoint: made and revoked by an admin, shown once.

Only the SHA-256 of a token is kept. A request's token is compared, in constant time, with the
hash of every token that is not revoked (there are a handful), so neither the comparison nor an
index lookup tells how close a guess came.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import AuditAction, ScimToken, User, utcnow
from incidents.services.base import ServiceError, audit, transaction

NAME_MAX = 120
# How often the time of last use is written: not on every request of a synchronisation.
LAST_USED_EVERY = timedelta(minutes=1)
# A token is 32 random bytes; the prefix tells what a leaked string is when someone finds it.
PREFIX = "scim_"


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` is shown once and never stored."""

    token: ScimToken
    secret: str


def token_hash(secret: str) -> str:
    """The SHA-256 of a token, as kept in the database."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create(actor: User, name: str) -> NewToken:
    """Make a token for a directory (its name says which, e.g. "Entra ID productie")."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ServiceError(
            ngettext(
                "Give the token a name of at most %(num)s character.",
                "Give the token a name of at most %(num)s characters.",
                NAME_MAX,
            ),
            "name",
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction():
        token = ScimToken(name=name, token_hash=token_hash(secret), created_by_id=actor.id)
        db.session.add(token)
        db.session.flush()
        audit(actor, AuditAction.SCIM_TOKEN_CREATE, token, name=name)
    return NewToken(token, secret)


def revoke(actor: User, token_id: int) -> ScimToken:
    """Revoke a token: the directory using it is refused from the next request on."""
    with transaction():
        token = db.session.get(ScimToken, token_id)
        if token is None:
            raise LookupError(token_id)
        if token.revoked_at is not None:
            raise ServiceError(_("This token was already revoked."))
        token.revoked_at = utcnow()
        audit(actor, AuditAction.SCIM_TOKEN_REVOKE, token, name=token.name)
    return token


def all_tokens() -> Sequence[tuple[ScimToken, str | None]]:
    """Every token with the name of the admin who made it, newest first, revoked ones too."""
    rows = db.session.execute(
        select(ScimToken, User.name)
        .outerjoin(User, User.id == ScimToken.created_by_id)
        .order_by(ScimToken.id.desc())
    )
    return [(token, name) for token, name in rows]


def authenticate(secret: str | None) -> ScimToken | None:
    """The token that `secret` is, if it is one and not revoked; its last use is noted (at most
    once a minute)."""
    if not secret:
        return None
    wanted = token_hash(secret)
    found = None
    for token in db.session.scalars(select(ScimToken).where(ScimToken.revoked_at.is_(None))):
        if hmac.compare_digest(token.token_hash, wanted):  # no early exit: look at all of them
            found = token
    if found is None:
        return None
    now = utcnow()
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
        with transaction():
            found.last_used_at = now
    return found
