"""Steps shared by the browser flows: logging in and out, headings, messages, checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from incidents.extensions import db
from incidents.services.demo import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, assert_no_horizontal_scroll


def check_page(page: Any) -> None:
    """axe-core finds nothing serious, and the page does not scroll sideways."""
    assert_accessible(page)
    assert_no_horizontal_scroll(page)


class PageChecks:
    """`check_page` on each page of a flow, collected; `done()` fails with all of them, so one
    problem does not hide whether the rest of the flow works."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, page: Any) -> None:
        for check in (assert_accessible, assert_no_horizontal_scroll):
            try:
                check(page)
            except pytest.fail.Exception as failure:
                self.failures.append(str(failure))

    def done(self) -> None:
        if self.failures:
            pytest.fail("\n\n".join(self.failures), pytrace=False)


def heading(page: Any) -> Any:
    return page.get_by_role("heading", level=1)


def status(page: Any) -> Any:
    """The flashed success message."""
    return page.locator("main").get_by_role("status")


def log_in(page: Any, email: str, *, check: bool = False) -> None:
    """Through the login form, as a person would; lands on the home page.
    `check` also runs the page checks on the login page."""
    page.goto("/login")
    expect(heading(page)).to_have_text("Inloggen")
    if check:
        check_page(page)
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(re.compile(r"/$"))


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(heading(page)).to_have_text("Inloggen")
    expect(page.get_by_role("status")).to_have_text("U bent uitgelogd.")
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)


def fresh() -> None:
    """Forget what the test's session read: the live server commits in its own threads."""
    db.session.rollback()
    db.session.expire_all()


def open_section(page: Any, title: str) -> None:
    """Unfold an optional section of the report form by its summary, as a user would."""
    section = page.locator("details[data-section]").filter(
        has=page.locator("summary", has_text=title)
    )
    if not section.evaluate("details => details.open"):
        section.locator("summary").click()
    expect(section).to_have_attribute("open", "")


def pick_colleague(page: Any, field: str, typed: str, name: str) -> None:
    """Choose a colleague with the picker's combobox, by keyboard: type, arrow down, Enter;
    the colleague becomes a chip."""
    combobox = page.locator(f"#{field}_q")
    expect(combobox).to_have_attribute("role", "combobox")
    combobox.fill(typed)
    expect(page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\b"))).to_be_visible()
    combobox.press("ArrowDown")
    combobox.press("Enter")
    picker = page.locator(f"fieldset#{field}")
    expect(picker.locator(f"input[type=hidden][name={field}]").first).to_be_attached()
    expect(picker.locator(".picker-chip", has_text=name)).to_be_visible()
