"""What the victim is told, in a real browser at desktop width and at 390 px (a phone):

1. Eva Employee's incident (physical violence, Wim Witness saw it) has had some aftercare:
   Mira Manager contacted her (with a note), filed the police report with its number and
   outcome, and gave the perpetrator a building ban; Max Manager held Wim's conversation.
2. Eva opens her incident: a section in plain words tells what was done for her and what is
   planned, the manager's note labelled as such; no table of steps, nothing of Wim's track,
   and the perpetrator's name not in it. From there she opens "What happens now".
3. The help page lists the default contacts and the emergency number.
4. The admin adds the confidential adviser; a bad phone number is refused next to its field.
   Eva then finds the adviser on the help page.
5. Wim sees only his own track.

Each page is checked with axe-core and for sideways scrolling.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import AftercareStep, Channel, Incident, IncidentType, User, utcnow
from incidents.services import ReportData
from incidents.services.aftercare import StepResult
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, heading, log_in, log_out

pytestmark = pytest.mark.e2e

PERPETRATOR = "Johnny Perpetrator"
CONTACT_NOTE = "Eva werkt vrijdag thuis; een collega belt haar maandag."
POLICE_NOTE = "De dader is bekend bij de politie."
WITNESS_NOTE = "Wim heeft verder niets nodig."
REPORT_NUMBER = "PL0900-2026031012345"
ADVISER = "Carla Confidant"


def users() -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}


def step_of(incident: Incident, definition: str, person: User | None = None) -> AftercareStep:
    db.session.expire_all()
    return db.session.scalars(
        select(AftercareStep).filter_by(
            incident_id=incident.id,
            definition_id=definition,
            subject_user_id=person.id if person else None,
        )
    ).one()


def record(actor: User, step: AftercareStep, **values: Any) -> None:
    services.aftercare.complete_step(actor, step, StepResult(**values), step.attempts)


@pytest.fixture
def incident(app: Flask) -> int:
    """The demo organisation, and Eva's incident with some aftercare done (committed)."""
    seed_demo()
    people = users()
    eva, wim = people["employee"], people["witness"]
    mira, max_ = people["manager"], people["manager2"]
    made = services.save_report(
        eva,
        "victim-e2e-token-0001",
        ReportData(
            occurred_at=utcnow() - timedelta(hours=2),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="Een klant duwde mij tegen de balie.",
            affected_ids=[eva.id],
            witness_ids=[wim.id],
            perpetrator_known=services.reporting.PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
        ),
        submit=True,
    )
    today = utcnow().date()
    record(mira, step_of(made, "contact", eva), outcomes=["held"], held_on=today, note=CONTACT_NOTE)
    record(
        mira,
        step_of(made, "police_report"),
        outcomes=["filed_by_employer"],
        reference=REPORT_NUMBER,
        note=POLICE_NOTE,
    )
    services.aftercare.record_police_outcome(
        mira, step_of(made, "police_report"), "De verdachte kreeg een boete."
    )
    record(
        mira,
        step_of(made, "perpetrator_response"),
        outcomes=["building_ban"],
        end_date=date(today.year + 1, 6, 1),
        citizen_heard=True,
    )
    record(
        max_,
        step_of(made, "witness_aftercare_conversation", wim),
        outcomes=["held"],
        held_on=today,
        note=WITNESS_NOTE,
    )
    return made.id


def your_aftercare(page: Any) -> Any:
    found = page.locator("section.your-aftercare")
    expect(found).to_have_count(1)
    return found


def test_the_victims_page_and_the_help_page(page: Any, incident: int) -> None:
    checks = PageChecks()

    # 2. Eva's incident page: her aftercare in plain words.
    log_in(page, "employee@demo.test")
    page.goto(f"/incidents/{incident}")
    expect(page.locator("table.steps")).to_have_count(0)
    mine = your_aftercare(page)
    expect(mine.get_by_role("heading", level=2)).to_be_visible()
    expect(mine).to_contain_text("Mira Manager")
    expect(mine).to_contain_text(CONTACT_NOTE)
    expect(mine.locator(".manager-note")).to_have_count(1)
    expect(mine).to_contain_text(REPORT_NUMBER)
    expect(mine).to_contain_text("De verdachte kreeg een boete.")
    for hidden in (PERPETRATOR, POLICE_NOTE, "Wim Witness", "Max Manager", WITNESS_NOTE):
        expect(mine).not_to_contain_text(hidden)
    # Done and planned: two lists, the plan with the steps still open.
    expect(mine.locator("ul")).to_have_count(2)
    checks(page)

    # 3. From there, the help page.
    mine.locator('a[href="/help"]').click()
    expect(page).to_have_url(re.compile(r"/help$"))
    expect(heading(page)).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("112")
    expect(main).to_contain_text("Slachtofferhulp Nederland")
    expect(main.locator('a[href="tel:0900-0101"]')).to_be_visible()
    expect(main.locator('a[href="tel:0900-8844"]')).to_be_visible()
    expect(main).not_to_contain_text(ADVISER)
    checks(page)
    log_out(page)

    # 4. The admin adds the confidential adviser; a bad number is refused at its field.
    log_in(page, "admin@demo.test")
    page.goto("/admin/help-contacts")
    checks(page)
    page.locator("#confidential_adviser_name").fill(ADVISER)
    page.locator("#confidential_adviser_phone").fill("bel de balie")
    page.locator('button[type="submit"], input[type="submit"]').last.click()
    phone = page.locator("#confidential_adviser_phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confidential_adviser_phone-error")).to_be_visible()
    expect(page.locator("p.error")).to_have_count(1)
    checks(page)
    phone.fill("+31 (0)20 123 4567")
    page.locator("#confidential_adviser_text").fill("Maandag en donderdag, 9 tot 17 uur.")
    page.locator('button[type="submit"], input[type="submit"]').last.click()
    expect(page).to_have_url(re.compile(r"/admin/help-contacts$"))
    expect(page.locator("p.error")).to_have_count(0)
    expect(page.locator("main").get_by_role("status")).to_be_visible()
    log_out(page)

    log_in(page, "employee@demo.test")
    page.goto("/help")
    expect(page.locator("main")).to_contain_text(ADVISER)
    expect(page.locator('main a[href="tel:+31(0)201234567"]')).to_be_visible()
    checks(page)
    log_out(page)

    # 5. Wim sees only his own track.
    log_in(page, "witness@demo.test")
    page.goto(f"/incidents/{incident}")
    expect(page.locator("table.steps")).to_have_count(0)
    his = your_aftercare(page)
    expect(his).to_contain_text("Max Manager")
    expect(his).to_contain_text(WITNESS_NOTE)
    main = page.locator("main")
    for hidden in (REPORT_NUMBER, CONTACT_NOTE, POLICE_NOTE, PERPETRATOR, "Eva Employee"):
        expect(main).not_to_contain_text(hidden)
    checks(page)
    checks.done()
