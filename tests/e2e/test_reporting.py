"""Reporting in a real browser: the full report form, validation, the quick log, drafts, the
form without JavaScript, and double submits; what a witness may see of the incident.

Every page visited for the first time is checked with axe-core (no serious or critical
violations) and for sideways scrolling. Those checks are collected and reported together at
the end of a flow, so one page's accessibility problem does not hide whether the rest of the
flow works. Flows that only make sense at one width (the quick log on a phone, the form
without JavaScript, going back to resubmit) open their own browser context at that width;
the rest run at desktop width and at 390 px through the `page` fixture.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import Incident, IncidentStatus, PersonRole
from incidents.services.demo import seed_demo
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    Viewport,
)
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

DETAIL_URL = re.compile(r"/incidents/(\d+)$")
EDIT_URL = re.compile(r"/incidents/(\d+)/edit$")
RECEIVED = "Dank u wel. Uw melding is ontvangen."

DESCRIPTION = "De klant schreeuwde aan de balie en dreigde terug te komen."
PERPETRATOR = "Piet Dader"
LOCATION = "Balie 3"
WEAPON = "Er was een wapen in het spel"


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo organisation and accounts, committed."""
    seed_demo()


# --- Helpers ---------------------------------------------------------------------------------


@contextmanager
def open_page(
    browser: Any, base_url: str, viewport: Viewport, *, javascript: bool = True
) -> Iterator[Any]:
    """A page in a context of its own (closed afterwards), set up like the `page` fixture's;
    fails on JavaScript or console errors."""
    context = browser.new_context(
        base_url=base_url,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        java_script_enabled=javascript,
        **viewport.context_options(),
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                errors.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        yield page
        page.close()
    finally:
        context.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def phone_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page at 390 px only, for flows made for a phone."""
    with open_page(browser, live_server, PHONE) as page:
        yield page


@pytest.fixture
def desktop_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page at desktop width only, for flows whose outcome does not depend on the width."""
    with open_page(browser, live_server, DESKTOP) as page:
        yield page


def fact(page: Any, term: str) -> Any:
    """The value next to `term` in the incident's facts."""
    return page.locator("dl.facts dt", has_text=re.compile(rf"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def open_report_form(page: Any) -> None:
    page.goto("/incidents/new")
    expect(heading(page)).to_have_text("Meld een incident")


def tap_choice(page: Any, role: str, name: str) -> None:
    """Tap a radio button or checkbox chip on its label, as a thumb on a phone would."""
    page.locator("label", has_text=re.compile(rf"^{re.escape(name)}$")).tap()
    expect(page.get_by_role(role, name=name, exact=True)).to_be_checked()


def search_colleague_without_javascript(page: Any, field: str, typed: str, name: str) -> None:
    """Without JavaScript: type in the list's search field, press its button, tick the match."""
    page.locator(f"#{field}_q").fill(typed)
    page.locator(f"button[name=find][value={field}]").click()
    page.locator(f"fieldset#{field}").get_by_role(
        "checkbox", name=re.compile(rf"^{re.escape(name)}\b")
    ).check()


def fill_full_report(page: Any, *, pick_witnesses: bool = True) -> None:
    """Everything a careful reporter fills in; the time keeps its default (now)."""
    expect(page.get_by_label("Wanneer gebeurde het?")).not_to_have_value("")
    page.get_by_role("radio", name="Balie", exact=True).check()
    page.get_by_role("checkbox", name="Verbale agressie", exact=True).check()
    page.get_by_role("checkbox", name="Bedreiging", exact=True).check()
    page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
    open_section(page, "Meer details")
    page.get_by_label("Plaats", exact=True).fill(LOCATION)
    open_section(page, "Betrokken collega's")
    if pick_witnesses:
        pick_colleague(page, "witnesses", "Wim", "Wim Witness")
    page.get_by_role("checkbox", name=WEAPON).check()
    page.get_by_role("radio", name="Bekend", exact=True).check()
    page.get_by_label("Naam van de dader").fill(PERPETRATOR)


def submit_report(page: Any) -> int:
    """Press "Melding indienen" (the first, right after the required fields); lands on the
    incident's page. Returns its id."""
    page.get_by_role("button", name="Melding indienen").first.click()
    expect(page).to_have_url(DETAIL_URL)
    return int(DETAIL_URL.search(page.url).group(1))  # type: ignore[union-attr]


def all_incidents() -> list[Incident]:
    fresh()
    return list(db.session.scalars(select(Incident).order_by(Incident.id)))


def incident_count() -> int:
    fresh()
    return db.session.scalar(select(func.count()).select_from(Incident)) or 0


def my_incidents_row(page: Any, text: str) -> Any:
    table = page.get_by_role("table", name=re.compile("^Incidenten die u meldde"))
    return table.get_by_role("row").filter(has_text=text)


# --- 1. The full report, and what a witness sees ---------------------------------------------


def test_full_report_and_the_witness_sees_only_the_basics(page: Any, demo: None) -> None:
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    open_report_form(page)
    checks(page)

    fill_full_report(page)
    incident_id = submit_report(page)

    expect(status(page)).to_have_text(RECEIVED)
    expect(heading(page)).to_have_text(re.compile(r"^Incident \d{4}-\d{4} van "))
    expect(fact(page, "Beschrijving")).to_have_text(DESCRIPTION)
    expect(fact(page, "Waar of hoe")).to_have_text(f"Balie · {LOCATION}")
    expect(fact(page, "Soort")).to_have_text("Bedreiging, Verbale agressie")
    expect(fact(page, "Verzwarende omstandigheden")).to_have_text(WEAPON)
    expect(fact(page, "Collega's als getuige")).to_have_text("Wim Witness")
    expect(fact(page, "Dader")).to_have_text(PERPETRATOR)
    checks(page)
    (incident,) = all_incidents()
    assert incident.id == incident_id and incident.status == IncidentStatus.SUBMITTED
    assert [p.user.name for p in incident.people if p.role == PersonRole.WITNESS] == ["Wim Witness"]

    log_out(page)
    log_in(page, "witness@demo.test")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role(
        "link", name="Mijn incidenten"
    ).click()
    expect(heading(page)).to_have_text("Mijn incidenten")
    row = my_incidents_row(page, "Bedreiging, Verbale agressie")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Getuige")
    expect(row).to_contain_text("Ingediend")
    checks(page)

    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident_id}$"))
    expect(heading(page)).to_have_text(re.compile(r"^Incident \d{4}-\d{4} van "))
    expect(fact(page, "Wanneer")).to_have_text(re.compile(r"^\s*\d{2}-\d{2}-\d{4} \d{2}:\d{2}\s*$"))
    expect(fact(page, "Waar of hoe")).to_have_text(f"Balie · {LOCATION}")
    expect(fact(page, "Soort")).to_have_text("Bedreiging, Verbale agressie")
    expect(page.get_by_role("heading", name="Uw rol")).to_be_visible()
    expect(fact(page, "Beschrijving")).to_have_count(0)
    expect(fact(page, "Dader")).to_have_count(0)
    html = page.content()
    assert DESCRIPTION not in html
    assert PERPETRATOR not in html
    assert WEAPON not in html
    expect(page.get_by_role("link", name="Informatie toevoegen")).to_have_count(0)
    checks(page)
    checks.done()


# --- 2. Validation ---------------------------------------------------------------------------


def submit_without_description_and_type(page: Any) -> None:
    open_report_form(page)
    page.get_by_role("radio", name="Balie", exact=True).check()
    open_section(page, "Meer details")
    page.get_by_label("Plaats", exact=True).fill(LOCATION)
    page.get_by_role("button", name="Melding indienen").first.click()
    expect(page).to_have_url(re.compile(r"/incidents/new\?t=[\w-]+$"))


def test_errors_are_shown_next_to_the_fields_and_the_rest_is_kept(page: Any, demo: None) -> None:
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    submit_without_description_and_type(page)

    expect(page.get_by_role("alert")).to_have_text("Verbeter de gemarkeerde velden hieronder.")
    expect(page.locator("#description-error")).to_have_text("Beschrijf kort wat er gebeurde.")
    expect(page.locator("#types-error")).to_have_text("Kies minstens één soort.")
    expect(page.locator("p.error")).to_have_count(2)

    # Next to their fields, and tied to them for screen readers.
    description = page.get_by_role("textbox", name="Korte beschrijving")
    expect(description).to_have_attribute("aria-invalid", "true")
    expect(description).to_have_attribute("aria-describedby", re.compile(r"\bdescription-error\b"))
    expect(description.locator("xpath=..").locator("#description-error")).to_be_visible()
    types = page.get_by_role("group", name="Wat is er gebeurd?")
    expect(types).to_have_attribute("aria-describedby", re.compile(r"\btypes-error\b"))
    expect(types.locator("#types-error")).to_be_visible()

    # What was typed or chosen is still there.
    expect(page.get_by_label("Plaats", exact=True)).to_have_value(LOCATION)
    expect(page.get_by_role("radio", name="Balie", exact=True)).to_be_checked()
    expect(page.get_by_label("Wanneer gebeurde het?")).not_to_have_value("")
    checks(page)
    assert incident_count() == 0
    checks.done()


# --- 3. The quick log, on a phone ------------------------------------------------------------


def test_quick_log_on_a_phone(phone_page: Any, demo: None) -> None:
    page = phone_page
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    page.locator("main").get_by_role("link", name="Snelle melding").tap()
    expect(heading(page)).to_have_text("Snelle melding")
    checks(page)

    tap_choice(page, "radio", "Verbale agressie")
    tap_choice(page, "radio", "Telefoon")
    page.get_by_role("button", name="Melden").tap()

    expect(page).to_have_url(DETAIL_URL)
    expect(status(page)).to_have_text("Gemeld. Dank u wel: elke melding helpt.")
    expect(fact(page, "Waar of hoe")).to_have_text("Telefoon")
    expect(fact(page, "Soort")).to_have_text("Verbale agressie")
    checks(page)

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role(
        "link", name="Mijn incidenten"
    ).tap()
    expect(heading(page)).to_have_text("Mijn incidenten")
    row = my_incidents_row(page, "Verbale agressie")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("snelle melding")
    checks(page)
    (incident,) = all_incidents()
    assert incident.quick and incident.status == IncidentStatus.SUBMITTED
    checks.done()


# --- 4. A draft, completed later -------------------------------------------------------------


def test_a_draft_is_listed_on_the_home_page_and_completed_later(page: Any, demo: None) -> None:
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    open_report_form(page)
    page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
    page.get_by_role("button", name="Opslaan als concept").click()

    expect(page).to_have_url(EDIT_URL)
    expect(heading(page)).to_have_text("Maak uw concept af")
    expect(status(page)).to_have_text("Concept opgeslagen. Er gebeurt nog niets tot u het indient.")
    checks(page)
    (draft,) = all_incidents()
    assert draft.status == IncidentStatus.DRAFT

    nav = page.get_by_role("navigation", name="Hoofdmenu")
    nav.get_by_role("link", name="Start").click()
    drafts = page.locator("section").filter(
        has=page.get_by_role("heading", name="Uw openstaande concepten")
    )
    expect(drafts.get_by_role("link")).to_have_count(1)
    checks(page)
    drafts.get_by_role("link", name=re.compile("^Concept van ")).click()

    expect(page).to_have_url(re.compile(rf"/incidents/{draft.id}/edit$"))
    expect(heading(page)).to_have_text("Maak uw concept af")
    expect(page.get_by_role("textbox", name="Korte beschrijving")).to_have_value(DESCRIPTION)
    page.get_by_role("radio", name="Balie", exact=True).check()
    page.get_by_role("checkbox", name="Verbale agressie", exact=True).check()
    assert submit_report(page) == draft.id

    expect(status(page)).to_have_text(RECEIVED)
    expect(page.get_by_text("Dit is een concept")).to_have_count(0)
    expect(page.get_by_role("link", name="Concept afmaken")).to_have_count(0)
    (incident,) = all_incidents()
    assert incident.status == IncidentStatus.SUBMITTED

    nav.get_by_role("link", name="Start").click()
    expect(heading(page)).to_contain_text("Welkom")
    expect(page.get_by_role("heading", name="Uw openstaande concepten")).to_have_count(0)

    # Adding information to the submitted incident.
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/incidents/{draft.id}$"))
    page.get_by_role("link", name="Informatie toevoegen").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{draft.id}/edit$"))
    expect(heading(page)).to_have_text("Informatie toevoegen")
    expect(page.get_by_role("button", name="Opslaan als concept")).to_have_count(0)
    checks(page)
    open_section(page, "Meer details")
    page.get_by_label("Plaats", exact=True).fill(LOCATION)
    page.get_by_role("button", name="Melding indienen").first.click()
    expect(page).to_have_url(re.compile(rf"/incidents/{draft.id}$"))
    expect(status(page)).to_have_text("Uw aanvullingen zijn opgeslagen.")
    expect(page.locator("ol.history")).to_contain_text("heeft informatie toegevoegd: Plaats")
    checks.done()


# --- 5. Without JavaScript -------------------------------------------------------------------


def test_the_form_and_the_witness_list_work_without_javascript(
    browser: Any, live_server: str, demo: None
) -> None:
    with open_page(browser, live_server, DESKTOP, javascript=False) as page:
        log_in(page, "employee@demo.test")
        open_report_form(page)
        fill_full_report(page, pick_witnesses=False)
        # Several colleagues, one search at a time: what was filled in and chosen stays.
        search_colleague_without_javascript(page, "witnesses", "Wim", "Wim Witness")
        search_colleague_without_javascript(page, "witnesses", "Mira", "Mira Manager")
        expect(page.get_by_label("Plaats", exact=True)).to_have_value(LOCATION)
        expect(page.get_by_role("textbox", name="Korte beschrijving")).to_have_value(DESCRIPTION)
        incident_id = submit_report(page)

        expect(status(page)).to_have_text(RECEIVED)
        expect(fact(page, "Beschrijving")).to_have_text(DESCRIPTION)
        # In the order they were chosen.
        expect(fact(page, "Collega's als getuige")).to_have_text("Wim Witness, Mira Manager")
    (incident,) = all_incidents()
    assert incident.id == incident_id and incident.status == IncidentStatus.SUBMITTED
    assert sorted(p.user.name for p in incident.people if p.role == PersonRole.WITNESS) == [
        "Mira Manager",
        "Wim Witness",
    ]


# --- 6. Double submits -----------------------------------------------------------------------


def test_an_impatient_second_press_creates_one_incident(
    page: Any, demo: None, viewport: Viewport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is slow; the reporter presses "Melding indienen" again before it answers,
    so the browser really sends the form twice."""
    save_report = services.save_report

    def slow_save_report(*args: Any, **kwargs: Any) -> Incident:
        time.sleep(0.6)
        return save_report(*args, **kwargs)

    monkeypatch.setattr(services, "save_report", slow_save_report)
    log_in(page, "employee@demo.test")
    open_report_form(page)
    fill_full_report(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    button = page.get_by_role("button", name="Melding indienen").first
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Raw input: a locator's click would wait for the first submit's page to load.
    press = page.touchscreen.tap if viewport.has_touch else page.mouse.click
    with page.expect_request(lambda r: r.method == "POST"):
        press(x, y)
    press(x, y)

    expect(page).to_have_url(DETAIL_URL)
    expect(fact(page, "Beschrijving")).to_have_text(DESCRIPTION)
    assert len(posts) == 2, posts
    assert incident_count() == 1


def test_going_back_and_submitting_again_creates_no_second_incident(
    desktop_page: Any, demo: None
) -> None:
    page = desktop_page
    log_in(page, "employee@demo.test")
    open_report_form(page)
    fill_full_report(page)
    first = submit_report(page)

    # Back: the form's address carries its token, which is used, so the browser shows the
    # incident that was made instead of an empty form; submitting again is impossible.
    page.go_back()
    expect(page).to_have_url(DETAIL_URL)
    assert incident_count() == 1
    assert page.url.endswith(f"/incidents/{first}")


# --- 7. The form on a phone ------------------------------------------------------------------


def test_on_a_phone_the_optional_sections_fold_and_count_what_is_filled_in(
    page: Any, demo: None
) -> None:
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    open_report_form(page)
    people = page.locator("details[data-section]").filter(has_text="Betrokken collega's")
    details = page.locator("details[data-section]").filter(has_text="Meer details")
    expect(people.locator("summary")).to_have_text("Betrokken collega's optioneel")
    expect(page.get_by_label("Plaats", exact=True)).to_be_hidden()  # folded
    # One button to send, right after the required fields (the second shows below an
    # unfolded section).
    expect(page.get_by_role("button", name="Melding indienen")).to_have_count(1)
    checks(page)
    page.get_by_role("radio", name="Balie", exact=True).check()
    page.get_by_role("checkbox", name="Verbale agressie", exact=True).check()
    page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
    open_section(page, "Betrokken collega's")
    page.locator("#affected_q").fill("zz")  # a search typed is nothing filled in
    expect(people.locator("[data-section-count]")).to_have_text("optioneel")
    page.locator("#affected_q").fill("")
    pick_colleague(page, "witnesses", "Wim", "Wim Witness")
    expect(people.locator("[data-section-count]")).to_have_text("1 ingevuld")
    open_section(page, "Meer details")
    page.get_by_role("radio", name="Bekend", exact=True).check()
    expect(details.locator("[data-section-count]")).to_have_text("1 ingevuld")
    expect(page.get_by_role("button", name="Melding indienen")).to_have_count(2)
    checks(page)
    location = page.get_by_label("Plaats", exact=True)
    location.fill(LOCATION)
    expect(details.locator("[data-section-count]")).to_have_text("2 ingevuld")
    location.press("Enter")  # sends the report
    expect(page).to_have_url(DETAIL_URL)
    expect(status(page)).to_have_text(RECEIVED)
    (incident,) = all_incidents()
    assert incident.location == LOCATION
    assert [p.user.name for p in incident.people if p.role == PersonRole.WITNESS] == ["Wim Witness"]
    checks.done()


def test_enter_without_javascript_sends_the_report_not_a_search(
    browser: Any, live_server: str, demo: None
) -> None:
    with open_page(browser, live_server, PHONE, javascript=False) as page:
        log_in(page, "employee@demo.test")
        open_report_form(page)
        page.get_by_role("radio", name="Balie", exact=True).check()
        page.get_by_role("checkbox", name="Verbale agressie", exact=True).check()
        page.get_by_role("textbox", name="Korte beschrijving").fill(DESCRIPTION)
        open_section(page, "Meer details")
        page.get_by_label("Plaats", exact=True).fill(LOCATION)
        page.get_by_label("Plaats", exact=True).press("Enter")
        expect(page).to_have_url(DETAIL_URL)
    (incident,) = all_incidents()
    assert incident.status == IncidentStatus.SUBMITTED and incident.location == LOCATION
