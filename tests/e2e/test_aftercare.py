"""Aftercare in a real browser, from the report to the outcomes, at desktop width and at
390 px (a phone):

1. Eva Employee reports physical violence at the counter, with Wim Witness as a colleague
   witness; the incident gets level 3 and her own aftercare steps.
2. Mira Manager (her manager) opens the inbox from the navigation (her own steps, grouped
   by incident; the badge counts only those), records the contact
   conversation (held, today, a short note) and the decision on the police report (not filed:
   first without a reason, which is refused next to the reason field, then with one).
3. Max Manager (Wim's manager) records the aftercare conversation offered to the witness.
4. Eva sees her contact step done, with the outcome and the note, on the home page and, in
   plain words, on the incident page; never Wim's step.
5. Wim sees his own step and its outcome on the incident page, and not the description.

Every page of the flow is checked with axe-core (no serious or critical violations; the step
page also with a validation error shown) and for sideways scrolling. Those checks are collected
and reported together at the end, so one page's problem does not hide whether the rest of the
flow works.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import AftercareStep, StepStatus
from incidents.rules import StepKind
from incidents.services.demo import seed_demo
from tests.e2e.helpers import (
    PageChecks,
    fresh,
    heading,
    log_in,
    log_out,
    open_section,
    pick_colleague,
    status,
)

pytestmark = pytest.mark.e2e

EMPLOYEE, WITNESS = "employee@demo.test", "witness@demo.test"
MANAGER, MANAGER2 = "manager@demo.test", "manager2@demo.test"

DETAIL_URL = re.compile(r"/incidents/(\d+)$")
INBOX_URL = re.compile(r"/aftercare$")
STEP_URL = re.compile(r"/aftercare/steps/\d+$")
NAV_AFTERCARE = re.compile(r"^Nazorg (\d+) open$")

DESCRIPTION = "Een klant duwde mij tegen de balie en sloeg mij op de arm."
CONTACT = "Contact met de medewerker: veiligheid, eerste behoeften, praktische hulp"
POLICE = "Besluit over aangifte (de werkgever kan aangifte doen op domicilie; vermeld VPT)"
WITNESS_STEP = "Opvanggesprek aanbieden aan de collega die getuige was"
CONTACT_NOTE = "Is vervroegd naar huis gegaan; een collega heeft haar gebracht."
NO_REPORT_REASON = "De medewerker wil geen aangifte; de dader is onbekend."
WITNESS_NOTE = "Gesprek gevoerd; Wim heeft verder niets nodig."


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo organisation and accounts, committed."""
    seed_demo()


# --- Helpers ---------------------------------------------------------------------------------


def today() -> str:
    """Today in the organisation's time zone, as a date input wants it (YYYY-MM-DD)."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date().isoformat()


def nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Hoofdmenu")


def open_count(page: Any) -> int:
    """The number on the "Nazorg" item of the main navigation (the manager's own open steps;
    no number: none)."""
    if nav(page).get_by_role("link", name="Nazorg", exact=True).count() == 1:
        return 0
    link = nav(page).get_by_role("link", name=NAV_AFTERCARE)
    expect(link).to_have_count(1)
    text = " ".join(link.inner_text().split())
    match = NAV_AFTERCARE.match(text)
    assert match is not None, text
    return int(match.group(1))


def steps_table(page: Any, caption: str) -> Any:
    return page.get_by_role("table", name=caption, exact=True)


def step_row(table: Any, title: str, person: str) -> Any:
    """The row of the step called `title` for `person` (a name, or "Het incident")."""
    return table.locator("tbody tr").filter(has_text=title).filter(has_text=person)


def cell(row: Any, column: str) -> Any:
    """A row's cell by its column (each cell carries its column's name, for phones)."""
    return row.locator(f'td[data-label="{column}"]')


def your_aftercare(page: Any) -> Any:
    """The employee's own aftercare in plain words, on the incident page."""
    found = page.locator("section.your-aftercare")
    expect(found).to_have_count(1)
    return found


def steps_of(incident_id: int) -> list[AftercareStep]:
    fresh()
    return list(
        db.session.scalars(select(AftercareStep).where(AftercareStep.incident_id == incident_id))
    )


def report_physical_violence(page: Any) -> int:
    """The report form, as Eva fills it in; lands on the incident's page. Returns its id."""
    page.goto("/incidents/new")
    expect(heading(page)).to_have_text("Meld een incident")
    page.get_by_role("radio", name="Balie", exact=True).check()
    page.get_by_role("checkbox", name="Fysiek geweld", exact=True).check()
    page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
    open_section(page, "Betrokken collega's")
    pick_colleague(page, "witnesses", "Wim", "Wim Witness")
    page.get_by_role("button", name="Melding indienen").first.click()
    expect(page).to_have_url(DETAIL_URL)
    return int(DETAIL_URL.search(page.url).group(1))  # type: ignore[union-attr]


def open_inbox(page: Any) -> int:
    """Through "Nazorg" in the navigation; returns the count its badge showed."""
    count = open_count(page)
    nav(page).get_by_role("link", name=re.compile(r"^Nazorg")).click()
    expect(page).to_have_url(INBOX_URL)
    expect(heading(page)).to_have_text("Nazorg-inbox")
    return count


def inbox_table(page: Any) -> Any:
    """The inbox's steps: a table per incident (they are grouped by incident)."""
    return page.locator("main section.incident-group table.steps")


def open_step(page: Any, title: str, person: str) -> None:
    """From the inbox, the step's page."""
    row = step_row(inbox_table(page), title, person)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=title, exact=True).click()
    expect(page).to_have_url(STEP_URL)
    expect(heading(page)).to_have_text(title)


def save_step(page: Any) -> None:
    """Press "Opslaan" on a step page that is filled in correctly; lands on the inbox."""
    page.get_by_role("button", name="Opslaan", exact=True).click()
    expect(page).to_have_url(INBOX_URL)
    expect(status(page)).to_have_text("Opgeslagen.")


def record_conversation(page: Any, note: str) -> None:
    """Held, today, with a short note."""
    page.get_by_role("radio", name="Gevoerd", exact=True).check()
    page.get_by_label("Datum", exact=True).fill(today())
    page.get_by_label("Korte notitie").fill(note)
    save_step(page)


# --- The flow --------------------------------------------------------------------------------


def test_report_steps_by_two_managers_and_the_outcomes_seen_by_employee_and_witness(
    page: Any, demo: None
) -> None:
    checks = PageChecks()

    # 1. Eva reports physical violence, with Wim as a colleague witness.
    log_in(page, EMPLOYEE)
    incident_id = report_physical_violence(page)
    expect(status(page)).to_have_text("Dank u wel. Uw melding is ontvangen.")
    expect(page.get_by_role("heading", name="Niveau 3", exact=True)).to_be_visible()
    expect(page.get_by_text("Niveau 3 vanwege: fysiek geweld", exact=True)).to_be_visible()
    planned = steps_of(incident_id)
    eva_steps = [s for s in planned if s.subject_user and s.subject_user.name == "Eva Employee"]
    assert len(eva_steps) >= 2 and len(planned) > len(eva_steps)
    # Eva reads her own aftercare in plain words, not a table of steps.
    expect(page.locator("table.steps")).to_have_count(0)
    mine = your_aftercare(page)
    told = (StepKind.POLICE_REPORT, StepKind.PERPETRATOR_RESPONSE)  # about the incident
    plan = [s for s in planned if s.is_open and (s in eva_steps or s.kind in told)]
    expect(mine.locator("li")).to_have_count(len(plan))
    expect(mine).to_contain_text("Mira Manager")
    expect(mine).not_to_contain_text("Wim Witness")
    checks(page)
    log_out(page)

    # 2. Mira records the contact conversation and the decision on the police report.
    log_in(page, MANAGER)
    before = open_inbox(page)
    # The badge counts the steps Mira owns: not Wim's, which she may stand in for.
    mira_id = next(s.owner_id for s in eva_steps)
    assert before == len([s for s in planned if s.is_open and s.owner_id == mira_id])
    expect(step_row(inbox_table(page), CONTACT, "Eva Employee")).to_have_count(1)
    checks(page)

    open_step(page, CONTACT, "Eva Employee")
    expect(page.locator("dl.facts")).to_contain_text("Eva Employee")
    checks(page)
    record_conversation(page, CONTACT_NOTE)
    expect(step_row(inbox_table(page), CONTACT, "Eva Employee")).to_have_count(0)
    assert open_count(page) == before - 1

    open_step(page, POLICE, "Het incident")
    page.get_by_role("radio", name="Geen aangifte gedaan", exact=True).check()
    page.get_by_role("button", name="Opslaan", exact=True).click()
    # Refused: the reason is needed when no report was filed. The error sits next to the
    # field, tied to it for screen readers; the chosen outcome is kept.
    expect(page).to_have_url(STEP_URL)
    expect(heading(page)).to_have_text(POLICE)
    expect(page.locator("main").get_by_role("alert")).to_be_visible()
    reason = page.get_by_role("textbox", name="Reden", exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_attribute("aria-describedby", re.compile(r"\breason-error\b"))
    error = page.locator("#reason-error")
    expect(error).to_have_text("Geef de reden op.")
    expect(reason.locator("xpath=..").locator("#reason-error")).to_be_visible()
    expect(page.locator("p.error")).to_have_count(1)
    expect(page.get_by_role("radio", name="Geen aangifte gedaan", exact=True)).to_be_checked()
    checks(page)
    reason.fill(NO_REPORT_REASON)
    save_step(page)
    expect(step_row(inbox_table(page), POLICE, "Het incident")).to_have_count(0)
    assert open_count(page) == before - 2

    # The done steps, in the inbox and on the incident's timeline.
    page.get_by_role("navigation", name="Filteren").get_by_role("link", name="Afgerond").click()
    expect(page).to_have_url(re.compile(r"/aftercare\?tab=mine&state=done$"))
    done = inbox_table(page)
    expect(done.locator("tbody tr")).to_have_count(2)
    expect(cell(step_row(done, CONTACT, "Eva Employee"), "Status en uitkomst")).to_contain_text(
        "Afgerond: Gevoerd"
    )
    checks(page)

    page.goto(f"/incidents/{incident_id}")
    timeline = steps_table(page, "Nazorgstappen")
    expect(timeline.locator("tbody tr")).to_have_count(len(planned))
    outcome = cell(step_row(timeline, CONTACT, "Eva Employee"), "Status en uitkomst")
    expect(outcome).to_contain_text("Afgerond: Gevoerd")
    expect(outcome).to_contain_text("Mira Manager")
    expect(outcome).to_contain_text(CONTACT_NOTE)
    police = cell(step_row(timeline, POLICE, "Het incident"), "Status en uitkomst")
    expect(police).to_contain_text("Afgerond: Geen aangifte gedaan")
    expect(police).to_contain_text(f"Reden: {NO_REPORT_REASON}")
    expect(
        cell(step_row(timeline, WITNESS_STEP, "Wim Witness"), "Status en uitkomst")
    ).to_have_text("Open")
    checks(page)
    log_out(page)

    # 3. Max records the aftercare conversation offered to Wim, the witness.
    log_in(page, MANAGER2)
    before2 = open_inbox(page)
    open_step(page, WITNESS_STEP, "Wim Witness")
    expect(page.locator("dl.facts")).to_contain_text("Wim Witness")
    record_conversation(page, WITNESS_NOTE)
    expect(step_row(inbox_table(page), WITNESS_STEP, "Wim Witness")).to_have_count(0)
    assert open_count(page) == before2 - 1
    log_out(page)

    # What was stored: who recorded what, with the date typed in the date input.
    recorded = sorted(
        (
            s.definition_id,
            s.done_by.name if s.done_by else "",
            s.outcomes,
            s.held_on.isoformat() if s.held_on else None,
        )
        for s in steps_of(incident_id)
        if s.status == StepStatus.DONE
    )
    assert recorded == [
        ("contact", "Mira Manager", ["held"], today()),
        ("police_report", "Mira Manager", ["not_filed"], None),
        ("witness_aftercare_conversation", "Max Manager", ["held"], today()),
    ]

    # 4. Eva sees the outcome and the note of her contact step; never Wim's step.
    log_in(page, EMPLOYEE)
    mine = page.locator("section").filter(has=page.get_by_role("heading", name="Uw nazorg"))
    table = steps_table(mine, "Uw nazorgstappen")
    expect(table.locator("tbody tr")).to_have_count(len(eva_steps))
    outcome = cell(step_row(table, CONTACT, "Mira Manager"), "Status en uitkomst")
    expect(outcome).to_contain_text("Afgerond: Gevoerd")
    expect(outcome).to_contain_text(CONTACT_NOTE)
    expect(page.locator("main")).not_to_contain_text("Wim Witness")
    expect(page.locator("main")).not_to_contain_text(WITNESS_STEP)
    expect(page.locator("main")).not_to_contain_text(WITNESS_NOTE)
    checks(page)

    table.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident_id}$"))
    expect(page.locator("table.steps")).to_have_count(0)
    mine = your_aftercare(page)
    expect(mine).to_contain_text("Mira Manager")
    expect(mine).to_contain_text(CONTACT_NOTE)
    expect(mine).to_contain_text(NO_REPORT_REASON)  # the decision on the police report, why
    expect(mine).not_to_contain_text("Wim Witness")  # (the page names him as a witness)
    expect(mine).not_to_contain_text("Max Manager")
    expect(page.locator("main")).not_to_contain_text(WITNESS_STEP)
    expect(page.locator("main")).not_to_contain_text(WITNESS_NOTE)
    checks(page)
    log_out(page)

    # 5. Wim sees his own step and its outcome, and not what happened in detail.
    log_in(page, WITNESS)
    page.goto(f"/incidents/{incident_id}")
    expect(heading(page)).to_have_text(re.compile(r"^Incident \d{4}-\d{4} van "))
    expect(page.get_by_role("heading", name="Uw rol")).to_be_visible()
    expect(page.locator("table.steps")).to_have_count(0)
    mine = your_aftercare(page)
    expect(mine.locator("li")).to_have_count(1)
    expect(mine).to_contain_text("Max Manager")
    expect(mine).to_contain_text(WITNESS_NOTE)
    main = page.locator("main")
    for hidden in (DESCRIPTION, "Eva Employee", CONTACT, CONTACT_NOTE, NO_REPORT_REASON):
        expect(main).not_to_contain_text(hidden)
    expect(page.get_by_role("heading", name="Niveau 3")).to_have_count(0)
    assert DESCRIPTION not in page.content()
    checks(page)
    checks.done()
