"""Accounts in a real browser: log in and out as every demo account, the admin pages, the
language switch and the skip link, at desktop width and at 390 px (a phone).

Every page visited is checked with axe-core (no serious or critical violations) and for
sideways scrolling.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from incidents.models import Role
from incidents.services.demo import DEMO_ACCOUNTS, seed_demo
from tests.e2e.conftest import assert_no_horizontal_scroll
from tests.e2e.helpers import check_page, heading, log_in, log_out

pytestmark = pytest.mark.e2e

NAMES = {email: name for email, name, _, _ in DEMO_ACCOUNTS}
ROLES = {email: role for email, _, role, _ in DEMO_ACCOUNTS}


@pytest.fixture
def demo(app: Flask) -> dict[str, str]:
    """The demo organisation and accounts, committed; e-mail -> name."""
    seed_demo()
    return NAMES


@pytest.mark.parametrize("email", list(NAMES))
def test_each_demo_account_logs_in_and_out(page: Any, demo: dict[str, str], email: str) -> None:
    log_in(page, email, check=True)

    name = demo[email]
    if ROLES[email] == Role.MANAGER:  # a manager's home page is their day, not a welcome
        expect(page.locator("#overdue-heading")).to_be_visible()
    else:
        expect(heading(page)).to_have_text(f"Welkom, {name}")
    expect(page.locator("footer")).to_contain_text(name)
    expect(page.get_by_role("navigation", name="Hoofdmenu")).to_be_visible()
    check_page(page)

    log_out(page)
    check_page(page)


def test_admin_pages(page: Any, demo: dict[str, str]) -> None:
    log_in(page, "admin@demo.test")

    page.goto("/admin/users")
    expect(heading(page)).to_have_text("Gebruikers")
    check_page(page)

    page.get_by_role("link", name=demo["employee@demo.test"]).click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+/edit$"))
    expect(heading(page)).to_have_text(f"{demo['employee@demo.test']} bewerken")
    check_page(page)

    page.goto("/admin/users/new")
    expect(heading(page)).to_have_text("Nieuwe gebruiker")
    check_page(page)

    page.goto("/admin/teams")
    expect(heading(page)).to_have_text("Teams")
    check_page(page)

    page.get_by_role("link", name="Inkomen").click()
    expect(page).to_have_url(re.compile(r"/admin/teams/\d+/edit$"))
    expect(heading(page)).to_have_text("Inkomen bewerken")
    check_page(page)

    page.goto("/admin/teams/new")
    expect(heading(page)).to_have_text("Nieuw team")
    check_page(page)


def test_admin_tables_fit_the_viewport(page: Any, demo: dict[str, str]) -> None:
    log_in(page, "admin@demo.test")
    for path in ("/admin/users", "/admin/teams"):
        page.goto(path)
        assert_no_horizontal_scroll(page)


def test_language_switch_on_the_login_page(page: Any) -> None:
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(heading(page)).to_have_text("Inloggen")

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading(page)).to_have_text("Log in")
    check_page(page)

    page.get_by_role("button", name="Nederlands").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(heading(page)).to_have_text("Inloggen")


def settle(page: Any) -> None:
    """Wait two frames, so whatever the page does on its own (autofocus) has happened."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def assert_skip_link_works(page: Any) -> None:
    """The first Tab lands on the skip link, shown on screen; Enter moves focus to <main>."""
    settle(page)
    skip_link = page.get_by_role("link", name="Naar de inhoud")

    page.keyboard.press("Tab")
    # Focus moves synchronously with the key press: no need to wait the default 5 s.
    expect(skip_link).to_be_focused(timeout=1000)
    expect(skip_link).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#content$"))
    expect(page.locator("main#content")).to_be_focused()


def test_skip_link_is_the_first_tab_stop_on_the_login_page(page: Any) -> None:
    page.goto("/login")
    assert_skip_link_works(page)


def test_skip_link_moves_focus_to_main_on_the_login_page(page: Any) -> None:
    page.goto("/login")
    settle(page)
    skip_link = page.get_by_role("link", name="Naar de inhoud")
    skip_link.focus()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()


def test_skip_link_is_the_first_tab_stop_on_the_home_page(page: Any, demo: dict[str, str]) -> None:
    log_in(page, "employee@demo.test")
    assert_skip_link_works(page)


def test_form_fields_have_no_aria_attributes_set_to_none(page: Any) -> None:
    page.goto("/login")
    bad = page.evaluate(
        """() => Array.from(document.querySelectorAll('*')).flatMap(el =>
            Array.from(el.attributes)
              .filter(a => a.name.startsWith('aria-') && a.value === 'None')
              .map(a => (el.id || el.tagName.toLowerCase()) + '[' + a.name + ']'))"""
    )
    assert bad == []


def test_a_password_link_sent_by_the_admin_sets_the_password(
    page: Any, app: Flask, demo: dict[str, str]
) -> None:
    """Separation of duties in the browser: the admin sends a link, never a password; the
    person opens it from the mail, sets a password and logs in with it."""
    from sqlalchemy import select

    from incidents import notify
    from incidents.models import Notification, User
    from tests.e2e.helpers import fresh

    log_in(page, "admin@demo.test")
    page.goto("/admin/users")
    page.get_by_role("link", name=demo["witness@demo.test"]).click()
    expect(page.locator("input[type=password]")).to_have_count(0)
    page.get_by_role("button", name="Stuur een link om een nieuw wachtwoord in te stellen").click()
    expect(page.locator("main").get_by_role("status")).to_contain_text("witness@demo.test")
    check_page(page)
    log_out(page)

    fresh()
    wim = app.extensions["sqlalchemy"].session.scalar(
        select(User).where(User.email == "witness@demo.test")
    )
    note = app.extensions["sqlalchemy"].session.scalar(
        select(Notification).where(
            Notification.kind == "password_reset", Notification.recipient_id == wim.id
        )
    )
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        link = re.search(r"/account/reset/\S+", notify.compose(note).text)
    assert link is not None
    page.goto(link[0])
    expect(heading(page)).to_have_text("Stel uw wachtwoord in")
    check_page(page)
    page.locator("#new").fill("a fresh passphrase here")
    page.locator("#repeat").fill("a fresh passphrase here")
    page.get_by_role("button", name="Wachtwoord instellen").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("E-mailadres").fill("witness@demo.test")
    page.get_by_label("Wachtwoord").fill("a fresh passphrase here")
    page.get_by_role("button", name="Inloggen").click()
    expect(heading(page)).to_have_text(f"Welkom, {demo['witness@demo.test']}")
    # Opening the used link again answers 410 with "niet meer geldig": tests/web/test_duties.py.
