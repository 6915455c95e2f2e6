"""The lookup at the counter in the browser, at desktop and phone width: a refused search and
a found measure, then the admin giving the front-office permission; axe-core finds nothing
serious and nothing scrolls sideways."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from incidents import services
from incidents.extensions import db
from incidents.models import User
from tests.conftest import PASSWORD
from tests.e2e.helpers import check_page, fresh, heading
from tests.web.measure_helpers import in_force, staff  # noqa: F401  (a fixture)


def in_english(user: User) -> User:
    """The new strings are not in the Dutch catalogue yet: the flow reads them in English."""
    with services.transaction():
        db.session.get_one(User, user.id).locale = "en"
    return user


def log_in(page: Any, user: User) -> None:
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_look_up_at_the_counter(page: Any, staff: dict[str, Any]) -> None:  # noqa: F811
    measure = in_force(staff)
    log_in(page, in_english(staff["counter"]))
    page.get_by_role("link", name="Look up a citizen at the counter").click()
    expect(heading(page)).to_have_text("Look up at the counter")
    check_page(page)

    search = page.get_by_label("Name or client reference")
    search.fill("ja")
    page.get_by_role("button", name="Look up", exact=True).click()
    expect(page.locator("#query-error")).to_contain_text("Type at least 3 characters")
    expect(search).to_have_attribute("aria-invalid", "true")
    check_page(page)

    search.fill("jansen")
    page.get_by_role("button", name="Look up", exact=True).click()
    found = page.locator(".lookup-lines li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Jan Jansen")
    expect(found).to_contain_text(
        f"Measure in force until {measure.ends_on.strftime('%d/%m/%Y')}: "
        "Conversations only with two colleagues present."
    )
    expect(page).to_have_url(re.compile(r"/measures/lookup$"))  # the name is not in the address
    check_page(page)


def test_the_admin_gives_the_front_office_permission(page: Any, staff: dict[str, Any]) -> None:  # noqa: F811
    person = staff["witness"]
    log_in(page, in_english(staff["admin"]))
    page.goto(f"/admin/users/{person.id}/edit")
    check_page(page)
    box = page.get_by_label("Front office: may look up measures in force at the counter")
    box.check()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.locator("tr", has_text=person.email).locator(".tag")).to_have_text("front office")
    check_page(page)
    fresh()
    assert db.session.get_one(User, person.id).front_office
