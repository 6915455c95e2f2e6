"""Single sign-on in a real browser against a real provider (oidc-provider, see
tests/oidc_provider.py): the button on the login page, the provider's login and consent pages,
back in the app, and logging out at both; a refusal shown on the login page. The login page
with the button, and with the password form folded away, is checked with axe-core.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, heading
from tests.oidc_provider import OidcProvider

pytestmark = pytest.mark.e2e

NAME = "Gemeente Testdorp"


@pytest.fixture
def provider(app: Flask, live_server: str, oidc_provider: OidcProvider, monkeypatch) -> Any:
    """The live app set up for single sign-on, with a client registered for its address."""
    client_id, client_secret = oidc_provider.register_client(live_server)
    settings = {
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_NAME": NAME,
        "BASE_URL": live_server,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return oidc_provider


def login_page_in_english(page: Any) -> Any:
    """The login page in English (the strings of single sign-on are the same in every run,
    whichever translations the catalogue has), and the provider's web font left out (the
    browser has no internet: a failed load would count as a console error)."""
    page.route(
        re.compile(r"^https://fonts\.googleapis\.com/"),
        lambda route: route.fulfill(status=200, content_type="text/css", body=""),
    )
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    expect(heading(page)).to_have_text("Log in")
    return page


@pytest.fixture
def english(page: Any, provider: OidcProvider) -> Any:
    return login_page_in_english(page)


def at_the_provider(page: Any, login: str) -> None:
    """The provider's development pages: any login name (the subject) and password; consent."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password will do")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_sign_in_and_out_through_the_provider(english, provider, live_server, make_user):
    page = english
    make_user(email="eva@example.test", name="Eva de Vries")
    provider.add_account("e2e-eva", "eva@example.test")

    button = page.get_by_role("button", name=f"Log in with {NAME}")
    expect(button).to_be_visible()
    check_page(page)
    button.click()
    expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/interaction/"))
    at_the_provider(page, "e2e-eva")

    expect(page).to_have_url(live_server + "/")
    expect(page.locator("footer")).to_contain_text("Eva de Vries")

    page.get_by_role("button", name="Log out").click()
    # The provider asks whether to end its session too.
    expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile("^" + re.escape(live_server) + r"/login(\?|$)"))
    expect(page.locator(".alert--success")).to_be_visible()

    # The provider's session has ended: signing in again asks for the login there.
    page.get_by_role("button", name=re.compile(NAME)).click()
    expect(page.locator("input[name=login]")).to_be_visible()


def test_an_unknown_user_is_told_on_the_login_page(english, provider, live_server):
    page = english
    provider.add_account("e2e-stranger", "stranger@example.test")
    page.get_by_role("button", name=f"Log in with {NAME}").click()
    at_the_provider(page, "e2e-stranger")

    expect(page).to_have_url(re.compile("^" + re.escape(live_server) + "/login/oidc/callback"))
    expect(heading(page)).to_have_text("Log in")
    expect(page.get_by_role("alert")).to_contain_text(
        "There is no account for stranger@example.test in this application"
    )
    check_page(page)


def test_password_login_off_folds_the_form_away(page, provider, app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_LOGIN", False)
    login_page_in_english(page)
    expect(page.get_by_label("Password")).to_be_hidden()
    page.get_by_text("Break-glass login for administrators").click()
    expect(page.get_by_label("Password")).to_be_visible()
    check_page(page)
