"""A login between the right password and the code: nobody is logged in yet.

It lives in the signed session cookie for PENDING_MINUTES at most, sealed (AES-GCM under a key
derived from the secret key): anyone can read a signed cookie, and the cookie never holds a
user id or e-mail address, only opaque values. A login waiting for its code takes at most
CODE_TRIES wrong codes, then the password is asked again; since an old cookie can be sent
again, the count that really limits guessing is the account's on the server
(`incidents.services.two_factor`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, session

from incidents.models import User, utcnow

SESSION_KEY = "two_factor"
PENDING_MINUTES = 5
CODE_TRIES = 5


@dataclass
class PendingLogin:
    user_id: int
    until: float  # a POSIX timestamp
    tries: int
    next: str  # where to go once logged in (checked again before it is followed)


def begin(user: User, target: str) -> None:
    """The password was right: the login now waits for a code (replacing one that waited)."""
    until = utcnow() + timedelta(minutes=PENDING_MINUTES)
    save(PendingLogin(user_id=user.id, until=until.timestamp(), tries=0, next=target[:2000]))


def current() -> PendingLogin | None:
    """The login waiting for a code in this browser, or None (none, expired, or tampered)."""
    sealed = session.get(SESSION_KEY)
    if not isinstance(sealed, str):
        return None
    pending = _open(sealed)
    if pending is None or pending.until <= utcnow().timestamp():
        clear()
        return None
    return pending


def save(pending: PendingLogin) -> None:
    session[SESSION_KEY] = _seal(pending)


def clear() -> None:
    session.pop(SESSION_KEY, None)


def _box() -> AESGCM:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return AESGCM(hmac.new(secret, b"incidents:two-factor-pending", hashlib.sha256).digest())


def _seal(pending: PendingLogin) -> str:
    nonce = os.urandom(12)
    sealed = _box().encrypt(nonce, json.dumps(asdict(pending)).encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _open(text: str) -> PendingLogin | None:
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        data = json.loads(_box().decrypt(raw[:12], raw[12:], None))
        pending = PendingLogin(
            user_id=int(data["user_id"]),
            until=float(data["until"]),
            tries=int(data["tries"]),
            next=str(data["next"]),
        )
    except (InvalidTag, ValueError, KeyError, TypeError, binascii.Error):
        return None
    return pending
