"""Single sign-on with OpenID Connect against a real provider (oidc-provider, see
tests/oidc_provider.py): the test client is the app's browser, a `requests` session walks the
provider's pages, and each test hands the provider's redirects from one to the other itself.

Sign-in, the refusals (unknown, deactivated, another subject, no e-mail claim, cancelled),
tampering (state, nonce, a forged or expired ID token), creating accounts, logging out at the
provider, and password login switched off for all but break-glass admins.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from markupsafe import escape
from sqlalchemy import select

from incidents import create_app, services
from incidents.auth import oidc_client
from incidents.auth.oidc import refusal_message
from incidents.auth.oidc_client import SignOnFailed
from incidents.extensions import db
from incidents.models import AccountSource, AuditAction, AuditEvent, Role, User
from incidents.services import ServiceError, logins, single_sign_on
from incidents.services.single_sign_on import Refusal
from tests.conftest import PASSWORD, make_app, run_fresh
from tests.oidc_provider import APP_URL, CLIENT_ID, CLIENT_SECRET, LoginRequired, OidcProvider

CALLBACK = f"{APP_URL}/login/oidc/callback"


@pytest.fixture
def provider(app: Flask, oidc_provider: OidcProvider, monkeypatch) -> OidcProvider:
    """The app set up for single sign-on with the test provider, in English."""
    settings = {
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_NAME": "Gemeente Testdorp",
        "BASE_URL": APP_URL,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return oidc_provider


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    """The person's browser at the provider (its cookies are the provider's session)."""
    with requests.Session() as http:
        yield http


@pytest.fixture
def english(client: FlaskClient) -> FlaskClient:
    client.post("/language", data={"locale": "en", "next": "/login"})
    return client


_accounts = iter(range(1, 1_000_000))


def account(provider: OidcProvider, email: str | None, **claims: Any) -> str:
    """A new account at the provider; its login name (the subject)."""
    sub = f"sub-{next(_accounts)}-{time.monotonic_ns()}"
    provider.add_account(sub, email, **claims)
    return sub


def start(client: FlaskClient, next_target: str = "") -> str:
    """Press the button on the login page: the address of the provider's authorization."""
    response = client.post("/login/oidc", data={"next": next_target})
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def callback(client: FlaskClient, url: str) -> Any:
    assert url.startswith(CALLBACK + "?"), url
    return client.get(url.removeprefix(APP_URL))


def sign_in(
    client: FlaskClient,
    provider: OidcProvider,
    login: str | None,
    browser: requests.Session | None = None,
) -> Any:
    """The whole round: button, provider's pages, callback; the callback's response. Without
    `browser`, in a browser of its own (no session at the provider yet)."""
    with nullcontext(browser) if browser is not None else requests.Session() as http:
        return callback(client, provider.browse(http, start(client), login))


def refused_page(response: Any) -> str:
    """The login page with the refusal."""
    assert response.status_code == 200, (response.status_code, response.headers)
    assert 'class="alert alert--error" role="alert"' in response.text
    assert 'name="password"' in response.text  # the login page, to try again
    return str(response.text)


def refusals() -> list[dict[str, Any]]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.AUTH_OIDC_REFUSED)
        .order_by(AuditEvent.id)
    ).all()
    return [dict(event.details or {}, object_id=event.object_id) for event in events]


def logged_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


# --- Signing in ------------------------------------------------------------------------------


def test_sign_in_matches_by_email_then_by_subject(english, provider, browser, make_user):
    user = make_user(Role.MANAGER, email="eva@example.test", name="Eva de Vries")
    sub = account(provider, "  Eva@Example.TEST ", name="Eva")

    authorize = start(english, "/reporting/mine")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer + "/auth?")
    assert query["redirect_uri"] == [CALLBACK]  # from BASE_URL, not from the request's Host
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["scope"] == ["openid email profile"]

    response = callback(english, provider.browse(browser, authorize, sub))  # its session lives
    assert response.status_code == 302 and response.headers["Location"] == "/reporting/mine"
    assert "Eva de Vries" in english.get("/").text
    db.session.refresh(user)
    assert user.oidc_subject == sub
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.AUTH_OIDC_LOGIN)
    ).all()
    assert [(e.actor_id, e.object_id, e.details) for e in events] == [
        (user.id, user.id, {"first": True, "created": False})
    ]

    # Later the subject decides: a new address at the provider still reaches the account.
    english.post("/logout")
    english.post("/language", data={"locale": "en", "next": "/login"})  # logout forgets it
    provider.add_account(sub, "eva.devries@example.test")
    assert sign_in(english, provider, None, browser).headers["Location"] == "/"
    assert logged_in(english)


def test_the_session_is_new_and_the_cookie_holds_no_address(english, provider, make_user):
    make_user(email="sam@example.test")
    sub = account(provider, "sam@example.test")
    with english.session_transaction() as session:
        session["planted"] = "by an attacker before the login"
    sign_in(english, provider, sub)
    with english.session_transaction() as session:
        assert "planted" not in session  # begin_session: nothing from before survives
        assert session.get("locale") == "en"
        sealed = session["oidc_logout_hint"]
        assert not any(key.startswith("_state_") for key in session)
    assert "sam@example.test" not in sealed and sub not in sealed


def test_claims_from_the_userinfo_endpoint(english, provider, make_user):
    """A provider that keeps the address out of the ID token: it is read from userinfo."""
    make_user(email="uma@example.test")
    sub = account(provider, "uma@example.test", userinfo_only=True)
    assert sign_in(english, provider, sub).headers["Location"] == "/"
    assert logged_in(english)


def test_another_email_claim_can_be_configured(english, provider, make_user, monkeypatch):
    monkeypatch.setitem(english.application.config, "OIDC_EMAIL_CLAIM", "name")
    make_user(email="nina@example.test")
    sub = account(provider, "other@example.test", name="nina@example.test")
    assert sign_in(english, provider, sub).headers["Location"] == "/"


# --- Refusals ------------------------------------------------------------------------------


def test_unknown_user_is_refused_in_their_language(english, provider, app):
    sub = account(provider, "stranger@example.test")
    page = refused_page(sign_in(english, provider, sub))
    assert "There is no account for stranger@example.test in this application" in page
    with english.session_transaction() as session:
        assert "stranger" not in str(dict(session))  # the cookie holds no address
    assert not logged_in(english)
    assert refusals() == [{"reason": "unknown_user", "object_id": None}]
    assert db.session.scalar(select(User).where(User.email == "stranger@example.test")) is None

    dutch = app.test_client()  # the default language
    page = refused_page(sign_in(dutch, provider, sub))
    with app.test_request_context(), force_locale("nl"):
        expected = refusal_message(Refusal.UNKNOWN_USER, "stranger@example.test")
    assert '<html lang="nl">' in page and str(escape(expected)) in page


def test_deactivated_user_is_refused(english, provider, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(email="leaver@example.test")
    sub = account(provider, "leaver@example.test")
    services.set_active(admin, user, False)
    page = refused_page(sign_in(english, provider, sub))
    assert "Your account has been deactivated" in page
    assert not logged_in(english)
    assert refusals() == [{"reason": "deactivated", "object_id": user.id}]


def test_deactivated_after_the_first_sign_in_is_refused_by_subject(english, provider, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(email="later@example.test")
    sub = account(provider, "later@example.test")
    sign_in(english, provider, sub)
    english.post("/logout")
    english.post("/language", data={"locale": "en", "next": "/login"})  # logout forgets it
    db.session.refresh(user)
    services.set_active(admin, user, False)
    page = refused_page(sign_in(english, provider, sub))
    assert "Your account has been deactivated" in page


def test_an_account_bound_to_another_subject_is_refused(english, provider, make_user):
    """A reused address does not open a former colleague's account."""
    user = make_user(email="desk@example.test")
    first = account(provider, "desk@example.test")
    sign_in(english, provider, first)
    english.post("/logout")
    english.post("/language", data={"locale": "en", "next": "/login"})  # logout forgets it
    second = account(provider, "desk@example.test")
    page = refused_page(sign_in(english, provider, second))
    assert "belongs to someone else at the sign-in service" in page
    assert refusals() == [{"reason": "subject_mismatch", "object_id": user.id}]

    # Unless an admin says the account is that person's now (made anew at the provider).
    db.session.refresh(user)
    single_sign_on.forget_subject(None, user)
    assert sign_in(english, provider, second).headers["Location"] == "/"
    db.session.refresh(user)
    assert user.oidc_subject == second


def test_missing_or_unverified_email_is_refused(english, provider, make_user):
    make_user(email="vera@example.test")
    nameless = account(provider, None, name="No Address")
    page = refused_page(sign_in(english, provider, nameless))
    assert "did not give a verified e-mail address" in page
    unverified = account(provider, "vera@example.test", email_verified=False)
    page = refused_page(sign_in(english, provider, unverified))
    assert "did not give a verified e-mail address" in page
    assert [r["reason"] for r in refusals()] == ["missing_claim", "email_unverified"]
    assert not logged_in(english)


def test_cancelling_at_the_provider(english, provider, browser):
    url = provider.browse(browser, start(english), cancel=True)
    assert parse_qs(urlsplit(url).query)["error"] == ["access_denied"]
    page = refused_page(callback(english, url))
    assert "Single sign-on was cancelled or not allowed" in page
    assert refusals() == [{"reason": "access_denied", "object_id": None}]


# --- Creating accounts ------------------------------------------------------------------------


def test_create_users_makes_an_employee_without_a_team(
    english, provider, make_user, login_as, monkeypatch
):
    monkeypatch.setitem(english.application.config, "OIDC_CREATE_USERS", True)
    sub = account(provider, "New.Colleague@example.test", name="New Colleague")
    response = sign_in(english, provider, sub)
    assert response.headers["Location"] == "/"
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "new.colleague@example.test"))
    assert user is not None
    assert (user.name, user.role, user.team, user.source, user.oidc_subject, user.active) == (
        "New Colleague",
        Role.EMPLOYEE,
        None,
        AccountSource.OIDC,
        sub,
        True,
    )
    created = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == AuditAction.USER_CREATE)
    )
    assert created is not None and created.details == {"role": "employee", "source": "oidc"}

    # The admin's list shows where it came from.
    admin = login_as(Role.ADMIN)
    admin.post("/language", data={"locale": "en", "next": "/"})
    assert "made at first single sign-on" in admin.get("/admin/users").text


# --- Tampering ------------------------------------------------------------------------------


def test_tampered_or_replayed_state_is_refused(english, provider, browser, make_user):
    make_user(email="tess@example.test")
    sub = account(provider, "tess@example.test")
    url = provider.browse(browser, start(english), sub)
    tampered = url.replace("state=", "state=x")
    page = refused_page(callback(english, tampered))
    assert "it took too long, or it was started in another window" in page
    # Any answer ends the pending sign-in: the genuine one no longer works after it.
    refused_page(callback(english, url))
    # Nor does an answer without any state, or one from another browser.
    refused_page(english.get("/login/oidc/callback?code=abc"))
    other = english.application.test_client()
    refused_page(callback(other, provider.browse(browser, start(english), sub)))
    assert [r["reason"] for r in refusals()] == ["state"] * 4
    assert not logged_in(english)


def test_a_sign_in_left_too_long_is_refused(english, provider, browser, make_user):
    make_user(email="slow@example.test")
    sub = account(provider, "slow@example.test")
    url = provider.browse(browser, start(english), sub)
    later = datetime.now(UTC) + timedelta(minutes=oidc_client.SIGN_IN_MINUTES, seconds=1)
    with time_machine.travel(later, tick=False):
        refused_page(callback(english, url))
    assert [r["reason"] for r in refusals()] == ["state"]


def test_an_answer_from_another_issuer_is_refused(english, provider, browser, make_user):
    """RFC 9207: the `iss` of the answer must be our provider's (mix-up attacks)."""
    make_user(email="iris@example.test")
    sub = account(provider, "iris@example.test")
    url = provider.browse(browser, start(english), sub)
    forged = url.replace("iss=", "iss=https%3A%2F%2Fevil.example%2F&was=")
    refused_page(callback(english, forged))
    assert [r["reason"] for r in refusals()] == ["state"]


def test_tampered_nonce_is_refused(english, provider, browser, make_user):
    make_user(email="nora@example.test")
    sub = account(provider, "nora@example.test")
    url = provider.browse(browser, start(english), sub)
    with english.session_transaction() as session:
        [key] = [key for key in session if key.startswith("_state_oidc_")]
        flow = session[key]
        flow["data"]["nonce"] = "another sign-in's nonce"
        session[key] = flow
    page = refused_page(callback(english, url))
    assert "could not be verified" in page
    assert refusals() == [{"reason": "nonce", "object_id": None}]
    assert not logged_in(english)


def test_a_code_used_twice_is_refused(english, provider, browser, make_user):
    """The code is the provider's to refuse a second time; here the state goes first."""
    make_user(email="otto@example.test")
    sub = account(provider, "otto@example.test")
    url = provider.browse(browser, start(english), sub)
    with english.session_transaction() as session:
        saved = {k: v for k, v in session.items() if k.startswith("_state_oidc_")}
    assert callback(english, url).headers["Location"] == "/"
    english.post("/logout")
    english.post("/language", data={"locale": "en", "next": "/login"})  # logout forgets it
    with english.session_transaction() as session:
        session.update(saved)  # an old copy of the cookie, with the used flow in it
    refused_page(callback(english, url))
    assert refusals() == [{"reason": "code_refused", "object_id": None}]


def _signed(claims: dict[str, Any], key: RSAKey) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _claims(provider: OidcProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "sub": "forged-subject",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": "the nonce",
        "email": "eva@example.test",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _verify(provider: OidcProvider, token: str, keys: dict[str, Any]) -> dict[str, Any]:
    return oidc_client.verify_id_token(
        token, keys=keys, issuer=provider.issuer, client_id=CLIENT_ID, nonce="the nonce"
    )


def test_id_token_checks(oidc_provider):
    """The callback's verification of the ID token, fed tokens signed with a key of our own."""
    provider = oidc_provider
    ours = RSAKey.generate_key(2048, parameters={"kid": "our-key", "use": "sig"})
    keys = dict(KeySet([ours]).as_dict(private=False))
    assert _verify(provider, _signed(_claims(provider), ours), keys)["sub"] == "forged-subject"

    def refusal(claims: dict[str, Any], key_set: dict[str, Any] = keys) -> Refusal:
        with pytest.raises(SignOnFailed) as failure:
            _verify(provider, _signed(claims, ours), key_set)
        return failure.value.refusal

    assert refusal(_claims(provider, exp=int(time.time()) - 600)) is Refusal.EXPIRED
    assert refusal(_claims(provider, nonce="another")) is Refusal.NONCE
    assert refusal(_claims(provider, nonce=None)) is Refusal.NONCE
    assert refusal(_claims(provider, iss="https://evil.example")) is Refusal.CLAIMS
    assert refusal(_claims(provider, aud="another-client")) is Refusal.CLAIMS
    # An audience that is not ours, even with our client as authorized party.
    assert refusal(_claims(provider, aud=["another-client"], azp=CLIENT_ID)) is Refusal.CLAIMS
    assert refusal(_claims(provider, sub=None)) is Refusal.CLAIMS

    # Signed with our key but presented as the provider's: its keys do not verify it.
    provider_keys = requests.get(provider.metadata()["jwks_uri"], timeout=10).json()
    [provider_kid] = [key["kid"] for key in provider_keys["keys"]]
    impostor = RSAKey.generate_key(2048, parameters={"kid": provider_kid, "use": "sig"})
    with pytest.raises(SignOnFailed) as failure:
        _verify(provider, _signed(_claims(provider), impostor), provider_keys)
    assert failure.value.refusal is Refusal.SIGNATURE

    # No signature at all, or a symmetric one made with the client secret.
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    unsigned = f"{part({'alg': 'none'})}.{part(_claims(provider))}."
    with pytest.raises(SignOnFailed):
        _verify(provider, unsigned, keys)
    secret = OctKey.import_key("a client secret that is long enough for HS256")
    symmetric = jwt.encode({"alg": "HS256"}, _claims(provider), secret)
    with pytest.raises(SignOnFailed):
        _verify(provider, symmetric, {"keys": [secret.as_dict()]})
    with pytest.raises(SignOnFailed):
        oidc_client.verify_id_token(
            "not.a.token", keys=keys, issuer=provider.issuer, client_id=CLIENT_ID, nonce="n"
        )


def test_a_forged_id_token_at_the_callback_is_refused(
    english, provider, browser, make_user, monkeypatch
):
    """The provider's token endpoint answered, but with an ID token signed by someone else
    (and a key id the provider does not have: its keys are fetched again, then refused)."""
    make_user(email="fay@example.test")
    sub = account(provider, "fay@example.test")
    url = provider.browse(browser, start(english), sub)
    forger = RSAKey.generate_key(2048, parameters={"kid": "forger", "use": "sig"})
    with english.session_transaction() as session:
        [flow] = [v for k, v in session.items() if k.startswith("_state_oidc_")]
    nonce = flow["data"]["nonce"]
    real_fetch = FlaskOAuth2App.fetch_access_token

    def forged_tokens(self: Any, **kwargs: Any) -> dict[str, Any]:
        token = dict(real_fetch(self, **kwargs))
        token["id_token"] = _signed(
            _claims(provider, sub=sub, email="fay@example.test", nonce=nonce), forger
        )
        return token

    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", forged_tokens)
    page = refused_page(callback(english, url))
    assert "could not be verified" in page
    assert refusals() == [{"reason": "signature", "object_id": None}]
    assert not logged_in(english)


# --- Logging out ------------------------------------------------------------------------------


def test_logout_ends_the_session_at_the_provider(english, provider, browser, make_user):
    make_user(email="lou@example.test")
    sub = account(provider, "lou@example.test")
    sign_in(english, provider, sub, browser)
    english.post("/logout")
    english.post("/language", data={"locale": "en", "next": "/login"})  # logout forgets it
    # While the provider's session lives, a new sign-in needs no login there.
    assert sign_in(english, provider, None, browser).headers["Location"] == "/"

    response = english.post("/logout")
    end_session = response.headers["Location"]
    query = parse_qs(urlsplit(end_session).query)
    assert end_session.startswith(provider.metadata()["end_session_endpoint"] + "?")
    assert query["post_logout_redirect_uri"] == [f"{APP_URL}/login"]
    assert query["client_id"] == [CLIENT_ID] and query["id_token_hint"]
    assert not logged_in(english)

    back = provider.browse(browser, end_session)
    assert back.startswith(f"{APP_URL}/login")
    # The message, in the default language (logging out forgets the session's choice).
    assert "alert--success" in english.get(back.removeprefix(APP_URL)).text
    with pytest.raises(LoginRequired):
        provider.browse(browser, start(english))


def test_an_id_token_too_large_for_the_cookie_is_not_kept(
    english, provider, browser, make_user, monkeypatch
):
    """The logout then names only the client; the provider still ends its session."""
    monkeypatch.setattr(oidc_client, "HINT_MAX_CHARS", 10)
    make_user(email="max@example.test")
    sign_in(english, provider, account(provider, "max@example.test"), browser)
    with english.session_transaction() as session:
        assert session["oidc_logout_hint"] == ""
    end_session = english.post("/logout").headers["Location"]
    query = parse_qs(urlsplit(end_session).query)
    assert "id_token_hint" not in query and query["client_id"] == [CLIENT_ID]
    assert provider.browse(browser, end_session).startswith(f"{APP_URL}/login")
    with pytest.raises(LoginRequired):
        provider.browse(browser, start(english))


def test_after_a_password_login_logout_stays_here(english, provider, make_user):
    user = make_user(email="pat@example.test")
    response = english.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    assert english.post("/logout").headers["Location"] == "/login"


# --- The login page and password login ------------------------------------------------------


def test_without_single_sign_on_nothing_changes(english):
    page = english.get("/login").text
    assert "Log in with" not in page and "<details" not in page
    assert 'name="password"' in page
    assert english.post("/login/oidc", data={}).status_code == 404
    assert english.get("/login/oidc/callback?code=x&state=y").status_code == 404


def test_the_button_comes_above_the_password_form(english, provider):
    page = english.get("/login?next=/reporting/mine").text
    assert page.index("Log in with Gemeente Testdorp") < page.index('name="password"')
    assert "<details" not in page
    assert 'name="next" value="/reporting/mine"' in page


def test_an_unsafe_next_is_not_followed(english, provider, browser, make_user):
    make_user(email="ned@example.test")
    sub = account(provider, "ned@example.test")
    url = provider.browse(browser, start(english, "https://evil.example/"), sub)
    assert callback(english, url).headers["Location"] == "/"


def test_an_unreachable_provider_gives_a_message_not_a_500(english, app, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_ISSUER", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", "incidents")
    monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", "secret")
    page = refused_page(english.post("/login/oidc", data={}))
    assert "could not complete single sign-on" in page
    assert refusals() == [{"reason": "unreachable", "object_id": None}]


def break_glass(user: User) -> User:
    """Mark an account break-glass (as `flask` would: no actor); an employee's directly, to
    show that the flag alone does not let a non-admin use a password."""
    if user.role is Role.ADMIN:
        single_sign_on.set_break_glass(None, user, True)
    else:
        user.break_glass = True
        db.session.commit()
    return user


@pytest.fixture
def break_glass_only(app, provider, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)


def test_password_login_off_folds_the_form_away(english, break_glass_only):
    page = english.get("/login").text
    assert page.index("Log in with Gemeente Testdorp") < page.index("<details")
    assert "Break-glass login for administrators" in page
    assert '<details class="card">' in page  # closed until it has an error


def test_password_login_off_only_for_break_glass_admins(
    english, break_glass_only, make_user, monkeypatch
):
    checks: list[str] = []

    def verify(stored: str, given: str) -> bool:
        checks.append("verify")
        return True

    monkeypatch.setattr(logins, "verify_password", verify)
    monkeypatch.setattr(logins, "burn_verification_time", lambda: checks.append("burn"))
    rescue = break_glass(make_user(Role.ADMIN, email="rescue@example.test"))
    refused = [
        make_user(Role.ADMIN, email="admin@example.test"),
        break_glass(make_user(Role.EMPLOYEE, email="emp@example.test")),
    ]
    for user in refused:
        checks.clear()
        response = english.post("/login", data={"email": user.email, "password": PASSWORD})
        assert checks == ["burn"]  # one verification's time, as for a wrong password
        assert response.status_code == 200 and '<details class="card" open>' in response.text
        assert "The e-mail address or password is incorrect." in response.text
        assert not logged_in(english)

    checks.clear()
    response = english.post("/login", data={"email": rescue.email, "password": PASSWORD})
    assert checks == ["verify"] and response.headers["Location"] == "/"
    assert logged_in(english)


# --- Settings -------------------------------------------------------------------------------


def test_forms_may_lead_to_the_provider(client, app, monkeypatch):
    """The button and the logout are forms whose answer redirects to the provider: browsers
    hold that to the page's form-action."""
    assert "form-action 'self';" in client.get("/login").headers["Content-Security-Policy"]
    monkeypatch.setitem(app.config, "OIDC_ISSUER", "https://login.example.org/tenant/v2.0")
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", "incidents")
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "form-action 'self' https://login.example.org;" in policy
    assert "script-src 'self';" in policy and "default-src 'self';" in policy


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"OIDC_ISSUER": "https://idp.example"}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"),
        ({"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "x"}, "OIDC_CLIENT_SECRET"),
        ({"PASSWORD_LOGIN": False}, "only break-glass admins could log in"),
        (
            {
                "OIDC_ISSUER": "https://idp.example",
                "OIDC_CLIENT_ID": "x",
                "OIDC_CLIENT_SECRET": "y",
                "OIDC_SCOPES": "email profile",
            },
            "must include openid",
        ),
    ],
)
def test_half_configured_single_sign_on_stops_the_start(tmp_path, settings, message):
    with pytest.raises(SystemExit, match=message):
        make_app("sqlite:///" + str(tmp_path / "start.db"), **settings)


def test_production_wants_an_https_issuer(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "prod.db"))
    monkeypatch.setenv("BASE_URL", "https://nazorg.example.org")
    for key, value in {
        "INCIDENTS_OIDC_ISSUER": "http://idp.example",
        "INCIDENTS_OIDC_CLIENT_ID": "x",
        "INCIDENTS_OIDC_CLIENT_SECRET": "y",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit, match="OIDC_ISSUER must be an https:"):
        create_app("production")


def test_break_glass_accounts_are_admins_set_by_another(app, make_user):
    with force_locale("en"):
        _break_glass_accounts_are_admins_set_by_another(make_user)


def _break_glass_accounts_are_admins_set_by_another(make_user):
    first, second = make_user(Role.ADMIN), make_user(Role.ADMIN)
    employee = make_user(Role.EMPLOYEE)
    with pytest.raises(ServiceError, match="Only administrator accounts"):
        single_sign_on.set_break_glass(None, employee, True)
    with pytest.raises(ServiceError, match="Another administrator"):
        single_sign_on.set_break_glass(first, first, True)
    single_sign_on.set_break_glass(second, first, True)
    single_sign_on.set_break_glass(None, first, True)  # no change, nothing recorded
    db.session.refresh(first)
    assert first.break_glass
    changes = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.USER_UPDATE, AuditEvent.object_id == first.id
        )
    ).all()
    assert [(e.actor_id, e.details) for e in changes] == [(second.id, {"fields": ["break_glass"]})]


def test_the_break_glass_and_forget_commands(app, make_user):
    from incidents.models import Role, User

    admin = make_user(Role.ADMIN)
    runner = app.test_cli_runner()
    marked = runner.invoke(args=["break-glass", admin.email])
    assert marked.exit_code == 0, marked.output
    assert db.session.get_one(User, admin.id).break_glass is True
    employee = make_user(Role.EMPLOYEE)
    refused = runner.invoke(args=["break-glass", employee.email])
    assert refused.exit_code != 0
    assert db.session.get_one(User, employee.id).break_glass is False
    assert runner.invoke(args=["break-glass", "nobody@example.test"]).exit_code != 0
    unmarked = runner.invoke(args=["break-glass", admin.email, "--off"])
    assert unmarked.exit_code == 0 and db.session.get_one(User, admin.id).break_glass is False
    with services.transaction():
        db.session.get_one(User, employee.id).oidc_subject = "old-subject"
    forgot = runner.invoke(args=["forget-sso", employee.email])
    assert forgot.exit_code == 0, forgot.output
    db.session.expire_all()
    assert db.session.get_one(User, employee.id).oidc_subject is None


def test_without_a_provider_the_app_loads_no_client_library(tmp_path):
    """Authlib and requests (about 10 MiB per worker) come with the first single sign-on: an
    app without an identity provider never imports them (the bench's `worker_rss_mb`)."""
    script = (
        "import sys\n"
        "from incidents import create_app\n"
        "app = create_app()\n"
        "app.test_client().get('/login')\n"
        "print(sorted(m for m in ('authlib', 'requests') if m in sys.modules))\n"
    )
    result = run_fresh(script, tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
