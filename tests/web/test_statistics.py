"""HR statistics: figures after disclosure control, on the page, in CSV and in the PDF report;
closed periods only; rates over the months and teams with conversation counts; every request
audited; the query count; no names or free text. (The attacker who combines every figure is in
test_disclosure_attack.py.)"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    AuditEvent,
    Channel,
    ConversationCount,
    Incident,
    IncidentType,
    Role,
    StepStatus,
)
from incidents.services import ReportData
from incidents.services.aftercare import complete_step
from incidents.stats import tally
from incidents.stats.memo import memo
from tests.conftest import login
from tests.web.test_races import result_for

K = 5
NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 2025 is published (December closed 7 January)
BEFORE = datetime(2024, 12, 1, tzinfo=UTC)  # when the organisation was set up


def report(user, token, occurred, kind=IncidentType.VERBAL, channel=Channel.COUNTER):
    """Reported an hour after it happened."""
    with time_machine.travel(occurred + timedelta(hours=1), tick=False):
        return services.save_report(
            user,
            token,
            ReportData(
                occurred_at=occurred,
                channel=channel,
                types=[kind],
                description=f"Secret description {token}",
                affected_ids=[user.id],
            ),
            submit=True,
        )


@pytest.fixture
def data(make_user, make_team):
    """2025: 23 incidents in a team of 6 and 3 in a team of 2, which is counted with its
    department (3 people of its own: 5 together)."""
    with time_machine.travel(BEFORE, tick=False):
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
    for n, (kind, channel) in enumerate(plan):
        report(
            staff[n % 6],
            f"stats-token-{n:04d}-padding",
            datetime(2025, 1 + n % 12, 3, 10, tzinfo=UTC),
            kind,
            channel,
        )
    for n in range(3):
        report(
            tiny[0],
            f"tiny-token-{n:04d}-padding",
            datetime(2025, 6, 10 + n, 10, tzinfo=UTC),
            channel=Channel.HOME_VISIT,
        )
    return {"department": department, "big": big, "small": small, "staff": staff}


@pytest.fixture
def hr(app, make_user):
    with time_machine.travel(NOW, tick=False):
        yield login(app.test_client(), make_user(Role.HR, name="Hanna HR"))


def cells(html: str) -> list[str]:
    return [c.strip() for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', html)]


COUNT_TABLES = ("cross", "levels", "months", "police", "evidence", "referrals", "alarms")


def csv_table(client, query):
    response = client.get(f"/hr/statistics.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv", query
    return list(csv.reader(io.StringIO(response.text)))


def test_the_page_shows_banded_and_rounded_counts(hr, data):
    page = hr.get("/hr/statistics?period=2025&by=type").text
    assert "Statistieken" in page
    # 26 incidents -> 25; physical violence (3) -> "< 5"; verbal 17 -> 15; threat 6 -> 5.
    assert "<strong>25</strong>" in page
    rows = dict(
        re.findall(
            r'<th scope="row">([^<]+)</th>(?:<td class="num"[^>]*>[^<]*</td>)*?<td class="num"[^>]*>([^<]*)</td></tr>',
            page,
        )
    )
    assert rows["Fysiek geweld"] == "&lt; 5"
    assert rows["Verbale agressie"] == "15"
    assert rows["Bedreiging"] == "5"
    # A type that did not occur looks like one that occurred once: zero is not told apart.
    assert rows["Seksuele intimidatie"] == "&lt; 5"
    assert "data-suppressed>&lt; 5</td>" in page


def test_no_figure_is_zero_or_a_small_count(hr, data):
    for by in ("type", "channel", "team"):
        for table in COUNT_TABLES:
            for row in csv_table(hr, f"period=2025&by={by}&table={table}")[1:]:
                for value in row[1:]:
                    assert (
                        value in ("", "<5", "*")
                        or value.startswith(">=")
                        or (int(value) % K == 0 and int(value) >= K)
                    ), (by, table, row)


def test_a_total_over_parts_that_all_show_below_k_is_never_shown_as_a_number(hr, data):
    rows = csv_table(hr, "period=2025-Q3&by=channel&table=cross")
    total = rows[-1]
    for column in range(1, 5):
        parts = [row[column] for row in rows[1:-1]]
        if all(p == "<5" for p in parts):
            assert total[column] in ("<5", "*") or total[column].startswith(">="), total


def test_small_teams_are_merged_into_their_department_every_unit_listed(hr, data):
    rows = csv_table(hr, "period=2025&by=team&table=cross")
    labels = [row[0] for row in rows[1:-1]]
    assert "Tiny" not in labels and "Tiny NL" not in labels
    assert labels == ["Afdeling", "Income NL", "Geen team"]  # every unit, incidents or not
    # "No team" holds only the HR user here: no figures at all.
    assert rows[-2][1:] == ["*"] * 5


def test_a_team_is_as_large_as_it_was_all_year(hr, data, make_user):
    # The tiny team gains three members in December: for 2025 it stays merged, because it
    # had 2 members for eleven months.
    with time_machine.travel(datetime(2025, 12, 1, tzinfo=UTC), tick=False):
        for n in range(3):
            make_user(name=f"December Member {n}", team=data["small"])
    with time_machine.travel(NOW, tick=False):
        labels = [row[0] for row in csv_table(hr, "period=2025&by=team&table=cross")[1:-1]]
    assert "Tiny NL" not in labels


def test_by_team_only_for_whole_years(hr, data):
    rows = csv_table(hr, "period=2025-Q2&by=team&table=cross")
    assert rows[0][0] == "Soort"  # falls back to the breakdown by type


def test_only_published_quarters_are_offered(app, data, make_user):
    hr_user = make_user(Role.HR)
    # 2 April 2025: the first quarter has ended but is not published until 8 April.
    with time_machine.travel(datetime(2025, 4, 2, 9, tzinfo=UTC), tick=False):
        client = login(app.test_client(), hr_user)
        page = client.get("/hr/statistics").text
        assert "Nog niets gepubliceerd" in page
        assert client.get("/hr/statistics.csv?period=2025-Q1&table=levels").status_code == 404
    with time_machine.travel(datetime(2025, 4, 8, 9, tzinfo=UTC), tick=False):
        client = login(app.test_client(), hr_user)
        page = client.get("/hr/statistics").text
        assert '<option value="2025-Q1" selected>' in page
        assert '<option value="2025">' not in page and "2025-Q2" not in page
        report_page = client.get("/hr/report?year=2025").text
        assert "2025 is nog niet voorbij" in report_page
        assert "08-01-2026" in report_page  # December is published 7 days after it ends


def test_a_published_figure_does_not_move_when_a_late_report_arrives(hr, data):
    before = [csv_table(hr, f"period=2025&by=channel&table={t}") for t in COUNT_TABLES]
    # Reported now, about March 2025: counted nowhere in the statistics.
    for n in range(4):
        with time_machine.travel(NOW, tick=False):
            services.save_report(
                data["staff"][0],
                f"late-token-{n:04d}-padding",
                ReportData(
                    occurred_at=datetime(2025, 3, 5, 10, tzinfo=UTC),
                    channel=Channel.COUNTER,
                    types=[IncidentType.VERBAL],
                    description="Late",
                    affected_ids=[data["staff"][0].id],
                ),
                submit=True,
            )
    after = [csv_table(hr, f"period=2025&by=channel&table={t}") for t in COUNT_TABLES]
    for table, old, new in zip(COUNT_TABLES, before, after, strict=True):
        assert new == old, table


def test_csv_holds_the_figures_of_the_page(hr, data):
    page = hr.get("/hr/statistics?period=2025&by=channel").text
    from_csv = []
    for table in (
        "cross",
        "levels",
        "months",
        "police",
        "evidence",
        "referrals",
        "alarms",
        "rates",
        "measures",
    ):
        for row in csv_table(hr, f"period=2025&by=channel&table={table}")[1:]:
            from_csv.extend(row[1:])
    shown = [
        c.replace("&lt; ", "<").replace("\u2013", "").replace("\u2265 ", ">=").replace(",", ".")
        for c in cells(page)
    ]
    assert shown == from_csv


def test_the_pdf_report_holds_the_figures_of_the_report_page(hr, data):
    from pypdf import PdfReader

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
    pages = [
        hr.get(f"/hr/statistics?period=2025&by={by}").text for by in ("type", "channel", "team")
    ]
    pages.append(hr.get("/hr/report?year=2025").text)
    for page in pages:
        assert "Secret" not in page and "Staff Member" not in page and "Boss Person" not in page
        assert not re.search(r"/incidents/\d", page)  # reporting their own is fine


def test_bad_filters_fall_back_or_404_never_500(hr, data):
    for query in (
        "period=1999",
        "period=2025-Q5",
        "period=2026-Q1",  # not published yet
        "period=abc",
        "by=name",
        "by=",
        "period=2025&by=description",
        "change=2025-13&months=3",
        "change=2025-08&months=3",  # not a quarter start
        "change=2025-07&months=6",  # 6 = 3 + 3 is not offered
        "change=2025-07&months=x",
        "change=" + "9" * 300,
    ):
        response = hr.get(f"/hr/statistics?{query}")
        assert response.status_code == 200, query
    assert "Kies een kwartaal" in hr.get("/hr/statistics?change=2025-08&months=3").text
    for query in (
        "period=2025&table=raw",
        "table=compare&change=bad",
        "table=compare&change=2025-08&months=3",
    ):
        assert hr.get(f"/hr/statistics.csv?{query}").status_code == 404, query
    for year in ("abcd", "1999", "2027", "99999"):
        assert hr.get(f"/hr/report?year={year}").status_code == 200


def counter_rate(hr, data, months):
    """Register 100 counter conversations of the big team in these months of 2025; the
    counter row of the rates as the CSV shows it then."""
    for month in months:
        db.session.add(
            ConversationCount(
                team_id=data["big"].id,
                channel=Channel.COUNTER,
                month=date(2025, month, 1),
                count=100,
            )
        )
    db.session.commit()
    return next(r for r in csv_table(hr, "period=2025&by=type&table=rates") if r[0] == "Balie")


def test_rates_count_only_the_teams_and_months_with_conversation_counts(hr, data):
    # Conversations registered for the big team at the counter in three months only: the
    # rate counts the counter incidents of those months, not of the whole year.
    counter = counter_rate(hr, data, (1, 2, 3))
    # January to March: 5 counter incidents -> shown 5 -> 5 / 300 * 1,000; the whole year's
    # 14 counter incidents over those 300 conversations would have said 50.0.
    assert counter[1] == "16.7"
    page = hr.get("/hr/statistics?period=2025").text
    assert "(teams: 1; maanden: 3 van 12)" in page
    counter = counter_rate(hr, data, range(4, 13))
    # 14 at the counter: 15 / 1,200 * 1,000, top-coded like the count (three of its quarters
    # show "< 5"): "12.5 or more".
    assert counter[1] == ">=12.5"


def test_the_statistics_page_makes_a_fixed_number_of_queries(
    hr, data, make_user, make_team, count_queries
):
    hr.get("/hr/statistics?period=2025&by=team")
    memo().clear()  # what a page reads when nothing is kept, at both sizes
    with count_queries() as few:
        hr.get("/hr/statistics?period=2025&by=team")
    with time_machine.travel(BEFORE, tick=False):
        team = make_team("Later", parent=data["department"])
        people = [make_user(team=team) for _ in range(5)]
    for n in range(10):
        report(
            people[n % 5],
            f"more-stats-token-{n:04d}",
            datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=n),
        )
    memo().clear()
    with time_machine.travel(NOW, tick=False), count_queries() as many:
        hr.get("/hr/statistics?period=2025&by=team")
    assert many.count == few.count


def test_every_statistics_request_is_audited_with_what_was_asked(hr, data):
    hr.get("/hr/statistics?period=2025&by=channel")
    csv_table(hr, "period=2025&by=type&table=levels")
    hr.get("/hr/report?year=2025")
    hr.get("/hr/report.pdf?year=2025")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("stats.%")).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.details) for e in events] == [
        ("stats.view", {"period": "2025", "by": "channel"}),
        ("stats.export", {"period": "2025", "by": "type", "table": "levels"}),
        ("stats.report", {"year": 2025}),
        ("stats.report_pdf", {"year": 2025}),
    ]


def test_before_and_after_at_whole_quarters_without_a_total(hr, data):
    page = hr.get("/hr/statistics?period=2025&change=2025-07&months=3").text
    rows = csv_table(hr, "table=compare&change=2025-07&months=3")
    assert "Voor en na juli 2025" in page
    assert '<option value="2025-07" selected>' in page
    assert '<option value="2025-08"' not in page  # only quarter starts are offered
    assert rows[0] == ["Niveau", "3 maanden voor", "3 maanden na"]  # no before+after total
    # Before (April to June): 2 x 3 from the big team + 3 tiny = 9; after (July to September): 6.
    assert rows[-1] == ["Totaal", ">=10", "5"]  # 9 over three months of "< 5": top-coded
    # The 3-month windows are the quarters themselves: the same figures as their pages.
    q3 = csv_table(hr, "period=2025-Q3&table=levels")
    assert [row[1] for row in q3[1:]] == [row[2] for row in rows[1:]]


# --- what a process keeps (incidents.stats.memo) -----------------------------------------------

PAGES = ("period=2025&by=type", "period=2025&by=team", "period=2025-Q2&by=channel")


def shown(html: str) -> list[str]:
    """What a statistics page tells: its key figures, table titles and cells."""
    return re.findall(r"<strong>([^<]*)</strong>|<h2[^>]*>([^<]*)</h2>|<td[^>]*>([^<]*)</td>", html)


def kept_and_fresh(client, query: str) -> tuple[list[str], list[str]]:
    """The page as a process that kept its figures serves it, and as one that kept nothing."""
    kept = shown(client.get(f"/hr/statistics?{query}").text)
    memo().clear()
    return kept, shown(client.get(f"/hr/statistics?{query}").text)


def complete_on_time(manager, incidents) -> None:
    """Every open step of these incidents done an hour before it was due."""
    for incident in incidents:
        for step in db.session.scalars(
            select(AftercareStep).where(
                AftercareStep.incident_id == incident.id, AftercareStep.status == StepStatus.OPEN
            )
        ):
            with time_machine.travel(step.due_at - timedelta(hours=1), tick=False):
                complete_step(manager, step, result_for(step), attempts=step.attempts)


def test_a_kept_page_is_the_page_made_afresh_after_every_kind_of_change(hr, data, make_user):
    """Each change that moves a figure moves it on the next page of a process that kept the
    figures from before: it shows what a process that kept nothing shows."""
    boss = data["big"].manager
    incidents = list(db.session.scalars(select(Incident).order_by(Incident.id)))
    before = {query: shown(hr.get(f"/hr/statistics?{query}").text) for query in PAGES}

    def changes():
        yield "steps done on time", lambda: complete_on_time(boss, incidents[:12])
        yield "conversations registered", lambda: counter_rate(hr, data, (1, 2, 3))
        yield "a team grown all year", lambda: grow(data, make_user)

    for name, change in changes():
        for query in PAGES:
            hr.get(f"/hr/statistics?{query}")  # kept
        change()
        for query in PAGES:
            kept, fresh = kept_and_fresh(hr, query)
            assert kept == fresh, (name, query)
        moved = [q for q in PAGES if shown(hr.get(f"/hr/statistics?{q}").text) != before[q]]
        assert moved, f"{name} moved no figure: the test would not notice a stale page"
        before = {query: shown(hr.get(f"/hr/statistics?{query}").text) for query in PAGES}


def grow(data, make_user) -> None:
    """Two more people in the tiny team since before 2025: it reports on its own now."""
    with time_machine.travel(BEFORE, tick=False):
        for n in range(3):
            make_user(name=f"Newcomer {n}", team=data["small"])


def test_a_new_publication_is_a_new_key(app, data, make_user):
    """A month published since the figures were kept is read: 2026-Q1 appears, and its
    figures are those of a process that kept nothing."""
    person = make_user(Role.HR, name="Henk HR")
    with time_machine.travel(NOW, tick=False):
        report(data["staff"][0], "q1-token-0001-padding", datetime(2026, 2, 3, 10, tzinfo=UTC))
        page = login(app.test_client(), person).get("/hr/statistics").text
        assert 'value="2026-Q1"' not in page
    with time_machine.travel(datetime(2026, 5, 10, 9, tzinfo=UTC), tick=False):
        hr = login(app.test_client(), person)
        page = hr.get("/hr/statistics?period=2026-Q1").text
        assert 'value="2026-Q1" selected' in page
        kept, fresh = kept_and_fresh(hr, "period=2026-Q1")
        assert kept == fresh


def test_kept_figures_are_read_once_until_the_counts_move(hr, data, count_queries):
    hr.get("/hr/statistics?period=2025&by=type")
    with count_queries() as warm:
        hr.get("/hr/statistics?period=2025&by=type")
    # Neither the published counts nor the running counts are summed again, nor are the years
    # that have any read again: only their state is read, once.
    assert [s for s in warm.statements if sums_counts(s)] == []
    assert [s for s in warm.statements if "FROM stat_published" in s] == []
    assert len([s for s in warm.statements if "FROM stat_publication" in s]) == 1
    version = tally.version(db.session.connection())
    complete_on_time(data["big"].manager, list(db.session.scalars(select(Incident).limit(2))))
    assert tally.version(db.session.connection()) > version
    with count_queries() as moved:
        hr.get("/hr/statistics?period=2025&by=type")
    assert any(sums_counts(s) for s in moved.statements)


def test_the_page_is_one_transaction_when_nothing_is_due_for_publication(hr, data, count_queries):
    """Publishing is checked first; with nothing to publish nothing is committed until the
    page is made and its view audited, so nothing it read is read again (the HR account)."""
    hr.get("/hr/statistics?period=2025&by=type")
    with count_queries() as warm:
        page = hr.get("/hr/statistics?period=2025&by=type")
    assert page.status_code == 200
    written = [" ".join(s.split()).upper() for s in warm.statements]
    audited = [i for i, s in enumerate(written) if s.startswith("INSERT INTO AUDIT_EVENT")]
    assert audited == [len(written) - 1]
    assert [s for s in written if s.startswith('SELECT "USER".ID, "USER".EMAIL')] == []
    shown = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.STATS_VIEW)
    ).all()
    assert len(shown) == 2 and shown[-1].details["period"] == "2025"


def sums_counts(statement: str) -> bool:
    return "sum(" in statement and (
        "FROM stat_published" in statement or "FROM stat_tally" in statement
    )


def test_the_version_moves_with_every_change_to_the_running_counts(app, data):
    connection = db.session.connection()
    version = tally.version(connection)
    report(data["staff"][1], "version-token-0001", datetime(2025, 4, 1, 10, tzinfo=UTC))
    assert tally.version(db.session.connection()) == version + 1
    with db.engine.begin() as connection:
        tally.rebuild(connection)
    assert tally.version(db.session.connection()) == version + 2


def test_the_tables_are_in_the_language_of_the_page(hr, data):
    dutch = hr.get("/hr/statistics?period=2025&by=type").text
    hr.post("/language", data={"locale": "en"})
    english = hr.get("/hr/statistics?period=2025&by=type").text
    assert "Bedreiging" in dutch and "Bedreiging" not in english
    assert "Threat" in english
