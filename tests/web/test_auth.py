"""Login, logout, sessions, rate limits, CSRF and password changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from incidents.extensions import db
from incidents.models import AuditEvent, Role, User
from tests.conftest import PASSWORD, login


def post_login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_login_page_is_public_and_shows_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data and b'name="password"' in response.data
    assert b'name="csrf_token"' in response.data


def test_login_and_logout(client, make_user):
    user = make_user(Role.EMPLOYEE, email="eva@example.test")
    response = post_login(client, "  Eva@Example.test ", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert user.name.encode() in client.get("/").data

    assert client.get("/logout").status_code == 405  # logout is a POST
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_unknown_user_and_wrong_password_get_the_same_message(client, make_user):
    make_user(email="known@example.test")
    wrong = post_login(client, "known@example.test", "not the password at all")
    unknown = post_login(client, "nobody@example.test", PASSWORD)
    assert wrong.status_code == unknown.status_code == 200

    def message(response):
        found = re.search(r'<p class="error" id="password-error">(.*?)</p>', response.text)
        assert found is not None
        return found.group(1)

    assert message(wrong) == message(unknown)
    assert "onjuist" in message(wrong)  # Dutch by default


def test_deactivated_user_cannot_log_in_and_loses_open_sessions(client, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(email="leaver@example.test")
    other = client.application.test_client()
    login(other, user)
    assert other.get("/").status_code == 200

    from incidents import services

    services.set_active(admin, user, False)
    assert other.get("/").status_code == 302  # the open session has ended
    assert post_login(client, "leaver@example.test", PASSWORD).status_code == 200
    assert client.get("/").status_code == 302


def test_session_is_renewed_at_login(client, make_user):
    make_user(email="fix@example.test")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    post_login(client, "fix@example.test", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("/account/password?x=1", "/account/password?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_only_same_site_next_redirects(client, make_user, target, expected):
    make_user(Role.ADMIN, email="next@example.test")
    response = post_login(client, "next@example.test", PASSWORD, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_anonymous_user_is_sent_to_login_with_next(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/users"


def test_wrong_passwords_slow_an_account_down_instead_of_locking_it(client, make_user):
    make_user(email="target@example.test")
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(3):
            assert post_login(client, "target@example.test", "wrong password!!").status_code == 200
        delayed = post_login(client, "target@example.test", PASSWORD)
        assert delayed.status_code == 429 and delayed.headers["Retry-After"] == "1"
        # Another account from the same address is not slowed by this account's failures.
        make_user(email="other@example.test")
        assert post_login(client, "other@example.test", PASSWORD).status_code == 302
        client.post("/logout")
        clock.shift(1)  # the delay is over: the right password works
        assert post_login(client, "target@example.test", PASSWORD).status_code == 302


def test_checked_passwords_are_capped_per_address(client, app, monkeypatch):
    """Besides the delays, a coarse cap per address (Flask-Limiter) on passwords found wrong."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "3 per 15 minutes")
    for n in range(3):
        assert post_login(client, f"guess{n}@example.test", "wrong password!!").status_code == 200
    capped = post_login(client, "guess9@example.test", "wrong password!!")
    assert capped.status_code == 429
    assert "Te veel inlogpogingen" in capped.text


def test_attempts_refused_during_a_delay_do_not_count_toward_the_cap(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "4 per 15 minutes")
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), tick=False):
        for _ in range(3):
            assert post_login(client, "slow@example.test", "wrong password!!").status_code == 200
        for _ in range(10):
            delayed = post_login(client, "slow@example.test", "wrong password!!")
            assert delayed.status_code == 429 and "Retry-After" in delayed.headers
        assert post_login(client, "other@example.test", "wrong password!!").status_code == 200


def test_successful_logins_do_not_count_toward_the_limit(client, make_user):
    make_user(email="busy@example.test")
    for _ in range(7):
        assert post_login(client, "busy@example.test", PASSWORD).status_code == 302
        client.post("/logout")


def test_post_without_csrf_token_is_refused_and_writes_nothing(client, make_user):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    before = db.session.scalar(select(func.count()).select_from(User))
    data = {
        "name": "New",
        "email": "new@example.test",
        "role": "employee",
        "team": "0",
        "password": "a long password",
    }
    response = client.post("/admin/users/new", data=data, csrf=False)
    assert response.status_code == 400
    assert "verlopen" in response.text
    response = client.post("/admin/users/new", data={**data, "csrf_token": "forged"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_login_form_without_csrf_token_is_refused(client, make_user):
    make_user(email="csrf@example.test")
    response = client.post(
        "/login", data={"email": "csrf@example.test", "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "", "password": PASSWORD}, "email"),
        ({"email": "a@example.test", "password": ""}, "password"),
        ({"email": "a" * 300 + "@example.test", "password": PASSWORD}, "email"),
        ({"email": "a@example.test", "password": "x" * 5000}, "password"),
    ],
)
def test_bad_login_input_gets_a_message_not_a_500(client, data, field):
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text


def test_change_password(client, make_user):
    user = make_user(email="pw@example.test")
    login(client, user)
    other = client.application.test_client()
    login(other, user)

    too_short = client.post(
        "/account/password", data={"current": PASSWORD, "new": "short", "repeat": "short"}
    )
    assert 'id="new-error"' in too_short.text
    wrong = client.post(
        "/account/password",
        data={
            "current": "not it at all",
            "new": "a brand new password",
            "repeat": "a brand new password",
        },
    )
    assert 'id="current-error"' in wrong.text
    ok = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a brand new password", "repeat": "a brand new password"},
    )
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # other sessions have ended
    client.post("/logout")
    assert post_login(client, "pw@example.test", "a brand new password").status_code == 302


def test_passwords_are_hashed_with_argon2id(make_user):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_login_is_audited(client, make_user):
    make_user(email="audit@example.test")
    post_login(client, "audit@example.test", PASSWORD)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "user.create" in actions


def test_a_session_ends_after_30_idle_minutes(client, make_user):
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    make_user(email="idle@example.test")
    with time_machine.travel(start, tick=False) as clock:
        post_login(client, "idle@example.test", PASSWORD)
        assert client.get("/").status_code == 200
        clock.move_to(start + timedelta(minutes=29))
        assert client.get("/").status_code == 200  # activity keeps it alive
        clock.move_to(start + timedelta(minutes=29 + 31))
        ended = client.get("/")
        assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
        assert "Uw sessie is beëindigd" in client.get("/login").text


def test_a_session_ends_after_12_hours_even_when_active(client, make_user):
    start = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    make_user(email="long@example.test")
    with time_machine.travel(start, tick=False) as clock:
        post_login(client, "long@example.test", PASSWORD)
        for minutes in range(20, 12 * 60, 20):
            clock.move_to(start + timedelta(minutes=minutes))
            assert client.get("/healthz").status_code == 200
            assert client.get("/account/password").status_code == 200
        clock.move_to(start + timedelta(hours=12, minutes=5))
        assert client.get("/").status_code == 302
