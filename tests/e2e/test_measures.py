"""A measure against a perpetrator in a real browser, at desktop width and at 390 px (a phone):

1. Eva Employee was threatened at the counter by a client she named in her report.
2. Mira Manager proposes "conversations only with two colleagues present" from the incident:
   the name and client reference come from the report; saving without an end date is refused
   next to the field, nothing stored; with one it is proposed, not yet in force.
3. Mira cannot approve her own proposal: the page says another person does.
4. Sam, the security officer, finds it under "Waiting for your approval", opens it and
   approves it: it is in force until its end date.

Each page is checked with axe-core and for sideways scrolling (collected, reported at the end).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    Channel,
    IncidentType,
    Measure,
    MeasureState,
    PerpetratorKnown,
    Role,
    User,
)
from incidents.services import ReportData
from incidents.services.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.helpers import PageChecks, fresh, heading, log_in, log_out, status

pytestmark = pytest.mark.e2e

EMPLOYEE, MANAGER, OFFICER = "employee@demo.test", "manager@demo.test", "sam@e2e.test"
REASON = "Dreigde aan de balie een medewerker op te wachten na werktijd."


@pytest.fixture
def threat(app: Flask) -> str:
    """The demo organisation, a security officer, and a threat reported by Eva with the
    perpetrator named; returns the incident's number."""
    seed_demo()
    sam = services.create_user(
        None, email=OFFICER, name="Sam Security", password=DEMO_PASSWORD, role=Role.EMPLOYEE
    )
    sam.security_officer = True
    db.session.commit()
    eva = db.session.scalars(select(User).where(User.email == EMPLOYEE)).one()
    incident = services.save_report(
        eva,
        "e2e-measure-token-padded-out-well",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="Een klant dreigde mij op te wachten.",
            affected_ids=[eva.id],
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name="Piet Peters",
            perpetrator_reference="K-2026-77",
        ),
        submit=True,
    )
    assert incident.number
    return incident.number


def test_a_measure_is_proposed_and_approved_by_a_second_person(page: Any, threat: str) -> None:
    checks = PageChecks()

    # 2. Mira proposes from the incident: name and reference come from the report.
    log_in(page, MANAGER)
    page.goto(f"/measures/new?incident={threat}")
    expect(heading(page)).to_have_text(re.compile("maatregel", re.I))
    expect(page.locator("#citizen_name")).to_have_value("Piet Peters")
    expect(page.locator("#citizen_reference")).to_have_value("K-2026-77")
    expect(page.locator("#incidents")).to_have_value(threat)
    checks(page)
    page.locator("#kind-2").check()  # the third kind: two colleagues present
    page.locator("#reason").fill(REASON)
    page.locator("form.card button[type=submit]").click()
    expect(page.locator("#ends_on-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_visible()
    checks(page)
    fresh()
    assert db.session.scalars(select(Measure)).all() == []

    end = (datetime.now(UTC) + timedelta(days=180)).date()
    page.locator("#ends_on").fill(end.isoformat())
    page.locator("form.card button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/measures/\d+$"))
    expect(status(page)).to_be_visible()
    expect(page.locator(".page-actions .tag")).to_have_text("Voorgesteld")
    # 3. Not her own approval.
    expect(page.locator("form[action$='/approve']")).to_have_count(0)
    checks(page)
    fresh()
    [measure] = db.session.scalars(select(Measure)).all()
    assert (measure.kind, measure.state) == ("two_colleagues", MeasureState.PROPOSED)
    assert measure.citizen_name == "Piet Peters" and measure.ends_on == end
    log_out(page)

    # 4. Sam approves it from the register.
    log_in(page, OFFICER)
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Maatregelen").click()
    waiting = page.locator("section", has=page.locator("#waiting-heading"))
    expect(waiting).to_contain_text("Piet Peters")
    checks(page)
    waiting.get_by_role("link", name="Piet Peters").click()
    expect(heading(page)).to_contain_text("Piet Peters")
    checks(page)
    page.locator("form[action$='/approve'] button").click()
    expect(status(page)).to_be_visible()
    expect(page.locator(".page-actions .tag")).to_have_text("Van kracht")
    checks(page)
    fresh()
    measure = db.session.get_one(Measure, measure.id)
    assert measure.state == MeasureState.IN_FORCE
    assert measure.approved_by is not None and measure.approved_by.email == OFFICER
    checks.done()
