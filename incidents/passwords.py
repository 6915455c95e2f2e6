"""Password hashing: argon2id with the parameters of the configured profile.

Low in the layers: services (accounts, logins) and the views use it; it needs the application's
configuration (`ARGON2_PROFILE`), never a request.
"""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app


def _hasher() -> PasswordHasher:
    profile = getattr(profiles, current_app.config["ARGON2_PROFILE"])
    return PasswordHasher.from_parameters(profile)


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


# Unknown and deactivated accounts are checked against a hash of this, made once per app with
# the configured parameters: every login attempt then costs one verification, whatever the
# account, and the time of the answer does not tell whether it exists.
_DUMMY_PASSWORD = "timing-equaliser-password"  # noqa: S105
_DUMMY_HASH = "passwords.dummy_password_hash"  # key in app.extensions


def init_app(app: Flask) -> None:
    """Make the login's dummy hash with the app's configured parameters."""
    profile = getattr(profiles, app.config["ARGON2_PROFILE"])
    hasher = PasswordHasher.from_parameters(profile)
    app.extensions[_DUMMY_HASH] = hasher.hash(_DUMMY_PASSWORD)


def burn_verification_time() -> None:
    """Spend the time of one verification (never a hash), for an unknown or deactivated
    account: no timing oracle."""
    verify_password(current_app.extensions[_DUMMY_HASH], _DUMMY_PASSWORD + "x")
