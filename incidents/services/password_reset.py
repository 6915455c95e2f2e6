"""Links to set a password: separation of duties for admins.

An admin never sets an existing user's password (they could then log in as a manager and read
incidents). They send a link instead: single use, valid for PASSWORD_RESET_HOURS, delivered by
mail to the user only. A new account gets the same link to set its first password.

The link's secret is an HMAC of the reset's row under the secret key, so the mail can be
composed by whichever `flask remind` run sends it, while the database keeps only its SHA-256:
someone who reads the database cannot use a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from incidents import notify
from incidents.extensions import db
from incidents.models import AuditAction, AuditEvent, PasswordReset, User, utcnow
from incidents.services.base import ServiceError, audit, transaction


def link_secret(reset: PasswordReset) -> str:
    """The secret in the link of this reset (the same each time it is computed)."""
    message = f"password-reset:{reset.id}:{reset.user_id}:{reset.expires_at.isoformat()}"
    digest = hmac.new(
        str(current_app.config["SECRET_KEY"]).encode(), message.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(actor: User | None, user: User, *, welcome: bool = False) -> PasswordReset:
    """Add a reset link for `user` to the current transaction and queue its mail. Earlier
    unused links of that user stop working."""
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    reset = PasswordReset(
        user_id=user.id,
        requested_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"]),
        token_hash=secrets.token_hex(32),  # replaced below, once the id is known
    )
    db.session.add(reset)
    db.session.flush()
    reset.token_hash = _hash(link_secret(reset))
    notify.queue("welcome" if welcome else "password_reset", user, str(reset.id))
    audit(actor, AuditAction.USER_PASSWORD_LINK, user, welcome=welcome)
    return reset


# An admin who changed someone's e-mail address may not also send that address a link: the
# two together would let one admin take over the account.
EMAIL_CHANGE_QUARANTINE = timedelta(days=7)


def send_link(actor: User, user: User) -> None:
    """An admin sends `user` a link to set a new password (one transaction)."""
    if not user.active:
        raise ServiceError(_("Reactivate the account first."))
    if actor.id == user.id:
        raise ServiceError(_("Change your own password on your account page."))
    if _changed_email_lately(actor, user):
        raise ServiceError(
            _("You changed this e-mail address recently: another administrator must send the link.")
        )
    with transaction():
        issue(actor, user)


def _changed_email_lately(actor: User, user: User) -> bool:
    events = db.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == AuditAction.USER_UPDATE,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user.id,
            AuditEvent.actor_id == actor.id,
            AuditEvent.at > utcnow() - EMAIL_CHANGE_QUARANTINE,
        )
    )
    return any("email" in (details or {}).get("fields", []) for details in events)


def find(secret: str) -> PasswordReset | None:
    """The usable reset of this link, or None (unknown, used or expired)."""
    if not secret or len(secret) > 64:
        return None
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == _hash(secret))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    if not reset.user.active:
        return None
    return reset


def use(secret: str, password: str) -> User:
    """Set the password through a link: once only, even when two tabs send it at once; every
    session of the user ends and they are told by mail."""
    reset = find(secret)
    if reset is None:
        raise ServiceError(
            _("This link is not valid any more. Ask your administrator for a new one.")
        )
    user = reset.user
    with transaction():
        now = utcnow()
        claimed = db.session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            raise ServiceError(
                _("This link is not valid any more. Ask your administrator for a new one.")
            )
        from incidents.services.accounts import _replace_password

        _replace_password(user, password)  # and every session of the user ends
        event = audit(user, AuditAction.USER_PASSWORD_SET, user)
        db.session.flush()
        notify.queue("password_changed", user, str(event.id))
    return user
