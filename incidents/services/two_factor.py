"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238) after the password,
or one of ten single-use recovery codes.

- `enrol` gives the user a new secret, not yet in force; `confirm` puts it in force with a
  first code from the app and returns ten recovery codes, shown once (only their SHA-256 is
  kept). From then on every password login asks for a code.
- `verify` accepts a code of the time step before, of this one or of the next one
  (pyotp's `valid_window=1`: clocks drift), and each time step once: `totp_last_step`
  remembers the last accepted step and only a later one is taken, so a code seen over
  someone's shoulder or replayed from a log is refused. A recovery code works once.
- Wrong codes are counted per account in `login_throttle` (key ``two-factor:<user id>``),
  apart from the password's counts, which the right password clears: after
  FAILURES_BEFORE_DELAY wrong codes each next attempt waits DELAY_BASE_SECONDS, doubling up to
  DELAY_MAX_SECONDS. Only a right code clears the count, so someone who knows the password
  gets a few guesses an hour, not a million. While a delay runs nothing is checked.
- `new_recovery_codes` replaces all of a user's recovery codes; `switch_off` is for those
  whose role does not require two-factor sign-in; `reset` is an administrator's, for someone
  who lost their phone (told by mail).

Every change takes the user's row first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite),
so two requests with the same code cannot both be accepted.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from incidents import notify, qr
from incidents.extensions import db
from incidents.i18n import format_clock
from incidents.locks import begin_immediate
from incidents.models import (
    AuditAction,
    LoginThrottle,
    RecoveryCode,
    User,
    UserSession,
    utcnow,
)
from incidents.services import sessions
from incidents.services.base import ServiceError, audit, transaction
from incidents.services.logins import delay_seconds

CODE_DIGITS = 6
VALID_WINDOW = 1  # time steps of 30 s either side of now

RECOVERY_CODE_COUNT = 10
# Lower case letters and digits without look-alikes (no 0/o, 1/l/i): 10 of them are 49 bits.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CODE_LENGTH = 10

FAILURES_BEFORE_DELAY = 5
DELAY_BASE_SECONDS = 30
DELAY_MAX_SECONDS = 3600
FAILURES_FORGOTTEN_AFTER = timedelta(hours=24)


class Outcome(enum.Enum):
    """What became of a code."""

    CODE = "code"  # a right code from the app
    RECOVERY_CODE = "recovery_code"  # an unused recovery code, now used
    WRONG = "wrong"  # wrong, used before, or of an old time step: one answer for all
    WAIT = "wait"  # a delay runs: nothing was checked


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    wait_seconds: int = 0
    recovery_codes_left: int = 0

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.CODE, Outcome.RECOVERY_CODE)


@dataclass(frozen=True)
class Status:
    """What the user's two-factor page shows."""

    on: bool
    since: datetime | None
    setting_up: bool  # a secret waits for its first code
    required: bool
    may_switch_off: bool
    recovery_codes_left: int


# --- Who must, who may -------------------------------------------------------------------


def is_on(user: User) -> bool:
    """Every password login of this user asks for a code."""
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def is_required(user: User) -> bool:
    """The user's role must use two-factor sign-in (TWO_FACTOR_ROLES). An account that signs
    in through the organisation's OpenID provider relies on the provider's own MFA."""
    roles = current_app.config["TWO_FACTOR_ROLES"]
    return user.role.value in roles and user.oidc_subject is None


def must_set_up(user: User) -> bool:
    """Logged in with a password but required to use two-factor sign-in and not set up yet:
    such a user may open only the set-up pages."""
    return is_required(user) and not is_on(user)


def status(user: User) -> Status:
    on = is_on(user)
    return Status(
        on=on,
        since=user.totp_confirmed_at if on else None,
        setting_up=user.totp_secret is not None and not on,
        required=is_required(user),
        may_switch_off=on and not is_required(user),
        recovery_codes_left=recovery_codes_left(user) if on else 0,
    )


def user_for_login(user_id: int) -> User | None:
    """The account of a login waiting for its code: active, with two-factor sign-in on."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or not is_on(user):
        return None
    return user


def recovery_codes_left(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


# --- Setting up ----------------------------------------------------------------------------


def provisioning_uri(user: User) -> str | None:
    """The otpauth:// address of the secret being set up (None when none is): what the QR
    code holds. Once confirmed, the secret is never shown again."""
    if user.totp_secret is None or is_on(user):
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TOTP_ISSUER"]
    )


def secret_for_entry(user: User) -> str | None:
    """The secret being set up, in groups of four, for typing into an app by hand."""
    if provisioning_uri(user) is None or user.totp_secret is None:
        return None
    secret = user.totp_secret
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(user: User) -> bytes | None:
    """The QR code of `provisioning_uri` as SVG."""
    uri = provisioning_uri(user)
    if uri is None:
        return None
    svg = qr.svg_file(
        uri, title=_("QR code for your authenticator app"), error="m", scale=5, xmldecl=False
    )
    return svg.encode("utf-8")


def enrol(user: User) -> None:
    """Give the user a new secret to set up (it replaces one not confirmed yet). Nothing is in
    force until `confirm`, so there is nothing to audit yet."""
    with transaction():
        locked = _lock(user)
        if is_on(locked):
            raise ServiceError(_("Two-factor sign-in is on already."))
        locked.totp_secret = pyotp.random_base32()
        locked.totp_confirmed_at = None
        locked.totp_last_step = None


def confirm(user: User, code: str, *, keep_session: str) -> list[str]:
    """Put the secret in force with a first code from the app; the ten recovery codes, to show
    once. The user's other sessions end: they began with the password alone (`keep_session`:
    the token of the session to keep, this browser's)."""
    with transaction():
        locked = _lock(user)
        if is_on(locked):
            raise ServiceError(_("Two-factor sign-in is on already."))
        if locked.totp_secret is None:
            raise ServiceError(_("Start the set-up again."))
        now = utcnow()
        step = _matching_step(locked, code, now)
        if step is None:
            raise ServiceError(
                _("This code is not right. Check the time on your phone and try the next code."),
                "code",
            )
        locked.totp_last_step = step
        locked.totp_confirmed_at = now
        codes = _replace_recovery_codes(locked, now)
        _clear_failures(locked)
        db.session.execute(
            delete(UserSession)
            .where(
                UserSession.user_id == locked.id,
                UserSession.token_hash != sessions.token_hash(keep_session),
            )
            .execution_options(synchronize_session=False)
        )
        audit(locked, AuditAction.USER_TWO_FACTOR_ON, locked)
    return codes


# --- Checking a code -----------------------------------------------------------------------


def verify(user: User, code: str, *, purpose: str = "login") -> Check:
    """Check a code from the app or a recovery code of a user with two-factor sign-in on, in
    one transaction: a right one is used up (its time step, or the recovery code), a wrong one
    counted. `purpose` goes into the audit trail (never the code)."""
    with transaction():
        locked = _lock(user)
        if not is_on(locked):
            return Check(Outcome.WRONG)
        return _verify_locked(locked, code, purpose)


def new_recovery_codes(user: User, code: str) -> list[str]:
    """Replace all of the user's recovery codes with ten new ones, after a code from the app
    (or a recovery code); the new codes, to show once."""
    with transaction():
        locked = _lock(user)
        if not is_on(locked):
            raise ServiceError(_("Two-factor sign-in is off."))
        check = _verify_locked(locked, code, "recovery_codes")
        codes: list[str] = []
        if check.accepted:
            codes = _replace_recovery_codes(locked, utcnow())
            audit(locked, AuditAction.USER_RECOVERY_CODES, locked)
    if not check.accepted:
        raise _refusal(check, "regenerate_code")
    return codes


def switch_off(user: User, code: str) -> None:
    """Switch two-factor sign-in off, after a code; only for a user whose role does not
    require it (others ask an administrator to reset it)."""
    with transaction():
        locked = _lock(user)
        if not is_on(locked):
            raise ServiceError(_("Two-factor sign-in is off."))
        if is_required(locked):
            raise ServiceError(
                _("Your role requires two-factor sign-in. Lost your phone? Ask an administrator.")
            )
        check = _verify_locked(locked, code, "switch_off")
        if check.accepted:
            _switch_off(locked)
            audit(locked, AuditAction.USER_TWO_FACTOR_OFF, locked, by="self")
    if not check.accepted:
        raise _refusal(check, "off_code")


def reset(actor: User, user: User) -> None:
    """An administrator switches someone's two-factor sign-in off (they lost their phone):
    they set it up again at their next login when their role requires it. Audited, and the
    person is told by mail. Never one's own: a second administrator must."""
    if actor.id == user.id:
        raise ServiceError(_("Another administrator must reset your own two-factor sign-in."))
    with transaction():
        locked = _lock(user)
        if locked.totp_secret is None:
            raise ServiceError(_("Two-factor sign-in is off for this account."))
        _switch_off(locked)
        event = audit(actor, AuditAction.USER_TWO_FACTOR_OFF, locked, by="admin")
        db.session.flush()
        notify.queue("account_changed", locked, str(event.id))


# --- Inside the user's lock ------------------------------------------------------------------


def _lock(user: User) -> User:
    """Hold the user's row until the transaction ends, and read it afresh."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        begin_immediate(connection)
    locked = db.session.scalar(
        select(User)
        .where(User.id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise ServiceError(_("This account no longer exists."))
    return locked


def _verify_locked(user: User, code: str, purpose: str) -> Check:
    now = utcnow()
    wait = _wait_seconds(user, now)
    if wait:
        return Check(Outcome.WAIT, wait_seconds=wait)
    outcome = _use_code(user, code, now)
    if outcome is Outcome.WRONG:
        _count_failure(user, now)
        audit(None, AuditAction.AUTH_TWO_FACTOR_FAILED, user, purpose=purpose)
        return Check(Outcome.WRONG)
    _clear_failures(user)
    left = recovery_codes_left(user)
    if outcome is Outcome.RECOVERY_CODE:
        audit(user, AuditAction.AUTH_RECOVERY_CODE, user, purpose=purpose, left=left)
    else:
        audit(user, AuditAction.AUTH_TWO_FACTOR, user, purpose=purpose)
    return Check(outcome, recovery_codes_left=left)


def _use_code(user: User, code: str, now: datetime) -> Outcome:
    """Six digits: a code from the app, of a time step later than the last one used.
    Anything else: a recovery code, unused."""
    typed = "".join(code.split())
    if len(typed) == CODE_DIGITS and typed.isascii() and typed.isdigit():
        step = _matching_step(user, typed, now)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return Outcome.WRONG
        user.totp_last_step = step
        return Outcome.CODE
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(typed),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return Outcome.WRONG
    row.used_at = now
    db.session.flush()
    return Outcome.RECOVERY_CODE


def _matching_step(user: User, code: str, now: datetime) -> int | None:
    """The time step (before, now or next) whose code this is; None when none."""
    typed = "".join(code.split())
    if user.totp_secret is None or len(typed) != CODE_DIGITS or not typed.isascii():
        return None
    totp = pyotp.TOTP(user.totp_secret, digits=CODE_DIGITS)
    current = totp.timecode(now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            found = step
    return found


def _recovery_hash(code: str) -> str:
    """What the database keeps of a recovery code: case, spaces and dashes do not count."""
    normal = code.lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def _replace_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(raw), created_at=now))
    db.session.flush()
    return codes


def _switch_off(user: User) -> None:
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _clear_failures(user)


def _throttle_key(user: User) -> str:
    return f"two-factor:{user.id}"


def _throttle(user: User) -> LoginThrottle | None:
    return db.session.get(LoginThrottle, _throttle_key(user), populate_existing=True)


def _wait_seconds(user: User, now: datetime) -> int:
    row = _throttle(user)
    if row is None or row.not_before is None or row.not_before <= now:
        return 0
    return math.ceil((row.not_before - now).total_seconds())


def _count_failure(user: User, now: datetime) -> None:
    row = _throttle(user)
    if row is None:
        row = LoginThrottle(key=_throttle_key(user), failures=0, last_failure_at=now)
        db.session.add(row)
    elif row.last_failure_at < now - FAILURES_FORGOTTEN_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    seconds = delay_seconds(
        row.failures,
        after=FAILURES_BEFORE_DELAY,
        base=DELAY_BASE_SECONDS,
        longest=DELAY_MAX_SECONDS,
    )
    row.not_before = now + timedelta(seconds=seconds) if seconds else None


def _clear_failures(user: User) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == _throttle_key(user)))


def _refusal(check: Check, field: str) -> ServiceError:
    if check.outcome is Outcome.WAIT:
        return ServiceError(wait_message(check.wait_seconds), field)
    return ServiceError(wrong_code_message(), field)


def wrong_code_message() -> str:
    return _("This code is not right, or it was used already. Wait for the next code.")


def wait_message(seconds: int) -> str:
    until = utcnow() + timedelta(seconds=seconds)
    return _("Too many wrong codes. Try again after %(time)s.", time=format_clock(until))
