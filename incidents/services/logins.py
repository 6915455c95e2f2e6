"""Logging in: one password verification per attempt, and growing delays after failures.

Every attempt that is checked costs exactly one argon2 verification, whatever the account: an
unknown or deactivated account is checked against a dummy hash
(`passwords.burn_verification_time`), so the time of the answer does not tell whether an
account exists. The same goes for every account but a break-glass admin's while
PASSWORD_LOGIN is off (everyone signs in through the organisation's provider; see
`may_use_password`).

Failed attempts are counted in `login_throttle`, under three keys (see config.py for the
numbers):

    pair:<e-mail>|<address>   one account from one address: the first and longest delays
    account:<e-mail>          one account from every address: a later, short delay, so an
                              attacker elsewhere keeps the real user out for a minute at most
    address:<address>         one address across accounts (password spraying); each account
                              adds at most LOGIN_DELAY_AFTER_FAILURES, so one person behind an
                              office's proxy does not slow the office

An IPv6 address counts as its /64 network (`client_of`).

While a delay of any of an attempt's keys runs, the attempt is refused without checking the
password, so waiting cannot be used to test passwords, and it is not counted. Counts are kept
for the e-mail address typed, whether an account has it or not: the delays do not tell either.
A successful login clears the pair and the account (never the address: one's own account must
not wipe out a spraying count). A count is forgotten LOGIN_FAILURES_FORGOTTEN_AFTER_MINUTES
after its last failure.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from incidents.extensions import db
from incidents.models import LoginThrottle, Role, User, utcnow
from incidents.passwords import burn_verification_time, needs_rehash, verify_password
from incidents.services import audit_log
from incidents.services.accounts import normalise_email, rehash_password, user_by_email
from incidents.services.base import transaction


class Outcome(enum.Enum):
    """What became of a login attempt."""

    LOGGED_IN = "logged_in"
    # Wrong password, unknown or deactivated account, password login off for this account:
    # one message for all.
    REFUSED = "refused"
    WAIT = "wait"  # a delay runs: nothing was checked


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: User | None = None  # when logged in
    wait_seconds: int = 0  # when a delay runs


def attempt(email: str, password: str, address: str) -> Attempt:
    """Check one login attempt: refused at once while a delay runs, else exactly one password
    verification; the failure counted, or the account's counts cleared."""
    email = normalise_email(email)[:254]
    wait = wait_seconds(email, address)
    if wait:
        return Attempt(Outcome.WAIT, wait_seconds=wait)
    user = user_by_email(email)
    if user is not None and may_use_password(user):
        right = verify_password(user.password_hash, password)
    else:
        burn_verification_time()
        right = False
    if user is None or not right:
        record_failure(email, address)
        audit_log.record_failed_login(user)
        return Attempt(Outcome.REFUSED)
    if needs_rehash(user.password_hash):
        rehash_password(user, password)
    record_success(email, address)
    return Attempt(Outcome.LOGGED_IN, user=user)


def may_use_password(user: User) -> bool:
    """Whether this account may log in with a password: any active one, or, with
    PASSWORD_LOGIN off (single sign-on for everyone), only an active break-glass admin. The
    others are refused like a wrong password, after the same one verification (against the
    dummy hash), so neither the answer nor its time tells which accounts are break-glass.
    An account bound to the OpenID provider whose role requires two-factor sign-in signs in
    there (or with its own TOTP), never with a password alone."""
    if not user.active:
        return False
    if (
        user.oidc_subject is not None
        and user.role.value in current_app.config["TWO_FACTOR_ROLES"]
        and user.totp_confirmed_at is None
        and not user.break_glass
    ):
        # Its second factor is the provider's MFA: a password alone would skip it.
        return False
    if current_app.config["PASSWORD_LOGIN"]:
        return True
    return user.break_glass and user.role is Role.ADMIN


def delay_seconds(failures: int, *, after: int, base: float, longest: float) -> float:
    """How long to wait after a key's `failures`-th failure: nothing before `after` failures,
    then `base` seconds, doubling with each further failure, never more than `longest`."""
    if failures < after:
        return 0.0
    return float(min(base * 2 ** min(failures - after, 32), longest))


def client_of(address: str) -> str:
    """Whom the counts hold to account: the IPv4 address, or the /64 network of an IPv6 one
    (one household or server gets a whole /64, and can choose any address in it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:45]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)


def _keys(email: str, address: str) -> tuple[str, str, str]:
    client = client_of(address)
    return f"pair:{email}|{client}", f"account:{email}", f"address:{client}"


def wait_seconds(email: str, address: str) -> int:
    """Whole seconds until an attempt for `email` from `address` may be checked (0: now)."""
    now = utcnow()
    latest = db.session.scalar(
        select(func.max(LoginThrottle.not_before)).where(
            LoginThrottle.key.in_(_keys(email, address)), LoginThrottle.not_before > now
        )
    )
    return math.ceil((latest - now).total_seconds()) if latest is not None else 0


def record_failure(email: str, address: str) -> None:
    """Count a failed attempt under its keys and set their delays, in one short transaction.
    Each count is one atomic upsert, so attempts failing at once in two workers both count."""
    config = current_app.config
    now = utcnow()
    per_pair = config["LOGIN_DELAY_AFTER_FAILURES"]
    pair_key, account_key, address_key = _keys(email, address)
    with transaction():
        pair = _count(pair_key, per_pair, config["LOGIN_DELAY_MAX_SECONDS_PAIR"], now)
        _count(
            account_key,
            config["LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY"],
            config["LOGIN_DELAY_MAX_SECONDS_ACCOUNT"],
            now,
        )
        if pair <= per_pair:  # later failures of this pair are its own delay's business
            _count(
                address_key,
                config["LOGIN_ADDRESS_FAILURES_BEFORE_DELAY"],
                config["LOGIN_DELAY_MAX_SECONDS_ADDRESS"],
                now,
            )


def _count(key: str, after: int, longest: float, now: datetime) -> int:
    """Add one failure to `key`, starting again from one when its last failure is forgotten,
    and set its delay; the number of failures."""
    config = current_app.config
    forgotten = now - timedelta(minutes=config["LOGIN_FAILURES_FORGOTTEN_AFTER_MINUTES"])
    dialect = db.session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stale = LoginThrottle.last_failure_at < forgotten
    statement = (
        insert(LoginThrottle)
        .values(key=key, failures=1, last_failure_at=now, not_before=None)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={
                "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                "last_failure_at": now,
                "not_before": case((stale, None), else_=LoginThrottle.not_before),
            },
        )
        .returning(LoginThrottle.failures)
    )
    failures = int(db.session.execute(statement).scalar_one())
    seconds = delay_seconds(
        failures, after=after, base=config["LOGIN_DELAY_BASE_SECONDS"], longest=longest
    )
    if seconds:
        # The row is this transaction's since the upsert: no other count comes in between.
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(not_before=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
    return failures


def record_success(email: str, address: str) -> None:
    """A successful login clears its pair and account counts; counts nobody needs any more
    (forgotten, no delay running) are removed, everyone's."""
    pair_key, account_key, _ = _keys(email, address)
    now = utcnow()
    forgotten = now - timedelta(
        minutes=current_app.config["LOGIN_FAILURES_FORGOTTEN_AFTER_MINUTES"]
    )
    with transaction():
        db.session.execute(
            delete(LoginThrottle).where(
                or_(
                    LoginThrottle.key.in_((pair_key, account_key)),
                    (LoginThrottle.last_failure_at < forgotten)
                    & or_(LoginThrottle.not_before.is_(None), LoginThrottle.not_before <= now),
                )
            )
        )
