"""Statistics of measures against perpetrators: by kind, started in a period and in force on
at least one of its days; approved measures only; disclosure-controlled like every other
figure, organisation-wide whatever the breakdown, in CSV and in the yearly report (the attacker
who combines them with every other figure is in test_disclosure_attack.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from incidents.extensions import db
from incidents.models import Measure, MeasureState
from incidents.services import measures
from incidents.stats import figures, queries
from incidents.stats.periods import Period
from tests.conftest import login
from tests.web.measure_helpers import approve, propose, submit

K = 5
READ = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 2025 is published, 2026-Q1 is not


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


@pytest.fixture
def org(request):
    """The measures' staff, set up before any of the measures below."""
    with time_machine.travel(datetime(2024, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        return request.getfixturevalue("staff")


def measure(
    org,
    day: date,
    kind: str = "two_colleagues",
    days: int = 90,
    *,
    approved_on: date | None = None,
    approved: bool = True,
) -> Measure:
    """A measure proposed on `day` to start that day, approved then (or on `approved_on`)."""
    with time_machine.travel(moment(day), tick=False):
        proposed = propose(org, submit(org), kind=kind, days=days)
        if kind == "building_ban":
            db.session.refresh(proposed)
            measures.record_hearing(
                org["boss"], proposed.id, proposed.revision, heard_on=day, how="phone",
                not_heard_reason="",
            )  # fmt: skip
    if not approved:
        return proposed
    with time_machine.travel(moment(approved_on or day), tick=False):
        return approve(org, proposed)


def close(org, found: Measure, day: date) -> Measure:
    with time_machine.travel(moment(day), tick=False):
        db.session.refresh(found)
        return measures.close(org["boss"], found.id, found.revision, "No longer needed.")


def raw(period: str, kinds=("two_colleagues", "building_ban", "warning_letter")):
    """(started, in force) by kind over a period, as counted before disclosure control."""
    found = Period.parse(period, date(2027, 1, 1))
    assert found is not None
    months = found.months()
    started, in_force = figures.measure_counts(queries.measures(months), months, kinds)
    return started, in_force


@pytest.fixture
def timeline(org):
    """One measure for each rule of counting, in 2024 and 2025."""
    return {
        # In force across New Year: in force in 2025-Q1, started in 2024.
        "december": measure(org, date(2024, 12, 20), days=30),
        # 90 days from 10 February: through 10 May, so in force in Q1 and Q2.
        "february": measure(org, date(2025, 2, 10), days=90),
        # Two days across the end of March: in force in both quarters, started in Q1.
        "boundary": measure(org, date(2025, 3, 31), "building_ban", days=2),
        # One day, the last of June: Q2 only.
        "one_day": measure(org, date(2025, 6, 30), "warning_letter", days=1),
        # Ended early: 180 days from 1 April, ended on 15 May (its last day the 14th).
        "ended_early": close(org, measure(org, date(2025, 4, 1), days=180), date(2025, 5, 15)),
        # Proposed for 1 August, approved on 5 August: it starts on the 5th (Q3).
        "approved_late": measure(org, date(2025, 8, 1), approved_on=date(2025, 8, 5)),
        # Withdrawn, proposed and never approved, approved and withdrawn before its start.
        "withdrawn": close(org, measure(org, date(2025, 7, 1), approved=False), date(2025, 7, 2)),
        "proposed": measure(org, date(2025, 9, 1), "warning_letter", approved=False),
        "withdrawn_approved": _approved_then_withdrawn(org),
        # Approved in September to start on 1 November; no daily run ever updates its state.
        "lagging": _approved_ahead(org, date(2025, 9, 15), date(2025, 11, 1), days=365),
    }


def _approved_ahead(org, day: date, starts_on: date, days: int) -> Measure:
    with time_machine.travel(moment(day), tick=False):
        return approve(
            org, propose(org, submit(org), kind="warning_letter", starts_on=starts_on, days=days)
        )


def _approved_then_withdrawn(org) -> Measure:
    ahead = _approved_ahead(org, date(2025, 9, 15), date(2025, 10, 1), days=30)
    assert ahead.state == MeasureState.APPROVED
    return close(org, ahead, date(2025, 9, 20))


@pytest.mark.parametrize(
    ("period", "started", "in_force"),
    [
        # (two colleagues, building ban, warning letter)
        ("2025-Q1", (1, 1, 0), (2, 1, 0)),  # December's, February's; the boundary ban
        ("2025-Q2", (1, 0, 1), (2, 1, 1)),  # February's, ended early; the ban; one day
        ("2025-Q3", (1, 0, 0), (1, 0, 0)),  # approved late; the early end counted no further
        ("2025-Q4", (0, 0, 1), (1, 0, 1)),  # approved late (through 2 November); lagging
        ("2025", (3, 1, 2), (4, 1, 2)),  # every approved one but December's started in 2025
        ("2024-Q4", (1, 0, 0), (1, 0, 0)),
    ],
)
def test_measures_are_counted_by_kind_started_and_in_force(
    app, timeline, period, started, in_force
):
    assert timeline["ended_early"].ends_on == date(2025, 5, 14)
    assert timeline["approved_late"].starts_on == date(2025, 8, 5)
    assert timeline["lagging"].state == MeasureState.APPROVED  # stored state behind the truth
    kinds = ("two_colleagues", "building_ban", "warning_letter")
    counted = raw(period, kinds)
    assert tuple(counted[0][k] for k in kinds) == started
    assert tuple(counted[1][k] for k in kinds) == in_force


def test_counts_agree_with_the_days_each_measure_is_in_force(app, timeline):
    """In force in a quarter: in force on one of its days by its dates, day by day."""
    counted = [m for m in db.session.scalars(db.select(Measure))]
    for quarter in range(1, 5):
        period = Period.of_quarter(2025, quarter)
        days = [period.start + timedelta(n) for n in range((period.end - period.start).days)]
        expected = sum(
            1
            for m in counted
            if m.state in (MeasureState.APPROVED, MeasureState.IN_FORCE, MeasureState.ENDED)
            and any(m.starts_on <= d <= m.ends_on for d in days)
        )
        assert sum(raw(period.key)[1].values()) == expected


def test_a_year_in_force_is_its_first_quarter_plus_the_later_starts(app, timeline):
    in_force = sum(raw("2025")[1].values())
    first = sum(raw("2025-Q1")[1].values())
    later = sum(sum(raw(f"2025-Q{q}")[0].values()) for q in (2, 3, 4))
    assert in_force == first + later
    assert in_force < sum(sum(raw(f"2025-Q{q}")[1].values()) for q in range(1, 5))


# --- what HR sees -------------------------------------------------------------------------------


def hr_client(app, org):
    return login(app.test_client(), org["hr"])


def measures_table(page: str) -> str:
    found = re.search(r'id="t-measures".*?</table>', page, re.S)
    assert found, "no measures table"
    return found.group(0)


def csv_rows(client, query: str) -> list[list[str]]:
    response = client.get(f"/hr/statistics.csv?{query}&table=measures")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.text)))


def test_few_measures_show_as_below_k_like_every_other_figure(app, timeline, org):
    with time_machine.travel(READ, tick=False):
        hr = hr_client(app, org)
        hr.post("/language", data={"locale": "en"})
        table = measures_table(hr.get("/hr/statistics?period=2025&by=type").text)
        rows = csv_rows(hr, "period=2025&by=type")
    assert "Measures against perpetrators" in table
    values = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', table)
    assert values == ["&lt; 5"] * 2 * len(measures.kinds()) + ["5", "5"]
    assert rows[0] == ["Kind of measure", "Started", "In force"]
    assert [row[0] for row in rows[1:-1]] == [kind.title("en") for kind in measures.kinds()]
    assert {v for row in rows[1:-1] for v in row[1:]} == {"<5"}
    # 6 started and 7 in force, over parts that all show "< 5": rounded as usual.
    assert rows[-1] == ["Total", "5", "5"]


@pytest.fixture
def many(org):
    """Seven warning letters and one ban started in the first quarter of 2025: two ended in
    February, the rest in force into the second quarter."""
    letters = [measure(org, date(2025, 1, 6 + n), "warning_letter", days=120) for n in range(7)]
    for letter in letters[:2]:
        close(org, letter, date(2025, 2, 3))
    measure(org, date(2025, 2, 1), "building_ban", days=30)
    return letters


def test_k_or_more_measures_are_rounded_and_totals_protect_their_parts(app, org, many):
    with time_machine.travel(READ, tick=False):
        hr = hr_client(app, org)
        q1 = csv_rows(hr, "period=2025-Q1&by=type")
        q2 = csv_rows(hr, "period=2025-Q2&by=type")
        year = csv_rows(hr, "period=2025&by=type")
    by_kind = {row[0]: row[1:] for row in q1[1:]}
    assert by_kind["Waarschuwingsbrief"] == ["5", "5"]  # 7 started, 7 in force
    assert by_kind["Toegangsverbod"] == ["<5", "<5"]
    assert q1[-1][1:] == ["10", "10"]  # 8: counted, not added up
    assert {row[0]: row[1:] for row in q2[1:]}["Waarschuwingsbrief"] == ["<5", "5"]
    assert {row[0]: row[1:] for row in year[1:]}["Waarschuwingsbrief"] == ["5", "5"]


def test_the_measures_are_organisation_wide_whatever_the_breakdown(app, timeline, org):
    with time_machine.travel(READ, tick=False):
        hr = hr_client(app, org)
        tables = {
            by: measures_table(hr.get(f"/hr/statistics?period=2025&by={by}").text)
            for by in ("type", "channel", "team")
        }
        assert len(set(tables.values())) == 1
        assert all(
            csv_rows(hr, f"period=2025&by={by}") == csv_rows(hr, "period=2025&by=type")
            for by in ("channel", "team")
        )


def test_measures_of_closed_periods_do_not_move(app, org, many):
    """Approving, ending and withdrawing measures now changes nothing already published."""
    running = measure(org, date(2025, 11, 3), "warning_letter", days=365)
    with time_machine.travel(READ, tick=False):
        hr = hr_client(app, org)
        before = {p: csv_rows(hr, f"period={p}&by=type") for p in ("2025", "2025-Q1", "2025-Q4")}
    measure(org, READ.date(), "warning_letter", days=200)
    assert close(org, running, READ.date()).ends_on == date(2026, 2, 9)
    proposal = measure(org, READ.date(), "two_colleagues", approved=False)
    close(org, proposal, READ.date())
    with time_machine.travel(READ + timedelta(hours=1), tick=False):
        hr = hr_client(app, org)
        after = {p: csv_rows(hr, f"period={p}&by=type") for p in before}
    assert after == before


def test_the_yearly_report_has_a_section_on_measures(app, timeline, org):
    from pypdf import PdfReader

    with time_machine.travel(READ, tick=False):
        hr = hr_client(app, org)
        hr.post("/language", data={"locale": "en"})
        page = hr.get("/hr/report?year=2025").text
        pdf = hr.get("/hr/report.pdf?year=2025")
    assert "What was done about perpetrators?" in page
    assert 'id="t-measures"' in page
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    words = " ".join(text.split())
    assert "What was done about perpetrators?" in words
    assert "Measures against perpetrators" in words
    assert "Conversations only with two colleagues" in words
    assert "Jan Jansen" not in words and "K-1001" not in words  # never the citizen
    assert "Jan Jansen" not in page and "Bedreigde" not in page
