"""A corrective action in a real browser, at desktop width and at 390 px (a phone):

1. Eva Employee was pushed at the counter (level 3): the incident has a team evaluation step,
   owned by Mira Manager.
2. Mira opens the step, adds an action without a deadline (refused next to the field, nothing
   stored), then with one: it is listed on the step's page.
3. Her inbox shows it among her corrective actions; she opens it and closes it with what was
   done.
4. Wendy of the works council opens the overview: the action with its team and state, and
   nothing of the incident.

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
    ActionState,
    Channel,
    CorrectiveAction,
    IncidentType,
    Role,
    User,
)
from incidents.rules import StepKind
from incidents.services import ReportData
from incidents.services.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.helpers import PageChecks, fresh, heading, log_in, log_out, status

pytestmark = pytest.mark.e2e

EMPLOYEE, MANAGER, COUNCIL = "employee@demo.test", "manager@demo.test", "wendy@e2e.test"
WHAT = "Een paniekknop onder de balie van de publiekshal."


@pytest.fixture
def evaluation(app: Flask) -> tuple[int, str]:
    """The demo organisation, a works council member, and a push at the counter reported by
    Eva; returns the team evaluation step's id and the incident's number."""
    seed_demo()
    wendy = services.create_user(
        None, email=COUNCIL, name="Wendy Council", password=DEMO_PASSWORD, role=Role.EMPLOYEE
    )
    wendy.works_council = True
    db.session.commit()
    eva = db.session.scalars(select(User).where(User.email == EMPLOYEE)).one()
    incident = services.save_report(
        eva,
        "e2e-action-token-padded-out-well",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="Een klant duwde mij tegen de kast.",
            affected_ids=[eva.id],
        ),
        submit=True,
    )
    step = next(s for s in incident.steps if s.kind == StepKind.TEAM_EVALUATION)
    assert incident.number
    return step.id, incident.number


def test_an_action_from_a_team_evaluation_to_the_works_council(
    page: Any, evaluation: tuple[int, str]
) -> None:
    step_id, number = evaluation
    checks = PageChecks()

    # 2. Mira adds an action on the step's page.
    log_in(page, MANAGER)
    page.goto(f"/aftercare/steps/{step_id}")
    form = page.locator(f"form[action$='/actions/new/{step_id}']")
    expect(form).to_be_visible()
    expect(form.locator("#owner")).to_have_value(MANAGER)
    checks(page)
    form.locator("#what").fill(WHAT)
    form.locator("#risk_item").fill("RI&E 4.2")
    form.locator("button[type=submit]").click()
    expect(page.locator("#due_on-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_visible()
    checks(page)
    fresh()
    assert db.session.scalars(select(CorrectiveAction)).all() == []
    due = (datetime.now(UTC) + timedelta(days=14)).date()
    page.locator("#due_on").fill(due.isoformat())
    page.locator(f"form[action$='/actions/new/{step_id}'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/aftercare/steps/{step_id}$"))
    expect(status(page)).to_be_visible()
    expect(page.locator("section", has=page.locator("#actions-heading"))).to_contain_text(WHAT)
    checks(page)

    # 3. In her inbox, among her corrective actions; she closes it.
    page.goto("/aftercare")
    mine = page.locator("section", has=page.locator("#my-actions-heading"))
    expect(mine).to_contain_text(WHAT)
    checks(page)
    mine.get_by_role("link", name=WHAT).click()
    expect(page).to_have_url(re.compile(r"/actions/\d+$"))
    checks(page)
    page.locator("#done_note").fill("Knop geplaatst en getest met de beveiliging.")
    page.locator("form[action$='/close'] button").click()
    expect(status(page)).to_be_visible()
    expect(page.locator("form[action$='/close']")).to_have_count(0)
    checks(page)
    fresh()
    [action] = db.session.scalars(select(CorrectiveAction)).all()
    assert action.state == ActionState.DONE and action.due_on == due
    assert action.review_due_on is not None
    log_out(page)

    # 4. The works council's overview: the action, nothing of the incident.
    log_in(page, COUNCIL)
    page.locator(".main-nav a[href='/actions']").click()
    expect(page).to_have_url(re.compile(r"/actions$"))
    expect(heading(page)).to_be_visible()
    table = page.locator("table")
    expect(table).to_contain_text(WHAT)
    expect(table).to_contain_text("RI&E 4.2")
    main = page.locator("main")
    expect(main).not_to_contain_text(number)
    expect(main).not_to_contain_text("Eva")
    checks(page)
    page.locator("#state").select_option("open")
    page.locator("form.filters-form button[type=submit]").click()
    expect(page.locator("main")).not_to_contain_text(WHAT)
    checks(page)
    checks.done()
