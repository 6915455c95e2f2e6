"""Correcting a recorded step in a real browser, at desktop width and at 390 px (a phone):

1. Eva Employee has reported a threat; Mira Manager recorded the contact as held today.
2. Mira opens the step, follows "correct what was recorded", and saves without a reason:
   the message stands next to the reason field and nothing is stored.
3. She chooses "declined", gives the reason and saves: she is back on the step page, which
   shows the correction (when, by whom, why, what changed); the conversation is not offered
   again (a contact is not a conversation that is repeated), the step's outcome is changed.
4. The incident's history says that an aftercare step was corrected.

Each page is checked with axe-core and for sideways scrolling (collected, reported at the end).
New texts are found by their elements, so the test holds before and after the catalogue has
their Dutch.
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
from incidents.models import AftercareStep, Channel, IncidentType, StepCorrection, User
from incidents.services import ReportData
from incidents.services.aftercare import StepResult
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, fresh, heading, log_in, status

pytestmark = pytest.mark.e2e

EMPLOYEE, MANAGER = "employee@demo.test", "manager@demo.test"
CONTACT = "Contact met de medewerker: veiligheid, eerste behoeften, praktische hulp"
REASON = "Per ongeluk 'gevoerd' gekozen: de medewerker wilde geen gesprek."


@pytest.fixture
def recorded_contact(app: Flask) -> int:
    """The demo organisation, a threat reported by Eva, and her contact step recorded by
    Mira as held today; returns the step's id."""
    seed_demo()
    eva = db.session.scalars(select(User).where(User.email == EMPLOYEE)).one()
    mira = db.session.scalars(select(User).where(User.email == MANAGER)).one()
    incident = services.save_report(
        eva,
        "e2e-correction-token-padded-out",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description="Een klant dreigde mij op te wachten.",
            affected_ids=[eva.id],
        ),
        submit=True,
    )
    step = next(s for s in incident.steps if s.definition_id == "contact")
    services.aftercare.complete_step(
        mira,
        step,
        StepResult(outcomes=["held"], held_on=datetime.now(UTC).date(), note="Gesproken."),
        step.attempts,
    )
    return step.id


def test_a_manager_corrects_a_recorded_step(page: Any, recorded_contact: int) -> None:
    checks = PageChecks()
    step_url = f"/aftercare/steps/{recorded_contact}"

    # 1. The step page of the recorded contact offers the correction.
    log_in(page, MANAGER)
    page.goto(step_url)
    expect(heading(page)).to_have_text(CONTACT)
    correct_link = page.locator(f'a[href="{step_url}/correct"]')
    expect(correct_link).to_be_visible()
    checks(page)

    # 2. The prefilled form; saving without a reason is refused next to the field.
    correct_link.click()
    expect(page).to_have_url(re.compile(re.escape(step_url) + "/correct$"))
    expect(page.locator("#outcome-held")).to_be_checked()
    expect(page.locator("#note")).to_have_value("Gesproken.")
    page.locator("#outcome-declined").check()
    save = page.locator("form.card button[type=submit]")
    save.click()
    expect(page.locator("#correction_reason-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_visible()
    checks(page)  # with the error shown
    fresh()
    assert db.session.scalars(select(StepCorrection)).all() == []

    # 3. With the reason: saved, back on the step page, the correction shown.
    expect(page.locator("#outcome-declined")).to_be_checked()  # what was chosen stays
    page.locator("#correction_reason").fill(REASON)
    save.click()
    expect(page).to_have_url(re.compile(re.escape(step_url) + "$"))
    expect(status(page)).to_be_visible()
    corrections = page.locator("section.corrections")
    expect(corrections).to_contain_text(REASON)
    expect(corrections).to_contain_text("Mira Manager")
    expect(corrections.locator("li li")).to_have_count(1)  # one field changed: the outcome
    expect(corrections).to_contain_text("Afgewezen door de medewerker")  # the new outcome
    checks(page)
    fresh()
    step = db.session.get_one(AftercareStep, recorded_contact)
    assert step.outcomes == ["declined"] and step.revision == 1
    [kept] = db.session.scalars(select(StepCorrection)).all()
    assert kept.previous == {"outcomes": ["held"]} and kept.reason == REASON

    # 4. The incident's history has it.
    page.goto(f"/incidents/{step.incident_id}")
    expect(page.locator("ol.history li")).to_have_count(2)  # submitted, then corrected
    checks(page)
    checks.done()
