"""A manager's day in a real browser, at desktop width and at 390 px (a phone):

1. Eva Employee's physical violence (two days ago, so her contact step is overdue), with Wim
   Witness as a colleague witness, and Wim's own verbal aggression today: Mira Manager owns
   Eva's steps, Max Manager Wim's; they are each other's deputy, as in the demo.
2. Mira's home page: her overdue steps and steps due today, the new incidents of her teams,
   and apart from those, the steps she stands in for.
3. The inbox: the tab of her own steps and the tab of those she stands in for, each with its
   count, grouped by incident; a search by incident number and one by name.
4. Away until a day: the button opens a small form; afterwards one banner, then back.

Every page is checked with axe-core (no serious or critical violations) and for sideways
scrolling; the checks are collected and reported together at the end. Mira switches to
English first: the Dutch of these pages' new texts is merged into the catalogue separately.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, IncidentType, User
from incidents.services import ReportData
from incidents.services.demo import seed_demo
from tests.e2e.helpers import PageChecks, heading, log_in

pytestmark = pytest.mark.e2e

EMPLOYEE, WITNESS, MANAGER = "employee@demo.test", "witness@demo.test", "manager@demo.test"


def user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None, email
    return found


def report(person: User, token: str, at: datetime, types: list[IncidentType], witnesses=()):
    with time_machine.travel(at, tick=False):
        return services.save_report(
            person,
            token,
            ReportData(
                occurred_at=at - timedelta(minutes=30),
                channel=Channel.COUNTER,
                types=types,
                description="Het gebeurde aan de balie.",
                affected_ids=[person.id],
                witness_ids=[w.id for w in witnesses],
            ),
            submit=True,
        )


@pytest.fixture
def day(app: Flask) -> dict[str, Any]:
    seed_demo()
    eva, wim = user(EMPLOYEE), user(WITNESS)
    now = datetime.now(ZoneInfo("UTC"))
    evas = report(
        eva, "e2e-day-eva-token-padding", now - timedelta(days=2), [IncidentType.PHYSICAL], [wim]
    )
    wims = report(wim, "e2e-day-wim-token-padding", now, [IncidentType.VERBAL])
    return {"eva": evas.number, "wim": wims.number}


def groups(page: Any) -> Any:
    return page.locator("main section.incident-group")


def tab(page: Any, name: str) -> Any:
    return page.get_by_role("navigation", name="Whose steps").get_by_role(
        "link", name=re.compile(rf"^{name} \(\d+ steps?\)$")
    )


def test_the_home_page_the_inbox_tabs_a_search_and_being_away(page: Any, day: dict) -> None:
    checks = PageChecks()
    log_in(page, MANAGER)
    page.get_by_role("button", name="English").click()
    expect(heading(page)).to_have_text("Your day")

    # 2. The home page: what matters today, the steps she stands in for apart.
    main = page.locator("main")
    expect(main.get_by_role("heading", name=re.compile(r"^\d+ overdue steps?$"))).to_be_visible()
    expect(main.get_by_role("heading", name=re.compile(r"^\d+ steps? due today$"))).to_be_visible()
    expect(
        main.get_by_role("heading", name="2 new incidents in your teams", exact=True)
    ).to_be_visible()
    expect(main.get_by_role("link", name=f"Incident {day['eva']}", exact=True)).to_be_visible()
    standing = main.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile(r"steps? you stand in for$"))
    )
    expect(standing.get_by_role("table")).to_contain_text("Wim Witness")
    overdue = main.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile(r"overdue steps?$"))
    )
    expect(overdue.get_by_role("table")).to_contain_text("Eva Employee")
    checks(page)

    # 3. The inbox: her own steps, grouped by incident.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"^Aftercare")
    ).click()
    expect(heading(page)).to_have_text("Aftercare inbox")
    expect(tab(page, "Mine")).to_have_attribute("aria-current", "page")
    expect(groups(page)).to_have_count(1)
    expect(groups(page).first.get_by_role("heading")).to_contain_text(f"Incident {day['eva']}")
    expect(groups(page).first).not_to_contain_text("Wim Witness")
    checks(page)

    tab(page, "Standing in").click()
    expect(page).to_have_url(re.compile(r"tab=standing_in"))
    expect(tab(page, "Standing in")).to_have_attribute("aria-current", "page")
    expect(groups(page)).to_have_count(2)  # Wim's witness step and Wim's own incident
    expect(groups(page).first).to_contain_text("Wim Witness")
    checks(page)

    # A search by name, within the tab, then by number.
    search = page.get_by_role("searchbox", name="Search by incident number or name")
    search.fill("WIM wit")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"q=WIM\+wit"))
    expect(groups(page)).to_have_count(2)
    checks(page)
    search = page.get_by_role("searchbox", name="Search by incident number or name")
    search.fill(day["wim"])
    page.get_by_role("button", name="Search", exact=True).click()
    expect(groups(page)).to_have_count(1)
    expect(groups(page).first.get_by_role("heading")).to_contain_text(f"Incident {day['wim']}")
    expect(tab(page, "Mine")).to_have_accessible_name("Mine (0 steps)")
    checks(page)
    tab(page, "Mine").click()  # the search goes along: her own steps of Wim's incident
    expect(groups(page)).to_have_count(0)
    expect(main).to_contain_text("No steps found for this search here.")
    checks(page)

    # 4. Away until a day: the button opens the small form, saying what will happen.
    page.goto("/")
    page.get_by_text("I will be away", exact=True).click()
    expect(main).to_contain_text("new steps of your teams go to your deputies")
    back_on = (datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=7)).isoformat()
    page.get_by_label("Back on (optional)").fill(back_on)
    checks(page)
    page.get_by_role("button", name="Yes, mark me as away").click()
    expect(page).to_have_url(re.compile(r"/$"))
    banner = main.locator(".alert")
    expect(banner).to_have_count(1)  # one banner, no flash repeating it
    expect(banner).to_contain_text("You are away: new steps go to your deputies until")
    checks(page)
    page.get_by_role("button", name="I am back").click()
    expect(main.get_by_role("status")).to_contain_text("Welcome back")
    expect(main.locator(".alert--info")).to_have_count(0)
    expect(main.get_by_text(re.compile(r"^You are away"))).to_have_count(0)
    checks.done()
