"""HR statistics: figures after disclosure control, on the page, in CSV and in the PDF report;
an attacker who tries every filter; the query count; no names or free text."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Channel, IncidentType, Role
from incidents.services import ReportData
from tests.conftest import login

K = 5
NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def data(make_user, make_team):
    """2025: 23 incidents in a team of 6 and 3 in a team of 2, which is counted with its
    department (3 people of its own: 5 together)."""
    department = make_team("Department", name_nl="Afdeling")
    boss = make_user(Role.MANAGER, name="Boss Person")
    big = make_team("Income", parent=department, manager=boss)
    small = make_team("Tiny", parent=department, manager=boss)
    staff = [make_user(name=f"Staff Member {n}", team=big) for n in range(6)]
    tiny = [make_user(name=f"Tiny Member {n}", team=small) for n in range(2)]
    for n in range(3):  # the department's own staff: with the tiny team it reaches 5
        make_user(name=f"Department Member {n}", team=department)
    plan = (
        [(IncidentType.VERBAL, Channel.COUNTER)] * 14
        + [(IncidentType.THREAT, Channel.PHONE)] * 6
        + [(IncidentType.PHYSICAL, Channel.INTERVIEW_ROOM)] * 3
    )
    with time_machine.travel(datetime(2025, 12, 31, 12, tzinfo=UTC), tick=False):
        for n, (kind, channel) in enumerate(plan):
            services.save_report(
                staff[n % 6],
                f"stats-token-{n:04d}-padding",
                ReportData(
                    occurred_at=datetime(2025, 1 + n % 12, 3, 10, tzinfo=UTC),
                    channel=channel,
                    types=[kind],
                    description=f"Secret description {n}",
                    affected_ids=[staff[n % 6].id],
                    perpetrator_name="",
                ),
                submit=True,
            )
        for n in range(3):
            services.save_report(
                tiny[0],
                f"tiny-token-{n:04d}-padding",
                ReportData(
                    occurred_at=datetime(2025, 6, 10 + n, 10, tzinfo=UTC),
                    channel=Channel.HOME_VISIT,
                    types=[IncidentType.VERBAL],
                    description="Tiny secret",
                    affected_ids=[tiny[0].id],
                ),
                submit=True,
            )
    return {"department": department, "big": big, "small": small}


@pytest.fixture
def hr(app, make_user):
    with time_machine.travel(NOW, tick=False):
        yield login(app.test_client(), make_user(Role.HR, name="Hanna HR"))


def cells(html: str) -> list[str]:
    return [c.strip() for c in re.findall(r'<td class="num">([^<]*)</td>', html)]


COUNT_TABLES = ("cross", "levels", "months", "police", "referrals")


def csv_table(client, period, by, table):
    response = client.get(f"/hr/statistics.csv?period={period}&by={by}&table={table}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.text)))


def test_the_page_shows_rounded_and_suppressed_counts(hr, data):
    with time_machine.travel(NOW, tick=False):
        page = hr.get("/hr/statistics?period=2025&by=type").text
    assert "Statistieken" in page
    # 26 incidents -> 25; physical violence (3) -> "< 5"; verbal 17 -> 15; threat 6 -> 5.
    assert "<strong>25</strong>" in page
    rows = dict(
        re.findall(
            r'<th scope="row">([^<]+)</th>(?:<td class="num">[^<]*</td>)*?<td class="num">([^<]*)</td></tr>',
            page,
        )
    )
    assert rows["Fysiek geweld"] == "&lt; 5"
    assert rows["Verbale agressie"] == "15"
    assert rows["Bedreiging"] == "5"


def test_no_count_on_the_page_is_a_small_group(hr, data):
    with time_machine.travel(NOW, tick=False):
        for by in ("type", "channel", "team"):
            for table in COUNT_TABLES:
                for row in csv_table(hr, "2025", by, table)[1:]:
                    for value in row[1:]:
                        assert value in ("", "<5") or int(value) % K == 0, (by, table, row)


def test_small_teams_are_merged_into_their_department(hr, data):
    with time_machine.travel(NOW, tick=False):
        rows = csv_table(hr, "2025", "team", "cross")
    labels = [row[0] for row in rows[1:-1]]
    assert "Tiny" not in labels and "Tiny NL" not in labels
    assert "Afdeling" in labels  # the tiny team's incidents count for the department


def test_an_attacker_trying_every_filter_learns_no_small_group(hr, data):
    """Every allowed combination of period and breakdown, every table: no two figures differ by
    1..k-1, so neither "all" minus "all but one group" nor any other difference gives one away."""
    periods = ["2025", *(f"2025-Q{q}" for q in range(1, 5)), "2026"]
    values: set[int] = set()
    with time_machine.travel(NOW, tick=False):
        for period, by, table in itertools.product(
            periods, ("type", "channel", "team"), COUNT_TABLES
        ):
            for row in csv_table(hr, period, by, table)[1:]:
                values.update(int(v) for v in row[1:] if v not in ("", "<5"))
        for change, months in itertools.product(range(1, 13), (3, 6, 12)):
            url = f"/hr/statistics.csv?period=2025&by=type&table=compare&change=2025-{change:02d}&months={months}"
            for row in list(csv.reader(io.StringIO(hr.get(url).text)))[1:]:
                values.update(int(v) for v in row[1:] if v not in ("", "<5"))
    assert values  # the attacker did see figures
    for a, b in itertools.combinations(sorted(values), 2):
        assert not 1 <= b - a < K, (a, b)


def test_csv_holds_the_figures_of_the_page(hr, data):
    with time_machine.travel(NOW, tick=False):
        page = hr.get("/hr/statistics?period=2025&by=channel").text
        from_csv = []
        for table in ("cross", "levels", "months", "police", "referrals", "rates"):
            for row in csv_table(hr, "2025", "channel", table)[1:]:
                from_csv.extend(row[1:])
    shown = [c.replace("&lt; ", "<").replace("\u2013", "").replace(",", ".") for c in cells(page)]
    assert shown == from_csv


def test_the_pdf_report_holds_the_figures_of_the_report_page(hr, data):
    from pypdf import PdfReader

    with time_machine.travel(NOW, tick=False):
        page = hr.get("/hr/report?year=2025")
        pdf = hr.get("/hr/report.pdf?year=2025")
    assert page.status_code == 200 and pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    tokens = text.split()
    position = 0
    for figure in (c.replace("&lt; ", "< ") for c in cells(page.text)):
        for part in figure.split():
            position = tokens.index(part, position) + 1  # in the same order as on the page
    assert "Secret" not in text and "Staff Member" not in text


def test_hr_never_sees_names_free_text_or_links_to_incidents(hr, data):
    with time_machine.travel(NOW, tick=False):
        pages = [
            hr.get(f"/hr/statistics?period=2025&by={by}").text for by in ("type", "channel", "team")
        ]
        pages.append(hr.get("/hr/report?year=2025").text)
    for page in pages:
        assert "Secret" not in page and "Staff Member" not in page and "Boss Person" not in page
        assert "/incidents/" not in page


def test_bad_filters_fall_back_or_404_never_500(hr, data):
    with time_machine.travel(NOW, tick=False):
        for query in (
            "period=1999",
            "period=2025-Q5",
            "period=abc",
            "by=name",
            "by=",
            "period=2025&by=description",
        ):
            assert hr.get(f"/hr/statistics?{query}").status_code == 200
        assert hr.get("/hr/statistics.csv?period=2025&table=raw").status_code == 404
        assert hr.get("/hr/report?year=abcd").status_code == 200
        assert hr.get("/hr/report?year=1999").status_code in (200, 404)


def test_rates_per_thousand_conversations_use_rounded_counts(hr, data, app):
    from datetime import date

    from incidents.extensions import db
    from incidents.models import ConversationCount

    for month in range(1, 13):
        db.session.add(
            ConversationCount(
                team_id=data["big"].id,
                channel=Channel.COUNTER,
                month=date(2025, month, 1),
                count=100,
            )
        )
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        rows = csv_table(hr, "2025", "type", "rates")
    counter = next(r for r in rows if r[0] == "Balie")
    assert counter[1] == "12.5"  # 14 at the counter -> shown 15 -> 15 / 1,200 * 1,000


def test_the_statistics_page_makes_a_fixed_number_of_queries(
    hr, data, make_user, make_team, count_queries
):
    with time_machine.travel(NOW, tick=False):
        hr.get("/hr/statistics?period=2025&by=team")
        with count_queries() as few:
            hr.get("/hr/statistics?period=2025&by=team")
        team = make_team("Later", parent=data["department"])
        people = [make_user(team=team) for _ in range(5)]
    with time_machine.travel(datetime(2025, 12, 31, 12, tzinfo=UTC), tick=False):
        for n in range(10):
            services.save_report(
                people[n % 5],
                f"more-stats-token-{n:04d}",
                ReportData(
                    occurred_at=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=n),
                    channel=Channel.PHONE,
                    types=[IncidentType.THREAT, IncidentType.DISCRIMINATION],
                    description="x",
                    affected_ids=[people[n % 5].id],
                ),
                submit=True,
            )
    with time_machine.travel(NOW, tick=False), count_queries() as many:
        hr.get("/hr/statistics?period=2025&by=team")
    assert many.count == few.count


def test_exports_are_audited(hr, data):
    from sqlalchemy import select

    from incidents.extensions import db
    from incidents.models import AuditEvent

    with time_machine.travel(NOW, tick=False):
        csv_table(hr, "2025", "type", "levels")
        hr.get("/hr/report.pdf?year=2025")
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("stats.%"))
    ).all()
    assert sorted(actions) == ["stats.export", "stats.report_pdf"]


def test_before_and_after_a_change(hr, data):
    with time_machine.travel(NOW, tick=False):
        page = hr.get("/hr/statistics?period=2025&change=2025-07&months=6").text
        rows = list(
            csv.reader(
                io.StringIO(
                    hr.get(
                        "/hr/statistics.csv?period=2025&table=compare&change=2025-07&months=6"
                    ).text
                )
            )
        )
        assert hr.get("/hr/statistics?period=2025&change=2025-13&months=6").status_code == 200
        assert hr.get("/hr/statistics?period=2025&change=2025-07&months=7").status_code == 200
        assert hr.get("/hr/statistics.csv?period=2025&table=compare&change=bad").status_code == 404
    assert "Voor en na 2025-07" in page
    assert rows[0] == ["Niveau", "6 maanden voor", "6 maanden na", "Totaal"]
    # Before (January to June): 2 x 6 from the big team + 3 tiny = 15; after: 11 -> 10.
    assert rows[-1] == ["Totaal", "15", "10", "25"]
