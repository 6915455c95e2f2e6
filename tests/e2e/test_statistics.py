"""HR in the browser: statistics with charts, a CSV download, the yearly report and its PDF."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from incidents import services
from incidents.cli import seed_demo
from incidents.extensions import db
from incidents.models import Channel, IncidentType, User
from incidents.services import ReportData
from tests.e2e.helpers import check_page, heading, log_in


@pytest.fixture
def data(app: Flask) -> int:
    """The demo organisation with twelve incidents last year; returns that year."""
    seed_demo()
    employee = db.session.scalar(db.select(User).filter_by(email="employee@demo.test"))
    assert employee is not None
    year = datetime.now(UTC).year - 1
    for n in range(12):
        services.save_report(
            employee,
            f"e2e-stats-token-{n:04d}",
            ReportData(
                occurred_at=datetime(year, 1 + n, 5, 10, tzinfo=UTC),
                channel=Channel.COUNTER if n % 3 else Channel.PHONE,
                types=[IncidentType.VERBAL if n % 4 else IncidentType.THREAT],
                description="Not for HR",
                affected_ids=[employee.id],
            ),
            submit=True,
        )
    return year


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
    levels = page.get_by_role("region", name="Incidenten naar niveau")
    expect(levels.get_by_role("row", name=re.compile("Totaal"))).to_contain_text("10")
    assert "Not for HR" not in page.content()
    check_page(page)

    with page.expect_download() as download:
        page.locator(
            "section", has=page.get_by_role("heading", name="Incidenten naar niveau")
        ).get_by_role("link", name="Downloaden als CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == ["Niveau", "Incidenten"] and rows[-1] == ["Totaal", "10"]

    page.get_by_role("link", name="Jaarrapportage voor de raad").click()
    expect(heading(page)).to_have_text(f"Agressie tegen medewerkers in {data}")
    check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Downloaden als PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert download.value.suggested_filename == f"agressie-rapportage-{data}.pdf"
