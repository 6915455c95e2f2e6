"""Two-factor sign-in (TOTP and recovery codes), tried by breaking it: wrong, replayed, old and
early codes, used recovery codes, an expired or skipped or replayed second step, guessing, the
roles that must use it, the OpenID exemption, the admin's reset, and two requests racing.

The clock is frozen (time-machine) wherever a time step matters; nothing sleeps.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.sessions import TaggedJSONSerializer
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AuditAction,
    AuditEvent,
    LoginThrottle,
    Notification,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from incidents.services import ServiceError, two_factor
from tests.conftest import PASSWORD, login

START = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)  # 10 s into a time step of 30 s
STEP = timedelta(seconds=30)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def fresh(user: User) -> User:
    db.session.expire_all()
    found = db.session.get(User, user.id)
    assert found is not None
    return found


def code_at(user: User, offset: int = 0, when: datetime | None = None) -> str:
    """The app's code for the time step `offset` steps from `when` (default: now)."""
    secret = fresh(user).totp_secret
    assert secret is not None
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(when or datetime.now(UTC)) + offset)


def recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", html)


def set_up(client: FlaskClient, user: User) -> list[str]:
    """Through the pages: start, read the secret, confirm with a code; the recovery codes."""
    login(client, user)
    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    shown = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert shown is not None and shown.group(1).replace(" ", "") == fresh(user).totp_secret
    response = client.post("/account/two-factor/confirm", data={"code": code_at(user)})
    assert response.status_code == 200, response.text
    codes = recovery_codes(response.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_factor.is_on(fresh(user))
    return codes


def password_step(client: FlaskClient, user: User, **extra: str) -> Any:
    return client.post("/login", data={"email": user.email, "password": PASSWORD, **extra})


def code_step(client: FlaskClient, code: str) -> Any:
    return client.post("/login/two-factor", data={"code": code})


def recovery_step(client: FlaskClient, code: str) -> Any:
    return client.post("/login/two-factor", data={"recovery_code": code})


def logged_in(client: FlaskClient) -> bool:
    response = client.get("/account/sessions")
    return response.status_code == 200


def sessions_of(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
        )
        or 0
    )


def actions_of(user: User) -> list[AuditAction]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "user", AuditEvent.object_id == user.id)
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def enrolled(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], clock: Any
) -> tuple[User, list[str]]:
    """An employee with two-factor sign-in on, logged out again; and the recovery codes."""
    user = make_user(Role.EMPLOYEE, email="eva@example.test")
    codes = set_up(client, user)
    client.post("/logout")
    assert not logged_in(client)
    clock.shift(STEP)  # the code used to confirm is of the step before
    return user, codes


# --- The second step ----------------------------------------------------------------------


def test_the_password_alone_does_not_log_in_and_the_code_does(client, enrolled):
    user, _ = enrolled
    before = sessions_of(user)
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/login/two-factor"
    # Skipping the second step: nothing is open, no session exists on the server.
    assert not logged_in(client)
    assert client.get("/").headers["Location"].startswith("/login?next=")
    assert sessions_of(user) == before
    page = client.get("/login/two-factor")
    assert page.status_code == 200
    assert 'name="code"' in page.text and 'autocomplete="one-time-code"' in page.text
    assert 'name="csrf_token"' in page.text

    response = code_step(client, code_at(user))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in(client)
    assert sessions_of(user) == before + 1
    assert actions_of(user)[-2:] == [AuditAction.AUTH_TWO_FACTOR, AuditAction.AUTH_LOGIN]


def test_the_target_of_the_login_is_kept_for_after_the_code(client, enrolled):
    user, _ = enrolled
    password_step(client, user, next="/account/sessions")
    assert code_step(client, code_at(user)).headers["Location"] == "/account/sessions"


def test_a_foreign_target_is_not_followed(client, enrolled):
    user, _ = enrolled
    password_step(client, user, next="https://evil.example/")
    assert code_step(client, code_at(user)).headers["Location"] == "/"


def test_a_wrong_code_is_refused_and_recorded(client, enrolled):
    user, _ = enrolled
    password_step(client, user)
    right = code_at(user)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in (wrong, "abcdef", "1234567", " ", "٠١٢٣٤٥"):  # four counted
        response = code_step(client, attempt)
        assert response.status_code == 200, attempt
        assert not logged_in(client)
    assert AuditAction.AUTH_TWO_FACTOR_FAILED in actions_of(user)


def test_a_code_is_accepted_once(client, enrolled):
    user, _ = enrolled
    code = code_at(user)
    password_step(client, user)
    assert code_step(client, code).status_code == 302
    client.post("/logout")

    password_step(client, user)  # the same code, still within its 30 seconds: a replay
    response = code_step(client, code)
    assert response.status_code == 200 and not logged_in(client)
    assert "used already" in response.text or "al gebruikt" in response.text


def test_after_a_code_an_older_one_is_refused_though_still_in_the_window(client, enrolled):
    user, _ = enrolled
    password_step(client, user)
    assert code_step(client, code_at(user)).status_code == 302
    client.post("/logout")
    password_step(client, user)
    assert code_step(client, code_at(user, -1)).status_code == 200
    assert not logged_in(client)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_codes_of_one_step_either_side_are_accepted_and_no_further(
    app, make_user, clock, offset, accepted
):
    user = make_user(Role.EMPLOYEE)
    set_up(app.test_client(), user)
    clock.shift(10 * STEP)  # far past the code that confirmed it
    client = app.test_client()
    password_step(client, user)
    response = code_step(client, code_at(user, offset))
    assert (response.status_code == 302) is accepted
    assert logged_in(client) is accepted


def test_a_code_of_the_next_step_cannot_be_used_again_when_that_step_comes(client, enrolled, clock):
    user, _ = enrolled
    early = code_at(user, 1)
    password_step(client, user)
    assert code_step(client, early).status_code == 302
    client.post("/logout")
    clock.shift(STEP)  # now `early` is the current code
    password_step(client, user)
    assert code_step(client, early).status_code == 200
    assert not logged_in(client)


def test_a_recovery_code_works_once(client, enrolled):
    user, codes = enrolled
    password_step(client, user)
    typed = " " + codes[0].upper().replace("-", " - ") + " "  # case, spaces, dashes
    response = recovery_step(client, typed)
    assert response.status_code == 302
    assert "9 herstelcodes over" in client.get("/").text  # "9 recovery codes left."
    assert logged_in(client)
    assert AuditAction.AUTH_RECOVERY_CODE in actions_of(user)
    client.post("/logout")

    password_step(client, user)
    assert recovery_step(client, codes[0]).status_code == 200
    assert not logged_in(client)
    assert recovery_step(client, codes[1]).status_code == 302


def test_a_recovery_code_of_someone_else_is_refused(client, app, make_user, enrolled, clock):
    user, _ = enrolled
    other = make_user(Role.EMPLOYEE)
    others_codes = set_up(app.test_client(), other)
    password_step(client, user)
    assert recovery_step(client, others_codes[0]).status_code == 200
    assert not logged_in(client)


def test_the_waiting_login_expires_after_five_minutes(client, enrolled, clock):
    user, _ = enrolled
    password_step(client, user)
    clock.shift(timedelta(minutes=5, seconds=1))
    response = code_step(client, code_at(user))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not logged_in(client)
    assert client.get("/login/two-factor").headers["Location"] == "/login"


def test_the_second_step_without_the_first_sends_to_the_login(client, enrolled):
    user, _ = enrolled
    for response in (client.get("/login/two-factor"), code_step(client, code_at(user))):
        assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not logged_in(client)


def test_a_forged_waiting_login_is_ignored(client, enrolled):
    user, _ = enrolled
    with client.session_transaction() as session:
        session["two_factor"] = "bm90IGEgc2VhbGVkIGxvZ2lu"
    assert code_step(client, code_at(user)).headers["Location"] == "/login"
    with client.session_transaction() as session:
        session["two_factor"] = {"user_id": user.id, "until": 9e12, "tries": 0, "next": "/"}
    assert code_step(client, code_at(user)).headers["Location"] == "/login"
    assert not logged_in(client)


def test_the_cookie_of_a_waiting_login_names_nobody(client, enrolled):
    user, _ = enrolled
    password_step(client, user)
    cookie = client.get_cookie("session")
    assert cookie is not None
    reader = URLSafeTimedSerializer(
        "not the key",
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    _valid, payload = reader.loads_unsafe(cookie.value)
    assert isinstance(payload, dict) and "two_factor" in payload
    shown = repr(payload)
    assert user.email not in shown and '"user_id"' not in shown and "user_id" not in shown


def test_a_deactivated_account_cannot_finish_its_login(client, app, make_user, enrolled):
    user, _ = enrolled
    password_step(client, user)
    services.set_active(make_user(Role.ADMIN), fresh(user), False)
    assert code_step(client, code_at(user)).headers["Location"] == "/login"
    assert not logged_in(client)


# --- Guessing -----------------------------------------------------------------------------


def wrong_code(user: User) -> str:
    right = {code_at(user, offset) for offset in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in right)


def test_too_many_wrong_codes_end_the_waiting_login_and_then_a_delay_runs(client, enrolled, clock):
    user, _ = enrolled
    password_step(client, user)
    for _ in range(4):
        assert code_step(client, wrong_code(user)).status_code == 200
    response = code_step(client, wrong_code(user))  # the fifth
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not logged_in(client)

    # The password again: the account's count stays on the server, so even the right code
    # waits now, and is not even checked (its time step is not used up).
    password_step(client, user)
    waiting = code_step(client, code_at(user))
    assert waiting.status_code == 429
    assert waiting.headers["Retry-After"] == str(two_factor.DELAY_BASE_SECONDS)
    assert not logged_in(client)
    clock.shift(timedelta(seconds=two_factor.DELAY_BASE_SECONDS))
    assert code_step(client, code_at(user)).status_code == 302
    assert logged_in(client)
    assert db.session.get(LoginThrottle, f"two-factor:{user.id}") is None  # cleared


def test_sending_an_old_cookie_again_gives_no_more_guesses(client, enrolled):
    """An attacker who knows the password keeps the cookie from just after it and sends it
    again with every guess: the count in the cookie starts at zero each time, the account's
    does not."""
    user, _ = enrolled
    password_step(client, user)
    cookie = client.get_cookie("session")
    assert cookie is not None
    for _ in range(two_factor.FAILURES_BEFORE_DELAY):
        client.set_cookie("session", cookie.value)
        assert code_step(client, wrong_code(user)).status_code == 200
    client.set_cookie("session", cookie.value)
    assert code_step(client, code_at(user)).status_code == 429
    assert not logged_in(client)


def test_the_delay_doubles_up_to_an_hour_and_a_right_password_does_not_clear_it(
    client, enrolled, clock
):
    user, _ = enrolled
    delays = []
    for _ in range(13):
        password_step(client, user)  # a right password each time
        response = code_step(client, wrong_code(user))
        if response.status_code == 429:
            wait = int(response.headers["Retry-After"])
            delays.append(wait)
            clock.shift(timedelta(seconds=wait))
            password_step(client, user)  # the waiting login may have expired meanwhile
            assert code_step(client, wrong_code(user)).status_code == 200
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert not logged_in(client)


# --- Required roles and the exemption ---------------------------------------------------------

# Everything a user without two-factor sign-in may open when their role requires it.
SETUP_ENDPOINTS = {
    "auth.two_factor",
    "auth.two_factor_qr",
    "auth.two_factor_start",
    "auth.two_factor_confirm",
    "auth.logout",
}


@pytest.fixture
def required(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TWO_FACTOR_ROLES", ("admin", "hr", "manager"))


def every_route(app: Flask) -> list[tuple[str, str, str]]:
    from tests.web.test_routes import PUBLIC_ENDPOINTS, routes

    return [r for r in routes(app) if r[0] not in PUBLIC_ENDPOINTS]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.HR, Role.ADMIN], ids=lambda r: r.value)
def test_a_required_role_without_two_factor_reaches_only_the_setup(
    app, client, make_user, make_team, required, clock, role
):
    user = make_user(role)
    make_team()
    login(client, user)
    for endpoint, method, url in every_route(app):
        if endpoint in SETUP_ENDPOINTS:
            continue
        response = client.get(url) if method == "GET" else client.post(url, data={})
        assert response.status_code in (302, 403), (endpoint, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"] == "/account/two-factor", endpoint
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "/account/two-factor/start" in page.text
    assert client.post("/language", data={"locale": "en", "next": "/"}).status_code == 302

    client.post("/account/two-factor/start")
    assert client.get("/account/two-factor/qr.svg").status_code == 200
    client.post("/account/two-factor/confirm", data={"code": code_at(user)})
    assert client.get("/").status_code == 200
    assert client.post("/logout").headers["Location"] == "/login"


def test_the_requirement_flashes_why(client, make_user, required):
    login(client, make_user(Role.MANAGER))
    assert client.get("/").headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor").text
    assert "role requires two-factor" in page or "rol vereist" in page


def test_an_employee_is_not_required(client, make_user, required):
    login(client, make_user(Role.EMPLOYEE))
    assert client.get("/").status_code == 200


def test_an_account_of_the_openid_provider_is_exempt(client, make_user, required):
    manager = make_user(Role.MANAGER)
    with services.transaction():
        fresh(manager).oidc_subject = "provider-subject-1"
    login(client, manager)
    assert client.get("/").status_code == 200
    assert not two_factor.must_set_up(fresh(manager))


def test_an_account_of_the_provider_cannot_skip_its_mfa_with_a_password(
    client, make_user, required
):
    manager = make_user(Role.MANAGER, password=PASSWORD)
    with services.transaction():
        fresh(manager).oidc_subject = "provider-subject-2"
    password_step(client, manager)
    assert not logged_in(client)  # it signs in at the provider, whose MFA counts
    with services.transaction():
        fresh(manager).break_glass = True
    password_step(client, manager)
    assert logged_in(client)


def test_nothing_is_required_by_default(app):
    assert app.config["TWO_FACTOR_ROLES"] == ()
    from config import ProductionConfig

    assert set(ProductionConfig.TWO_FACTOR_ROLES) == {"admin", "hr", "manager"}


# --- Setting up -----------------------------------------------------------------------------


def test_the_qr_code_is_an_svg_of_the_secret_being_set_up_only(client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    login(client, user)
    assert client.get("/account/two-factor/qr.svg").status_code == 404
    client.post("/account/two-factor/start")
    response = client.get("/account/two-factor/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg") and b"<script" not in response.data
    assert response.headers["Cache-Control"] == "no-store"
    page = client.get("/account/two-factor")
    assert 'src="/account/two-factor/qr.svg"' in page.text and "alt=" in page.text
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    uri = two_factor.provisioning_uri(fresh(user))
    assert uri is not None and uri.startswith("otpauth://totp/")
    assert "issuer=Agressie-incidenten" in uri

    client.post("/account/two-factor/confirm", data={"code": code_at(user)})
    assert client.get("/account/two-factor/qr.svg").status_code == 404
    assert 'id="totp-secret"' not in client.get("/account/two-factor").text


def test_a_wrong_first_code_does_not_switch_it_on(client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    login(client, user)
    client.post("/account/two-factor/start")
    response = client.post("/account/two-factor/confirm", data={"code": wrong_code(user)})
    assert response.status_code == 200 and 'id="code-error"' in response.text
    assert not two_factor.is_on(fresh(user))
    assert client.post("/account/two-factor/confirm", data={}).status_code == 200
    assert not two_factor.is_on(fresh(user))
    # Without a password login asking for it: logging in still takes the password only.
    client.post("/logout")
    assert password_step(client, user).headers["Location"] == "/"


def test_confirming_needs_the_csrf_token(client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    login(client, user)
    client.post("/account/two-factor/start")
    assert client.post("/account/two-factor/start", csrf=False).status_code == 400
    response = client.post("/account/two-factor/confirm", data={"code": code_at(user)}, csrf=False)
    assert response.status_code == 400 and not two_factor.is_on(fresh(user))
    assert client.post("/login/two-factor", data={"code": "123456"}, csrf=False).status_code == 400


def test_switching_it_on_ends_the_other_sessions_and_is_audited(app, client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    other = login(app.test_client(), user)
    assert other.get("/").status_code == 200
    set_up(client, user)
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert AuditAction.USER_TWO_FACTOR_ON in actions_of(user)
    stored = db.session.scalars(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    ).all()
    assert len(stored) == 10 and all(len(h) == 64 for h in stored)


def test_the_recovery_codes_are_stored_as_hashes_only(client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    codes = set_up(client, user)
    stored = set(
        db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    )
    assert not {c.replace("-", "") for c in codes} & stored
    assert {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes} == stored
    trail = repr([e.details for e in db.session.scalars(select(AuditEvent))])
    assert not [c for c in codes if c in trail or c.replace("-", "") in trail]
    secret = fresh(user).totp_secret
    assert secret is not None and secret not in trail


def test_set_up_cannot_start_again_once_on(client, make_user, clock):
    user = make_user(Role.EMPLOYEE)
    set_up(client, user)
    secret = fresh(user).totp_secret
    client.post("/account/two-factor/start")
    assert fresh(user).totp_secret == secret and two_factor.is_on(fresh(user))


# --- New recovery codes, switching off, the admin's reset -------------------------------------


def test_new_recovery_codes_need_a_code_and_void_the_old_ones(client, enrolled, clock):
    user, old = enrolled
    password_step(client, user)
    code_step(client, code_at(user))
    refused = client.post(
        "/account/two-factor/recovery-codes", data={"regenerate_code": wrong_code(user)}
    )
    assert refused.status_code == 200 and 'id="regenerate_code-error"' in refused.text
    clock.shift(STEP)
    response = client.post(
        "/account/two-factor/recovery-codes", data={"regenerate_code": code_at(user)}
    )
    new = recovery_codes(response.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditAction.USER_RECOVERY_CODES in actions_of(user)
    client.post("/logout")
    password_step(client, user)
    assert recovery_step(client, old[1]).status_code == 200
    assert recovery_step(client, new[0]).status_code == 302


def test_an_employee_switches_it_off_with_a_code(client, enrolled, clock):
    user, codes = enrolled
    password_step(client, user)
    code_step(client, code_at(user))
    page = client.get("/account/two-factor").text
    assert 'name="off_code"' in page
    assert client.post("/account/two-factor/off", data={"off_code": codes[5]}).status_code == 302
    assert not two_factor.is_on(fresh(user))
    assert not db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert AuditAction.USER_TWO_FACTOR_OFF in actions_of(user)
    client.post("/logout")
    assert password_step(client, user).headers["Location"] == "/"


def test_a_required_role_cannot_switch_it_off(client, make_user, required, clock):
    manager = make_user(Role.MANAGER)
    set_up(client, manager)
    clock.shift(STEP)
    page = client.get("/account/two-factor").text
    assert 'name="off_code"' not in page
    client.post("/account/two-factor/off", data={"off_code": code_at(manager)})
    assert two_factor.is_on(fresh(manager))
    with pytest.raises(ServiceError):
        two_factor.switch_off(fresh(manager), code_at(manager, 1))


def test_an_admin_resets_it_for_someone_who_lost_their_phone(client, make_user, enrolled):
    user, _ = enrolled
    admin = make_user(Role.ADMIN)
    login(client, admin)
    page = client.get(f"/admin/users/{user.id}/edit").text
    assert f"/admin/users/{user.id}/two-factor-reset" in page
    assert client.post(f"/admin/users/{user.id}/two-factor-reset", csrf=False).status_code == 400
    response = client.post(f"/admin/users/{user.id}/two-factor-reset")
    assert response.headers["Location"] == f"/admin/users/{user.id}/edit"
    user = fresh(user)
    assert not two_factor.is_on(user) and user.totp_secret is None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.USER_TWO_FACTOR_OFF)
    ).one()
    assert event.actor_id == admin.id and event.object_id == user.id
    mail = db.session.scalars(select(Notification).where(Notification.recipient_id == user.id))
    assert [n.kind for n in mail] == ["account_changed"]
    client.post("/logout")
    assert password_step(client, user).headers["Location"] == "/"


def test_an_admin_cannot_reset_their_own(client, make_user, clock):
    admin = make_user(Role.ADMIN)
    set_up(client, admin)
    client.post(f"/admin/users/{admin.id}/two-factor-reset")
    assert two_factor.is_on(fresh(admin))


def test_only_an_admin_resets(client, make_user, enrolled):
    user, _ = enrolled
    login(client, make_user(Role.MANAGER))
    assert client.post(f"/admin/users/{user.id}/two-factor-reset").status_code == 403
    assert two_factor.is_on(fresh(user))


# --- Racing -------------------------------------------------------------------------------


def test_two_requests_with_the_same_code_log_in_once(app, enrolled):
    user, codes = enrolled
    code = code_at(user)
    barrier = threading.Barrier(4)
    results: list[Any] = [None] * 4

    def run(index: int, typed: str) -> None:
        with app.app_context():
            try:
                account = db.session.get(User, user.id)
                assert account is not None
                barrier.wait(timeout=20)
                results[index] = two_factor.verify(account, typed).outcome
            except Exception as error:  # the test looks at it
                results[index] = error
            finally:
                db.session.remove()

    typed = [code, code, codes[0], codes[0]]
    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(typed)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    outcome = two_factor.Outcome
    assert sorted(results[:2], key=str) == [outcome.CODE, outcome.WRONG]
    assert sorted(results[2:], key=str) == [outcome.RECOVERY_CODE, outcome.WRONG]
