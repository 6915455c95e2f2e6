"""Sessions kept on the server, a login that costs one verification whatever the account, and
growing delays after failed logins that an attacker cannot turn against the real user.

A copied cookie is the attacker here: it must stop working the moment its session ends.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from config import ProductionConfig
from incidents import create_app, services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, LoginThrottle, Role, User, UserSession
from incidents.services.logins import client_of, delay_seconds
from tests.conftest import PASSWORD, Client, login

WRONG = "not the password at all"
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOME, OFFICE, ATTACKER = "198.51.100.7", "192.0.2.10", "203.0.113.66"


def post_login(client: Client, email: str, password: str, **extra: str) -> Any:
    return client.post("/login", data={"email": email, "password": password, **extra})


def browser(app: Flask, address: str = "127.0.0.1", agent: str = "Firefox/140.0") -> Client:
    """A test client that comes from `address` with this user agent."""
    client = cast(Client, app.test_client())
    client.environ_base.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    return client


def cookie(client: Client) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def sessions_of(user: User) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).filter_by(user_id=user.id)))


def throttle(key: str) -> LoginThrottle | None:
    db.session.expire_all()
    return db.session.get(LoginThrottle, key)


def is_sent_to_login(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# Logout, timeouts, password changes and deactivation end the session on the server.


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(app, make_user):
    eva = make_user(email="eva@example.test")
    incident = services.quick_log(
        eva, "copied-cookie-0001", IncidentType.VERBAL, Channel.COUNTER, "Shouted at me."
    )
    client = browser(app)
    assert post_login(client, "eva@example.test", PASSWORD).status_code == 302
    page = f"/incidents/{incident.id}"
    assert client.get(page).status_code == 200
    copied = cookie(client)

    assert client.post("/logout").status_code == 302
    thief = browser(app, ATTACKER)
    thief.set_cookie("session", copied)
    for path in (page, "/", "/account/data"):
        assert is_sent_to_login(thief.get(path)), path
    assert sessions_of(eva) == []


def test_deactivation_ends_every_session_at_once(app, make_user):
    admin = make_user(Role.ADMIN)
    leaver = make_user(email="leaver@example.test")
    laptop, phone = browser(app), browser(app, HOME)
    for client in (laptop, phone):
        assert post_login(client, "leaver@example.test", PASSWORD).status_code == 302
    copied = cookie(phone)
    assert len(sessions_of(leaver)) == 2

    services.set_active(admin, leaver, False)
    assert sessions_of(leaver) == []
    thief = browser(app, ATTACKER)
    thief.set_cookie("session", copied)
    for client in (laptop, phone, thief):
        assert is_sent_to_login(client.get("/"))


def test_a_password_change_ends_the_other_sessions_and_renews_this_one(app, make_user):
    user = make_user(email="pw@example.test")
    changer, other = browser(app), browser(app, HOME)
    for client in (changer, other):
        assert post_login(client, "pw@example.test", PASSWORD).status_code == 302
    before = cookie(changer)

    new = "a brand new password"
    response = changer.post(
        "/account/password", data={"current": PASSWORD, "new": new, "repeat": new}
    )
    assert response.status_code == 302
    assert changer.get("/").status_code == 200  # the changer goes on, in a fresh session
    assert is_sent_to_login(other.get("/"))
    (fresh,) = sessions_of(user)
    assert cookie(changer) != before
    replay = browser(app, ATTACKER)
    replay.set_cookie("session", before)  # the changer's own cookie from before the change
    assert is_sent_to_login(replay.get("/"))
    assert sessions_of(user) == [fresh]


def test_a_password_set_by_someone_else_ends_every_session(app, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(email="reset@example.test")
    client = browser(app)
    assert post_login(client, "reset@example.test", PASSWORD).status_code == 302
    assert len(sessions_of(user)) == 1
    services.set_password(admin, user, "set by someone else, long enough")
    assert sessions_of(user) == []
    assert is_sent_to_login(client.get("/"))


def test_an_idle_session_ends_on_the_server(app, make_user):
    user = make_user(email="idle@example.test")
    client = browser(app)
    with time_machine.travel(START, tick=False) as clock:
        assert post_login(client, "idle@example.test", PASSWORD).status_code == 302
        assert len(sessions_of(user)) == 1
        copied = cookie(client)
        clock.move_to(START + timedelta(minutes=29))
        assert client.get("/").status_code == 200
        clock.move_to(START + timedelta(minutes=29 + 31))
        thief = browser(app, ATTACKER)
        thief.set_cookie("session", copied)
        assert is_sent_to_login(thief.get("/"))
        assert sessions_of(user) == []  # deleted when found
        assert is_sent_to_login(client.get("/"))
        assert "Uw sessie is beëindigd" in client.get("/login").text


def test_a_session_ends_on_the_server_after_12_hours_even_when_active(app, make_user):
    user = make_user(email="long@example.test")
    client = browser(app)
    with time_machine.travel(START, tick=False) as clock:
        assert post_login(client, "long@example.test", PASSWORD).status_code == 302
        for minutes in range(25, 12 * 60, 25):
            clock.move_to(START + timedelta(minutes=minutes))
            assert client.get("/").status_code == 200
        assert len(sessions_of(user)) == 1
        clock.move_to(START + timedelta(hours=12, minutes=1))
        assert is_sent_to_login(client.get("/"))
        assert sessions_of(user) == []


def test_last_seen_is_written_at_most_once_a_minute(app, make_user):
    user = make_user(email="seen@example.test")
    client = browser(app)
    with time_machine.travel(START, tick=False) as clock:
        assert post_login(client, "seen@example.test", PASSWORD).status_code == 302
        clock.move_to(START + timedelta(seconds=50))
        assert client.get("/").status_code == 200
        assert sessions_of(user)[0].last_seen_at == START
        clock.move_to(START + timedelta(seconds=70))
        assert client.get("/").status_code == 200
        assert sessions_of(user)[0].last_seen_at == START + timedelta(seconds=70)


def test_expired_sessions_of_anyone_are_removed_at_a_login(app, make_user):
    gone, fresh = make_user(email="gone@example.test"), make_user(email="fresh@example.test")
    with time_machine.travel(START, tick=False) as clock:
        assert post_login(browser(app), "gone@example.test", PASSWORD).status_code == 302
        clock.move_to(START + timedelta(hours=1))
        assert post_login(browser(app), "fresh@example.test", PASSWORD).status_code == 302
    assert sessions_of(gone) == []
    assert len(sessions_of(fresh)) == 1


# The cookie: a browser session, an opaque id, the __Host- prefix in production.


def test_the_cookie_lasts_for_the_browser_session_and_holds_only_an_opaque_id(app, make_user):
    user = make_user(email="cookie@example.test")
    client = browser(app)
    response = post_login(client, "cookie@example.test", PASSWORD)
    assert response.status_code == 302
    (set_cookie,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    attributes = {part.split("=")[0].strip().lower() for part in set_cookie.split(";")}
    assert "expires" not in attributes and "max-age" not in attributes
    assert {"httponly", "samesite"} <= attributes
    assert not [h for h in response.headers.getlist("Set-Cookie") if "remember" in h]

    # Anyone can read a signed cookie; reading it with a wrong key shows what it holds.
    reader = URLSafeTimedSerializer(
        "not the key",
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    valid, payload = reader.loads_unsafe(cookie(client))
    assert not valid and isinstance(payload, dict)
    assert set(payload) <= {"_user_id", "_fresh", "csrf_token", "locale", "_flashes"}
    shown = repr(payload)
    for secret in (user.email, user.name, user.session_token, user.password_hash):
        assert secret not in shown
    assert payload["_user_id"] != str(user.id)
    (row,) = sessions_of(user)
    assert row.token_hash == hashlib.sha256(payload["_user_id"].encode()).hexdigest()
    assert payload["_user_id"] not in repr([(r.token_hash, r.id) for r in sessions_of(user)])


def test_production_names_the_cookie_with_the_host_prefix(monkeypatch, tmp_path):
    assert ProductionConfig.SESSION_COOKIE_NAME == "__Host-session"
    monkeypatch.setenv("SECRET_KEY", "production-test-" + "k" * 48)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "production.db"))
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("INCIDENTS_ARGON2_PROFILE", "CHEAPEST")
    monkeypatch.setenv("BASE_URL", "https://nazorg.example.org")
    production = create_app("production")
    response = production.test_client().get("/login", base_url="https://localhost")
    assert response.status_code == 200
    (set_cookie,) = response.headers.getlist("Set-Cookie")
    name, *attributes = [part.strip() for part in set_cookie.split(";")]
    assert name.startswith("__Host-session=")
    assert "Secure" in attributes and "Path=/" in attributes
    assert not [a for a in attributes if a.lower().startswith(("domain", "expires", "max-age"))]
    with production.app_context():
        db.engine.dispose()


# The sessions page.


def test_a_user_sees_their_sessions_and_ends_one_or_all_others(app, make_user):
    user = make_user(email="many@example.test")
    here = browser(app, "127.0.0.1", "Mozilla/5.0 Firefox/140.0")
    phone = browser(app, HOME, "Mozilla/5.0 (iPhone) Safari/604.1")
    tablet = browser(app, OFFICE, "Mozilla/5.0 (Android) Chrome/139.0")
    for client in (here, phone, tablet):
        assert post_login(client, "many@example.test", PASSWORD).status_code == 302

    page = here.get("/account/sessions")
    assert page.status_code == 200
    for text in (HOME, OFFICE, "iPhone", "Android", "Firefox/140.0"):
        assert text in page.text
    assert page.text.count('name="end"') == 3  # two sessions, and "all others"
    mine = {row.address: row for row in sessions_of(user)}

    assert here.post("/account/sessions", data={"end": str(mine[HOME].id)}).status_code == 302
    assert is_sent_to_login(phone.get("/"))
    assert tablet.get("/").status_code == 200
    assert here.post("/account/sessions", data={"end": "others"}).status_code == 302
    assert is_sent_to_login(tablet.get("/"))
    assert here.get("/").status_code == 200
    assert [row.address for row in sessions_of(user)] == ["127.0.0.1"]


def test_nobody_ends_someone_elses_session(app, make_user):
    eva, mallory = make_user(email="eva@example.test"), make_user(email="mallory@example.test")
    eva_browser, mallory_browser = browser(app, HOME), browser(app, ATTACKER)
    assert post_login(eva_browser, "eva@example.test", PASSWORD).status_code == 302
    login(mallory_browser, mallory)
    (evas,) = sessions_of(eva)

    for choice in (str(evas.id), "999999", "x"):
        response = mallory_browser.post("/account/sessions", data={"end": choice})
        assert response.status_code == 404, choice
    assert HOME not in mallory_browser.get("/account/sessions").text
    assert eva_browser.get("/").status_code == 200
    # Without the form token nothing ends either.
    own = eva_browser.post("/account/sessions", data={"end": "others"}, csrf=False)
    assert own.status_code == 400
    assert len(sessions_of(eva)) == 1


def test_every_role_sees_the_sessions_page_and_the_footer_links_it(client, make_user):
    for role in Role:
        login(client, make_user(role))
        page = client.get("/")
        assert 'href="/account/sessions"' in page.text, role
        assert client.get("/account/sessions").status_code == 200, role


# One argon2 verification per login attempt, whatever the account.


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"verify": 0, "hash": 0}
    verify, hash_ = PasswordHasher.verify, PasswordHasher.hash

    def counted_verify(self: PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        calls["verify"] += 1
        return verify(self, *args, **kwargs)

    def counted_hash(self: PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        calls["hash"] += 1
        return hash_(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", counted_verify)
    monkeypatch.setattr(PasswordHasher, "hash", counted_hash)
    return calls


@pytest.mark.parametrize(
    ("email", "password", "status"),
    [
        ("known@example.test", WRONG, 200),
        ("nobody@example.test", WRONG, 200),
        ("nobody@example.test", PASSWORD, 200),
        ("gone@example.test", PASSWORD, 200),  # deactivated, with the right password
        ("gone@example.test", WRONG, 200),
        ("known@example.test", PASSWORD, 302),
    ],
    ids=["known-wrong", "unknown", "unknown-right", "deactivated", "deactivated-wrong", "right"],
)
def test_every_login_makes_exactly_one_verification(
    client, make_user, argon2_calls, email, password, status
):
    admin = make_user(Role.ADMIN)
    make_user(email="known@example.test")
    services.set_active(admin, make_user(email="gone@example.test"), False)
    argon2_calls.update(verify=0, hash=0)
    assert post_login(client, email, password).status_code == status
    assert argon2_calls == {"verify": 1, "hash": 0}


# Growing delays instead of a lock.


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 4), (12, 512), (13, 900), (10**6, 900)],
)
def test_the_delay_doubles_with_each_failure_up_to_its_longest(failures, seconds):
    assert delay_seconds(failures, after=3, base=1, longest=900) == seconds


def fail(client: Client, email: str, failures: int, clock: Any) -> None:
    """`failures` wrong passwords from `client`, each checked: every delay is waited out."""
    checked = 0
    for _ in range(4 * failures):
        response = post_login(client, email, WRONG)
        if response.status_code == 200:
            checked += 1
            if checked == failures:
                return
        else:
            assert response.status_code == 429, response.status_code
            clock.shift(int(response.headers["Retry-After"]))
    raise AssertionError(f"only {checked} of {failures} attempts were checked")


def test_the_delay_of_one_address_grows_and_the_right_password_resets_it(app, make_user):
    make_user(email="typo@example.test")
    client = browser(app, HOME)
    waits = []
    with time_machine.travel(START, tick=False) as clock:
        # Inside the journey: the signed cookie would be too old (or too young) outside it.
        client.post("/language", data={"locale": "en"})
        for _ in range(3):
            assert post_login(client, "typo@example.test", WRONG).status_code == 200
        for _ in range(5):
            refused = post_login(client, "typo@example.test", WRONG)
            assert refused.status_code == 429
            waits.append(int(refused.headers["Retry-After"]))
            assert f"Wait {waits[-1]} second" in refused.text
            clock.shift(waits[-1] - 0.5)
            assert post_login(client, "typo@example.test", PASSWORD).status_code == 429
            clock.shift(0.5)
            assert post_login(client, "typo@example.test", WRONG).status_code == 200
        assert waits == [1, 2, 4, 8, 16]
        clock.shift(32)
        assert post_login(client, "typo@example.test", PASSWORD).status_code == 302
        client.post("/logout")
        assert throttle(f"pair:typo@example.test|{HOME}") is None
        assert throttle("account:typo@example.test") is None
        address = throttle(f"address:{HOME}")  # one's own login never clears a spraying count
        assert address is not None and address.failures == 3
        assert post_login(client, "typo@example.test", WRONG).status_code == 200  # no delay


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8:0:7:1:2:3:4", "2001:db8:0:7::/64"),
        ("2001:DB8:0:7::9", "2001:db8:0:7::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:192.0.2.10", "192.0.2.10"),
        ("", ""),
    ],
)
def test_an_ipv6_address_counts_as_its_64_network(address, client):
    assert client_of(address) == client


def test_another_address_in_the_same_ipv6_network_waits_too(app, make_user):
    make_user(email="six@example.test")
    with time_machine.travel(START, tick=False):
        for n in range(3):
            attacker = browser(app, f"2001:db8:0:7::{n + 1}")
            assert post_login(attacker, "six@example.test", WRONG).status_code == 200
        assert (
            post_login(browser(app, "2001:db8:0:7::99"), "six@example.test", WRONG).status_code
            == 429
        )
        home = browser(app, "2001:db8:0:8::1")
        assert post_login(home, "six@example.test", PASSWORD).status_code == 302


def test_a_running_delay_checks_no_password(app, make_user, argon2_calls):
    make_user(email="guessed@example.test")
    attacker = browser(app, ATTACKER)
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            assert post_login(attacker, "guessed@example.test", WRONG).status_code == 200
        argon2_calls.update(verify=0, hash=0)
        assert post_login(attacker, "guessed@example.test", PASSWORD).status_code == 429
        assert argon2_calls == {"verify": 0, "hash": 0}


def test_an_attacker_elsewhere_keeps_the_real_user_out_for_at_most_a_minute(app, make_user):
    make_user(email="victim@example.test")
    attacker, victim = browser(app, ATTACKER), browser(app, HOME)
    with time_machine.travel(START, tick=False) as clock:
        fail(attacker, "victim@example.test", 20, clock)
        # Right after the attacker's last failure: only the short delay of the account.
        response = post_login(victim, "victim@example.test", PASSWORD)
        assert response.status_code == 429
        wait = int(response.headers["Retry-After"])
        assert 0 < wait <= app.config["LOGIN_DELAY_MAX_SECONDS_ACCOUNT"] == 60
        clock.shift(wait)
        assert post_login(victim, "victim@example.test", PASSWORD).status_code == 302
        # The attacker's own address still waits its much longer delay.
        response = post_login(attacker, "victim@example.test", PASSWORD)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 60


def test_one_person_behind_the_office_proxy_does_not_slow_the_office(app, make_user):
    make_user(email="target@example.test")
    make_user(email="colleague@example.test")
    nuisance, colleague = browser(app, OFFICE), browser(app, OFFICE)
    with time_machine.travel(START, tick=False) as clock:
        fail(nuisance, "target@example.test", 40, clock)
        # Hundreds of refused attempts while the delay runs cost the office nothing either.
        for _ in range(50):
            assert post_login(nuisance, "target@example.test", WRONG).status_code == 429
        address = throttle(f"address:{OFFICE}")
        assert address is not None and address.failures == 3
        assert post_login(colleague, "colleague@example.test", PASSWORD).status_code == 302


def test_spraying_many_accounts_from_one_address_slows_that_address(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_FAILURES_BEFORE_DELAY", 6)
    make_user(email="elsewhere@example.test")
    sprayer, elsewhere = browser(app, ATTACKER), browser(app, HOME)
    with time_machine.travel(START, tick=False):
        for n in range(6):
            assert post_login(sprayer, f"sprayed{n % 2}@example.test", WRONG).status_code == 200
        assert post_login(sprayer, "sprayed9@example.test", WRONG).status_code == 429
        assert post_login(elsewhere, "elsewhere@example.test", PASSWORD).status_code == 302


def test_failures_are_forgotten_after_an_hour_without_one(app, make_user):
    make_user(email="later@example.test")
    client = browser(app, HOME)
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            post_login(client, "later@example.test", WRONG)
        clock.shift(timedelta(minutes=61))
        for _ in range(2):
            assert post_login(client, "later@example.test", WRONG).status_code == 200
        row = throttle(f"pair:later@example.test|{HOME}")
        assert row is not None and row.failures == 2


@pytest.fixture
def racing_clients(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Client]]:
    # No delay within the race, so that every attempt is checked and must be counted.
    monkeypatch.setitem(app.config, "LOGIN_DELAY_AFTER_FAILURES", 100)
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY", 100)
    yield [browser(app, ATTACKER) for _ in range(8)]


@pytest.mark.parametrize("round_", range(3))
def test_failures_at_the_same_moment_all_count(app, make_user, racing_clients, round_):
    email = f"raced{round_}@example.test"
    make_user(email=email)
    barrier = threading.Barrier(len(racing_clients))
    statuses: list[int | Exception] = []

    def attempt(client: Client) -> None:
        try:
            barrier.wait(timeout=20)
            statuses.append(post_login(client, email, WRONG).status_code)
        except Exception as error:  # the test looks at it
            statuses.append(error)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in racing_clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * len(racing_clients)
    for key in (f"pair:{email}|{ATTACKER}", f"account:{email}", f"address:{ATTACKER}"):
        row = throttle(key)
        assert row is not None and row.failures == len(racing_clients), key
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 3


def test_flask_remind_deletes_the_sessions_that_timed_out(app, make_user):
    from incidents.models import utcnow
    from incidents.services import sessions

    user = make_user()
    with app.app_context():
        sessions.start(user, address="127.0.0.1", user_agent="test")
    with time_machine.travel(utcnow() + timedelta(hours=13)):
        result = app.test_cli_runner().invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_the_access_export_lists_the_sessions_but_never_their_secret(app, make_user):
    import json

    from incidents.privacy import access_export

    user = make_user()
    client = login(app.test_client(), user)
    token = client.get_cookie("session")
    data = access_export.collect(db.session.get_one(User, user.id))
    assert [(s["address"], s["browser"]) for s in data["sessions"]] == [
        ("127.0.0.1", "test client")
    ]
    dumped = json.dumps(data)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row is not None
    assert row.token_hash not in dumped and token is not None
    page = client.get("/account/data").text
    assert "test client" in page
