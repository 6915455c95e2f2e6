"""Location posters in a real browser: the admin's register and poster (clean for axe-core,
the inline QR code allowed by the Content-Security-Policy, the menu left off in print), and a
scan when signed out that ends in the quick log with the place filled in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import Channel, Incident, Location
from incidents.services.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.helpers import PageChecks, fresh, heading, log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(app: Flask) -> None:
    seed_demo()


def demo_location(channel: Channel) -> Location:
    found = db.session.scalar(select(Location).where(Location.channel == channel))
    assert found is not None, "the demo has a location of each kind"
    return found


def test_the_admin_prints_a_poster(page: Any, demo: None) -> None:
    checks = PageChecks()
    room = demo_location(Channel.INTERVIEW_ROOM)
    log_in(page, "admin@demo.test")
    page.goto("/admin/locations")
    expect(page.get_by_role("cell", name=room.name, exact=True)).to_be_visible()
    checks(page)

    page.get_by_role("link", name=room.name, exact=True).click()
    expect(heading(page)).to_have_text(room.name)
    code = page.locator("svg.qr-code")
    expect(code).to_be_visible()
    box = code.bounding_box()
    assert box is not None and box["width"] >= 150  # big enough to scan from a wall
    expect(page.locator(".poster-url")).to_have_text(
        re.compile(rf"/incidents/quick\?at={room.code}$")
    )
    checks(page)

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".poster-tools")).to_be_hidden()
    expect(code).to_be_visible()
    checks.done()


def test_a_scan_when_signed_out_ends_in_the_quick_log_with_the_place(page: Any, demo: None) -> None:
    checks = PageChecks()
    counter = demo_location(Channel.COUNTER)
    page.goto(f"/incidents/quick?at={counter.code}")  # what the phone opens from the poster
    expect(heading(page)).to_have_text("Inloggen")
    page.get_by_label("E-mailadres").fill("employee@demo.test")
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()

    expect(heading(page)).to_have_text("Snelle melding")
    expect(page).to_have_url(re.compile(rf"[?&]at={counter.code}(&|$)"))
    expect(page.get_by_role("radio", name="Balie", exact=True)).to_be_checked()
    expect(page.get_by_role("textbox", name="Plaats")).to_have_value(counter.name)
    checks(page)

    page.locator("label[for=type-0]").click()  # verbal aggression
    page.locator("input[name=when][value=yesterday]").check()
    page.locator("#time_of_day").fill("16:45")
    page.get_by_role("button", name="Melden").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+$"))
    checks(page)

    fresh()
    (incident,) = db.session.scalars(select(Incident)).all()
    assert incident.location == counter.name and incident.channel == Channel.COUNTER
    assert incident.occurred_at is not None and incident.quick
    checks.done()
