"""Signing in through the organisation's OpenID provider: which account a verified identity
is, and the audit trail of every sign-in and every refusal.

The protocol (redirects, tokens, signatures) is `incidents.auth.oidc_client`; what comes
here has been checked. An identity is the account

1. whose `oidc_subject` is the identity's subject (`sub`), remembered at the first sign-in, so
   a later change of e-mail address at the provider does not matter;
2. else the account with the identity's e-mail address (the OIDC_EMAIL_CLAIM claim,
   normalised like every address), when no other subject is bound to it: its subject is then
   remembered. An account bound to another subject is refused: a reused address does not
   open a former colleague's account;
3. else, with OIDC_CREATE_USERS, a new employee without a team (source OIDC, listed for the
   admin), bound at once.

A deactivated account is refused, and so is everyone else without an account. Every
sign-in (AUTH_OIDC_LOGIN) and every refusal (AUTH_OIDC_REFUSED, with its reason code) is in
the audit trail; nothing from the tokens is.

For the admin: `set_break_glass` (the admin accounts that keep their password while
PASSWORD_LOGIN is off) and `forget_subject` (an account whose person was made anew at the
provider binds again at the next sign-in).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.models import AccountSource, AuditAction, Role, User
from incidents.services.accounts import create_user, normalise_email, user_by_email
from incidents.services.base import ServiceError, audit, transaction


class Refusal(enum.StrEnum):
    """Why a sign-in through the provider was refused: the reason code in the audit trail."""

    # The provider's answer, or the protocol (incidents.auth.oidc_client).
    ACCESS_DENIED = "access_denied"  # the provider, or the person there, said no (or cancelled)
    PROVIDER_ERROR = "provider_error"  # another error from the provider
    UNREACHABLE = "unreachable"  # discovery, keys, token or userinfo did not answer
    DISCOVERY = "discovery"  # the discovery document names another issuer
    STATE = "state"  # no sign-in of this browser with this state: tampered, replayed, too old
    CODE_REFUSED = "code_refused"  # the token endpoint refused the code, or sent no ID token
    SIGNATURE = "signature"  # the ID token is not signed by one of the provider's keys
    EXPIRED = "expired"  # the ID token has expired
    NONCE = "nonce"  # the ID token belongs to another sign-in
    CLAIMS = "claims"  # wrong issuer or audience, or a claim that cannot be used
    # The account (here).
    MISSING_CLAIM = "missing_claim"  # no e-mail claim (OIDC_EMAIL_CLAIM) to find the account
    EMAIL_UNVERIFIED = "email_unverified"  # the provider says the address is not verified
    UNKNOWN_USER = "unknown_user"  # no account has the address (and none is created)
    DEACTIVATED = "deactivated"
    SUBJECT_MISMATCH = "subject_mismatch"  # the account signs in as someone else there


@dataclass(frozen=True)
class Identity:
    """A person the provider vouched for, checked: the ID token's subject, the e-mail claim
    (None when the provider sent none), a display name, and where to go after signing in."""

    subject: str
    email: str | None
    name: str
    email_verified: bool | None
    id_token: str
    next: str = ""


@dataclass(frozen=True)
class SignOn:
    """What became of a sign-in: the user, or why not (and the address it was for)."""

    user: User | None = None
    refusal: Refusal | None = None
    email: str = ""


def sign_in(identity: Identity) -> SignOn:
    """Find the account of a verified identity (see the module's docstring), remember its
    subject at the first sign-in, and record the sign-in or the refusal."""
    user = db.session.scalar(select(User).where(User.oidc_subject == identity.subject))
    if user is not None:
        return _signed_in(user) if user.active else refuse(Refusal.DEACTIVATED, user)
    if not identity.email:
        return refuse(Refusal.MISSING_CLAIM)
    if identity.email_verified is False:
        return refuse(Refusal.EMAIL_UNVERIFIED)
    email = normalise_email(identity.email)
    user = user_by_email(email)
    created = False
    if user is None:
        if not current_app.config["OIDC_CREATE_USERS"]:
            return refuse(Refusal.UNKNOWN_USER, email=email)
        user, created = _create(identity, email)
    if not user.active:
        return refuse(Refusal.DEACTIVATED, user)
    if user.oidc_subject is not None:
        return refuse(Refusal.SUBJECT_MISMATCH, user)
    return _bind(user, identity.subject, created=created)


def refuse(refusal: Refusal, user: User | None = None, *, email: str = "") -> SignOn:
    """Record a refused sign-in: the reason, and the account when one was found."""
    with transaction():
        audit(None, AuditAction.AUTH_OIDC_REFUSED, user, reason=refusal.value)
    return SignOn(refusal=refusal, email=email)


def _signed_in(user: User) -> SignOn:
    with transaction():
        audit(user, AuditAction.AUTH_OIDC_LOGIN, user)
    return SignOn(user=user)


def _create(identity: Identity, email: str) -> tuple[User, bool]:
    """A new employee without a team for an unknown address; the account another sign-in
    created a moment ago, if that one was quicker."""
    name = identity.name or email.split("@", 1)[0]
    try:
        user = create_user(
            None,
            email=email,
            name=name,
            password=None,
            role=Role.EMPLOYEE,
            source=AccountSource.OIDC,
        )
    except ServiceError:  # the address was taken in between
        existing = user_by_email(email)
        if existing is None:
            raise
        return existing, False
    return user, True


def _bind(user: User, subject: str, *, created: bool) -> SignOn:
    """Remember the subject on an account that has none, and record the sign-in. The update
    takes effect only while the account still has no subject, so two sign-ins at once cannot
    both bind it."""
    try:
        with transaction():
            bound = db.session.execute(
                update(User)
                .where(User.id == user.id, User.oidc_subject.is_(None))
                .values(oidc_subject=subject)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if bound:
                audit(user, AuditAction.AUTH_OIDC_LOGIN, user, first=True, created=created)
    except IntegrityError:  # the subject was bound to another account in between
        bound = 0
    db.session.refresh(user)
    if not bound:
        if user.oidc_subject == subject:  # bound by a sign-in of the same person just now
            return _signed_in(user)
        return refuse(Refusal.SUBJECT_MISMATCH, user)
    return SignOn(user=user)


def set_break_glass(actor: User | None, user: User, on: bool) -> None:
    """Make an admin account a break-glass account (it may log in with its password while
    PASSWORD_LOGIN is off), or an ordinary one again. `actor` None: the command line. Only
    admins can be break-glass accounts, and an admin cannot change their own: a second must."""
    if on and user.role is not Role.ADMIN:
        raise ServiceError(_("Only administrator accounts can be break-glass accounts."))
    if actor is not None and actor.id == user.id:
        raise ServiceError(_("Another administrator must change your own break-glass account."))
    with transaction():
        if user.break_glass != on:
            user.break_glass = on
            audit(actor, AuditAction.USER_UPDATE, user, fields=["break_glass"])


def forget_subject(actor: User | None, user: User) -> None:
    """Forget which person at the provider an account is, so that the next sign-in with the
    account's address binds again: for someone whose account at the provider was made anew
    (a new subject), who is otherwise refused as someone else. `actor` None: the command line."""
    with transaction():
        if user.oidc_subject is not None:
            user.oidc_subject = None
            audit(actor, AuditAction.USER_UPDATE, user, fields=["oidc_subject"])
