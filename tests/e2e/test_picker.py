"""The colleague picker in a real browser: keyboard only, as the ARIA combobox pattern says,
and clean for axe-core with its list open and with chips chosen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import Incident, PersonRole
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, fresh, heading, log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(app: Flask) -> None:
    seed_demo()


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def tab_to(page: Any, element_id: str, *, limit: int = 40) -> None:
    """Press Tab until `element_id` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached #{element_id}")


def test_colleagues_are_picked_and_removed_with_the_keyboard_only(page: Any, demo: None) -> None:
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    page.goto("/incidents/new")
    expect(heading(page)).to_have_text("Meld een incident")
    # The button of the search without JavaScript is gone; the field is a combobox.
    expect(page.locator("button[name=find]")).to_have_count(0)
    combobox = page.locator("#witnesses_q")
    expect(combobox).to_have_attribute("role", "combobox")
    expect(combobox).to_have_attribute("aria-expanded", "false")

    page.locator("details[data-section] summary").first.click()  # "Betrokken collega's"
    page.get_by_role("textbox", name="Korte beschrijving").focus()
    tab_to(page, "witnesses_q")
    page.keyboard.type("handh")  # the team "Handhaving": Max Manager and Wim Witness
    listbox = page.locator("#witnesses_q-listbox")
    expect(listbox).to_be_visible()
    expect(combobox).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Max Manager")
    expect(page.locator("fieldset#witnesses [data-picker-status]")).to_contain_text("2")
    checks(page)  # axe-core with the list open

    page.keyboard.press("ArrowDown")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(combobox).to_have_attribute(
        "aria-activedescendant", re.compile(r"^witnesses_q-listbox-\d+$")
    )
    page.keyboard.press("Enter")  # chooses; never submits the report
    expect(page).to_have_url(re.compile(r"/incidents/new\?t="))
    witnesses = page.locator("fieldset#witnesses")
    expect(witnesses.locator(".picker-chip .picker-person")).to_have_text(
        ["Wim Witness (Handhaving)"]
    )
    expect(listbox).to_be_hidden()
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(combobox).to_have_value("")
    assert focused_id(page) == "witnesses_q"

    # A second one; Escape closes the list without choosing.
    page.keyboard.type("max")
    expect(options).to_have_count(1)
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    page.keyboard.press("ArrowDown")  # opens it again
    expect(options).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(witnesses.locator(".picker-chip")).to_have_count(2)
    # Someone already chosen is not offered again.
    page.keyboard.type("wim")
    expect(witnesses.locator("[data-picker-status]")).to_have_text(re.compile(r"\S"))
    expect(listbox.get_by_role("option")).to_have_count(0)
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # clears the field

    # Back to the chips with Shift+Tab; Enter on a remove button removes that one.
    page.keyboard.press("Shift+Tab")
    remove = witnesses.get_by_role("button", name=re.compile("Max Manager"))
    expect(remove).to_be_focused()
    page.keyboard.press("Enter")
    expect(witnesses.locator(".picker-chip .picker-person")).to_have_text(
        ["Wim Witness (Handhaving)"]
    )
    assert focused_id(page) == "witnesses_q"
    checks(page)  # axe-core with a chip chosen

    # The rest of the form, then submit: the chosen colleague is saved as a witness.
    page.get_by_role("radio", name="Balie", exact=True).check()
    page.get_by_role("checkbox", name="Verbale agressie", exact=True).check()
    page.get_by_role("textbox", name="Korte beschrijving").fill("De klant schreeuwde.")
    page.get_by_role("button", name="Melding indienen").first.click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+$"))
    fresh()
    incident = db.session.scalars(select(Incident)).one()
    assert [p.user.name for p in incident.people if p.role == PersonRole.WITNESS] == ["Wim Witness"]
    checks.done()
