"""Evidence in a real browser, on a phone: a photo attached to a new report is on the incident
page, without its metadata, and the page stays clean for axe-core; the manager sees it too and
chooses it for the police."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import Attachment
from incidents.services.demo import seed_demo
from tests.e2e.conftest import PHONE
from tests.e2e.helpers import PageChecks, fresh, heading, log_in, log_out, open_section, status
from tests.e2e.test_reporting import DETAIL_URL, open_page, tap_choice

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(app: Flask) -> None:
    seed_demo()


@pytest.fixture
def phone_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page at 390 px only: attaching a photo is what a phone does."""
    with open_page(browser, live_server, PHONE) as page:
        yield page


def phone_photo() -> bytes:
    """What a phone camera gives: a JPEG with the device and the place in its EXIF data."""
    image = Image.new("RGB", (120, 80), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 21.0, 0.0), 3: "E", 4: (5.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_photo_attached_to_a_new_report_on_a_phone(phone_page: Any, demo: None) -> None:
    page = phone_page
    checks = PageChecks()
    log_in(page, "employee@demo.test")
    page.goto("/incidents/new")
    expect(heading(page)).to_have_text("Meld een incident")
    tap_choice(page, "radio", "Balie")
    tap_choice(page, "checkbox", "Bedreiging")
    page.get_by_role("textbox", name="Korte beschrijving").fill("Dreigde de balie te slopen.")
    open_section(page, "Foto's en bestanden")
    field = page.get_by_label("Foto's of bestanden")
    expect(field).to_have_attribute("accept", re.compile(r"image/\*"))  # a phone offers its camera
    field.set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}]
    )
    expect(page.locator("details[data-section]", has_text="Foto's en bestanden")).to_contain_text(
        "1 ingevuld"
    )
    checks(page)
    page.get_by_role("button", name="Melding indienen").first.tap()

    expect(page).to_have_url(DETAIL_URL)
    expect(status(page)).to_contain_text("Dank u")
    files = page.get_by_role("region", name="Foto's en bestanden")
    photo = files.get_by_role("img", name="IMG_2041.jpg")
    expect(photo).to_be_visible()
    # The picture really loaded (an <img> shows a download too), at its own size.
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 120
    expect(files.get_by_role("link", name="IMG_2041.jpg")).to_be_visible()
    checks(page)

    fresh()
    (attachment,) = db.session.scalars(select(Attachment))
    download = page.request.get(f"/incidents/{attachment.incident_id}/evidence/{attachment.id}")
    assert download.headers["content-disposition"].startswith("attachment;")
    image = Image.open(io.BytesIO(download.body()))
    assert not image.getexif() and b"PhoneMaker" not in download.body()

    log_out(page)
    log_in(page, "manager@demo.test")
    page.goto(f"/incidents/{attachment.incident_id}")
    files = page.get_by_role("region", name="Foto's en bestanden")
    expect(files.get_by_role("img", name="IMG_2041.jpg")).to_be_visible()
    files.get_by_role("button", name="Kiezen voor de politie").tap()
    expect(files.get_by_text("Voor de politie", exact=True)).to_be_visible()
    checks(page)
    checks.done()
