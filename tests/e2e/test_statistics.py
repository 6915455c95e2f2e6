"""HR in the browser: statistics with charts, a CSV download, the yearly report and its PDF."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from incidents.services.demo import HISTORY_DESCRIPTIONS, seed_demo, seed_demo_history
from tests.e2e.helpers import check_page, heading, log_in

SHOTS = Path(os.environ.get("INCIDENTS_SCREENSHOTS", tempfile.gettempdir()))


@pytest.fixture
def data(app: Flask) -> int:
    """The demo organisation with its history of past incidents; returns last year, which
    has been published in full."""
    seed_demo()
    now = datetime.now(UTC)
    assert seed_demo_history(now) > 50
    return now.year - 1


def test_hr_opens_statistics_downloads_csv_and_the_yearly_report(page: Any, data: int) -> None:
    log_in(page, "hr@demo.test")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role(
        "link", name="Statistieken"
    ).click()
    expect(heading(page)).to_have_text("Statistieken")
    page.get_by_label("Periode").select_option(str(data))
    page.get_by_role("button", name="Tonen").click()
    expect(page).to_have_url(re.compile(rf"period={data}"))
    # The chart is drawn from the table beside it; the table stays for screen readers.
    expect(page.locator(".chart canvas").first).to_be_visible()
    # A count below 5 is drawn as a hatched band, explained in the chart's legend.
    expect(page.locator(".chart.chart-banded canvas").first).to_be_visible()
    levels = page.get_by_role("region", name="Incidenten naar niveau")
    total = levels.get_by_role("row", name=re.compile("Totaal")).locator("td").inner_text()
    assert re.fullmatch(r"(\u2265 )?\d+", total), total
    assert not any(text in page.content() for text in HISTORY_DESCRIPTIONS)  # no free text
    page.screenshot(
        path=str(SHOTS / f"statistics-{page.viewport_size['width']}.png"), full_page=True
    )
    check_page(page)

    with page.expect_download() as download:
        page.locator(
            "section", has=page.get_by_role("heading", name="Incidenten naar niveau")
        ).get_by_role("link", name="Downloaden als CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == ["Niveau", "Incidenten"]
    assert rows[-1] == ["Totaal", total.replace("\u2265 ", ">=")]

    # Before and after a change at a quarter start: the quarter starts are offered.
    page.get_by_label("Verandering aan het begin van (bijvoorbeeld camera's uit)").select_option(
        f"{data}-07"
    )
    page.get_by_label("Vergelijken").select_option("3")
    page.get_by_role("button", name="Vergelijken").click()
    expect(page.get_by_role("heading", name=f"Voor en na juli {data}")).to_be_visible()
    check_page(page)

    # A recorded measure: where it applies against the rest of the organisation.
    page.get_by_role("link", name="Camera's in de spreekkamers uit").click()
    expect(heading(page)).to_have_text("Camera's in de spreekkamers uit")
    expect(page.get_by_role("heading", name="Deed het iets?")).to_be_visible()
    expect(page.get_by_text("Methode:")).to_be_visible()
    page.screenshot(
        path=str(SHOTS / f"org-measure-{page.viewport_size['width']}.png"), full_page=True
    )
    check_page(page)
    # Recording one: a mistake is put next to its field, then it is recorded.
    page.get_by_role("link", name="Terug naar de maatregelen").click()
    page.get_by_role("link", name="Maatregel vastleggen").click()
    page.get_by_label("Naam van de maatregel").fill("Tweede collega bij eerste gesprekken")
    page.get_by_role("button", name="Vastleggen").click()
    expect(page.locator("#taken_on-error")).to_be_visible()
    check_page(page)
    page.get_by_label("Datum van invoering").fill(f"{data + 2}-01-01")
    page.get_by_role("checkbox", name="Spreekkamer", exact=True).check()
    page.get_by_role("button", name="Vastleggen").click()
    expect(heading(page)).to_have_text("Tweede collega bij eerste gesprekken")
    expect(page.get_by_text("Nog niet vergeleken")).to_be_visible()
    page.screenshot(
        path=str(SHOTS / f"org-measure-new-{page.viewport_size['width']}.png"), full_page=True
    )
    check_page(page)
    page.goto(page.url.split("/learning")[0] + f"/hr/statistics?period={data}")

    page.get_by_role("link", name="Jaarrapportage voor de raad").click()
    expect(heading(page)).to_have_text(f"Agressie tegen medewerkers in {data}")
    expect(page.get_by_role("heading", name="Wat we deden en wat het veranderde")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"report-{page.viewport_size['width']}.png"), full_page=True)
    check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Downloaden als PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert download.value.suggested_filename == f"agressie-rapportage-{data}.pdf"
