"""The notice letter in a real browser, at desktop width and at 390 px (a phone):

1. The admin opens the notice letter's settings; an organisation name left empty, and the
   address the demo does not configure, are refused next to their fields; then the letter's address and contact are saved.
2. The manager who proposed a measure in force opens it: the two letters (Dutch, English)
   are offered for download beside the record of sending; the Dutch one downloads as a PDF.

Each page is checked with axe-core and for sideways scrolling.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, User, utcnow
from incidents.services import ReportData, measures
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, log_in, log_out, status

pytestmark = pytest.mark.e2e

REASON = "Bedreigde een medewerker aan de balie met geweld."


def users() -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}


@pytest.fixture
def measure(app: Flask) -> int:
    """The demo organisation, and a measure in force on Eva's incident: proposed by Mira,
    approved by Max as security officer (committed)."""
    seed_demo()
    people = users()
    eva, mira, max_ = people["employee"], people["manager"], people["manager2"]
    max_.security_officer = True
    db.session.commit()
    incident = services.save_report(
        eva,
        "notice-e2e-token-0001",
        ReportData(
            occurred_at=utcnow() - timedelta(hours=2),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="Een klant duwde mij tegen de balie.",
            affected_ids=[eva.id],
            perpetrator_known=services.reporting.PerpetratorKnown.KNOWN,
            perpetrator_name="Johnny Perpetrator",
        ),
        submit=True,
    )
    today = measures.today()
    proposed = measures.propose(
        mira,
        measures.Proposal(
            kind="two_colleagues",
            citizen_name="Johnny Perpetrator",
            citizen_reference="K-77",
            reason=REASON,
            starts_on=today,
            ends_on=today + timedelta(days=89),
            incident_numbers=[incident.number or ""],
        ),
    )
    measures.approve(max_, proposed.id, proposed.revision)
    return proposed.id


def test_the_admin_sets_the_letter_and_the_manager_downloads_it(page: Any, measure: int) -> None:
    checks = PageChecks()

    # 1. The admin's settings.
    log_in(page, "admin@demo.test")
    page.goto("/admin/measure-letter")
    checks(page)
    page.locator("#org_name").fill("")
    page.locator('button[type="submit"], input[type="submit"]').last.click()
    expect(page.locator("#org_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#org_name-error")).to_be_visible()
    # No address is configured in the demo: the letter needs one, objections go there.
    expect(page.locator("#address-error")).to_be_visible()
    expect(page.locator("p.error")).to_have_count(2)
    checks(page)
    page.locator("#org_name").fill("Gemeente Demodorp")
    page.locator("#address").fill("Postbus 1\n1234 AB Demodorp")
    page.locator("#contact").fill("14 020, maatregelen@demo.test")
    page.locator('button[type="submit"], input[type="submit"]').last.click()
    expect(page).to_have_url(re.compile(r"/admin/measure-letter$"))
    expect(page.locator("p.error")).to_have_count(0)
    expect(status(page)).to_be_visible()
    log_out(page)

    # 2. The manager's measure page offers both letters; the Dutch one is a PDF.
    log_in(page, "manager@demo.test")
    page.goto(f"/measures/{measure}")
    section = page.locator("section[aria-labelledby=notice-heading]")
    dutch = section.locator(f'a[href="/measures/{measure}/notice.pdf?lang=nl"]')
    english = section.locator(f'a[href="/measures/{measure}/notice.pdf?lang=en"]')
    expect(dutch).to_be_visible()
    expect(english).to_be_visible()
    expect(section.locator("form")).to_have_count(1)  # recording that it was sent
    checks(page)
    with page.expect_download() as download:
        dutch.click()
    assert download.value.suggested_filename.endswith("-nl.pdf")
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    checks.done()
