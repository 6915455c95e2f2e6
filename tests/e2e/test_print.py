"""The incident's number and its print layout, in a real browser at both widths: the number in
the title and the lists; on paper only the content, with which incident, who printed it and
when, nothing of the menu or the forms, and nothing wider than the sheet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from incidents.extensions import db
from incidents.models import Incident
from tests.e2e.helpers import PageChecks, heading, log_in
from tests.e2e.test_victim import incident  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


def test_the_number_on_screen_and_the_page_on_paper(page: Any, incident: int) -> None:  # noqa: F811
    number = db.session.get_one(Incident, incident).number
    assert number and re.fullmatch(r"\d{4}-\d{4}", number)
    checks = PageChecks()

    log_in(page, "manager@demo.test")
    page.goto("/aftercare")
    expect(page.get_by_role("link", name=f"Incident {number}")).to_be_visible()
    page.get_by_role("link", name=f"Incident {number}").click()
    expect(heading(page)).to_contain_text(f"Incident {number}")
    expect(page).to_have_title(re.compile(f"^Incident {number}"))
    printing = page.get_by_role("button", name="Afdrukken")
    expect(printing).to_be_visible()  # shown once its script runs
    expect(page.locator(".print-head")).to_be_hidden()
    checks(page)

    page.emulate_media(media="print")
    head = page.locator(".print-head")
    expect(head).to_be_visible()
    expect(head).to_contain_text(f"Incident {number}")
    expect(head).to_contain_text("Mira Manager")
    expect(head).to_contain_text("Vertrouwelijk")
    for hidden in ("header.site-header", "footer.site-footer", "nav.main-nav"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(printing).to_be_hidden()
    expect(page.locator("main form:visible")).to_have_count(0)
    expect(page.get_by_role("heading", name="Wat er gebeurde")).to_be_visible()
    width = page.evaluate("document.documentElement.clientWidth")
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('main *')]"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= width + 1, (widest, width)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    page.emulate_media(media="screen")

    # The employee's list names it by its number too.
    page.context.clear_cookies()
    log_in(page, "employee@demo.test")
    page.goto("/incidents")
    expect(page.get_by_role("link", name=re.compile(f"^{number} ·"))).to_be_visible()
    checks(page)
    checks.done()
