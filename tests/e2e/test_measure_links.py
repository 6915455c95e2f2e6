"""The register seen from the aftercare, in a real browser at 1280 and 390 px:

1. Eva Employee's incident (physical violence, a known perpetrator) has a measure in force:
   "conversations only with two colleagues", proposed by Mira Manager from the response to the
   perpetrator and approved by the security officer.
2. Mira opens that step: "Measures in the register" lists it (kind, dates, state) with a link,
   and "Propose a measure" opens the form filled in from the step.
3. Mira's incident page lists it too.
4. Eva's incident page says a measure protects her and until when: never the perpetrator's
   name or the reason.

Each page is checked with axe-core and for sideways scrolling.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, User, utcnow
from incidents.rules import StepKind
from incidents.services import ReportData, measures
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, log_in, log_out

pytestmark = pytest.mark.e2e

PERPETRATOR = "Johnny Perpetrator"
REASON = "Schreeuwde en duwde een medewerker aan de balie."
KIND_NL = "Gesprekken alleen met twee collega's"


@pytest.fixture
def incident(app: Flask) -> dict[str, Any]:
    """The demo organisation; Eva's incident with a measure in force (committed)."""
    seed_demo()
    people = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    eva, mira, officer = people["employee"], people["manager"], people["veiligheid"]
    made = services.save_report(
        eva,
        "measure-links-e2e-0001",
        ReportData(
            occurred_at=utcnow() - timedelta(hours=2),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="Een klant duwde mij tegen de balie.",
            affected_ids=[eva.id],
            perpetrator_known=services.reporting.PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
            perpetrator_reference="K-2044",
        ),
        submit=True,
    )
    step = next(s for s in made.steps if s.kind == StepKind.PERPETRATOR_RESPONSE)
    start = measures.today()
    measure = measures.propose(
        mira,
        measures.Proposal(
            kind="two_colleagues",
            citizen_name=PERPETRATOR,
            citizen_reference="K-2044",
            reason=REASON,
            starts_on=start,
            ends_on=start + timedelta(days=89),
            incident_numbers=[made.number or ""],
            step_id=step.id,
        ),
    )
    measures.approve(officer, measure.id, measure.revision)
    return {"incident": made.id, "number": made.number, "step": step.id, "measure": measure.id}


def test_the_register_from_the_step_the_incident_and_the_victims_page(
    page: Any, incident: dict[str, Any]
) -> None:
    checks = PageChecks()

    # 2. Mira's response step: the measure, and proposing another from the step.
    log_in(page, "manager@demo.test")
    page.goto(f"/aftercare/steps/{incident['step']}")
    listed = page.locator("section.measures-here")
    expect(listed.get_by_role("heading", level=2)).to_be_visible()
    expect(listed.locator(f'a[href="/measures/{incident["measure"]}"]')).to_have_text(KIND_NL)
    expect(listed.locator(".tag")).to_have_count(1)
    checks(page)
    listed.locator(f'a[href="/measures/new?step={incident["step"]}"]').click()
    expect(page.locator("#incidents")).to_have_value(incident["number"])
    expect(page.locator("#citizen_name")).to_have_value(PERPETRATOR)
    checks(page)

    # 3. Her incident page lists it as well.
    page.goto(f"/incidents/{incident['incident']}")
    listed = page.locator("section.measures-here")
    expect(listed.locator(f'a[href="/measures/{incident["measure"]}"]')).to_be_visible()
    expect(listed.locator(f'a[href="/measures/new?incident={incident["number"]}"]')).to_be_visible()
    checks(page)
    log_out(page)

    # 4. Eva reads that a measure protects her, and until when; nothing more.
    log_in(page, "employee@demo.test")
    page.goto(f"/incidents/{incident['incident']}")
    expect(page.locator("section.measures-here")).to_have_count(0)
    mine = page.locator("section.your-aftercare")
    expect(mine).to_contain_text(KIND_NL)
    end = (measures.today() + timedelta(days=89)).strftime("%d-%m-%Y")
    expect(mine).to_contain_text(end)
    for hidden in (PERPETRATOR, REASON, "K-2044"):
        expect(mine).not_to_contain_text(hidden)
    checks(page)
    checks.done()
