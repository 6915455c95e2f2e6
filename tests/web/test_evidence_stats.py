"""The statistics of evidence ("how often was evidence used?"): incidents with evidence and
incidents whose evidence went to the police, counted live for the published incidents, as
files are added after the month was published; a file a person removes moves the figure back,
retention does not; small counts show "< k", and a year is protected as the sum of its
quarters. (The attacker who combines every figure is in test_disclosure_attack.py.)"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from PIL import Image

from incidents import services
from incidents.extensions import db
from incidents.models import Attachment, Channel, Incident, IncidentType, Role
from incidents.services import ReportData, retention
from incidents.services.evidence import Upload, add_files, remove_file
from incidents.stats.disclosure import WITHHELD, Figure
from incidents.stats.figures import _within
from tests.conftest import login

NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 2025 is published (December closed 7 January)
BEFORE = datetime(2024, 12, 1, tzinfo=UTC)


def photo(n: int) -> bytes:
    """A small PNG, other bytes for every n."""
    out = io.BytesIO()
    Image.new("RGB", (5, 4), (n % 256, n // 256 % 256, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def org(make_user, make_team):
    with time_machine.travel(BEFORE, tick=False):
        boss = make_user(Role.MANAGER, name="Boss Person")
        team = make_team("Income", manager=boss)
        staff = [make_user(name=f"Staff Member {n}", team=team) for n in range(6)]
    return {"boss": boss, "staff": staff}


@pytest.fixture
def incidents(org) -> list[Incident]:
    """2025: five incidents a quarter, each reported an hour after it happened."""
    made = []
    for n in range(20):
        occurred = datetime(2025, 1 + 3 * (n // 5), 2 + n % 5, 10, tzinfo=UTC)
        person = org["staff"][n % 6]
        with time_machine.travel(occurred + timedelta(hours=1), tick=False):
            made.append(
                services.save_report(
                    person,
                    f"evidence-stats-{n:04d}-padding",
                    ReportData(
                        occurred_at=occurred,
                        channel=Channel.COUNTER,
                        types=[IncidentType.VERBAL],
                        description="It happened.",
                        affected_ids=[person.id],
                    ),
                    submit=True,
                )
            )
    return made


@pytest.fixture
def hr(app, make_user):
    with time_machine.travel(NOW, tick=False):
        yield login(app.test_client(), make_user(Role.HR, name="Hanna HR"))


def evidence(hr, period: str) -> dict[str, str]:
    """The evidence table of a period as the CSV gives it: row label -> figure."""
    response = hr.get(f"/hr/statistics.csv?period={period}&by=type&table=evidence")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert len(rows) == 4, rows  # header, with evidence, handed to the police, total
    return {"with": rows[1][1], "handed": rows[2][1], "total": rows[3][1]}


def add(org, incident: Incident, n: int, files: int = 1) -> list[Attachment]:
    person = next(p for p in org["staff"] if p.id == incident.reporter_id)
    uploads = [Upload(f"photo-{n}-{i}.png", photo(100 * n + i)) for i in range(files)]
    return add_files(person, incident, uploads)


def hand_over(attachment: Attachment) -> None:
    """As the police bundle records it: the first time the file goes to the police."""
    with services.transaction():
        attachment.handed_at = NOW


def test_evidence_added_after_publication_is_counted_on_the_page_and_in_csv(hr, org, incidents):
    assert evidence(hr, "2025-Q1") == {"with": "<5", "handed": "<5", "total": "5"}
    q1 = incidents[:5]
    with time_machine.travel(NOW, tick=False):
        for n, incident in enumerate(q1):
            add(org, incident, n, files=1 + n % 2)  # an incident counts once, however many
        assert evidence(hr, "2025-Q1") == {"with": "5", "handed": "<5", "total": "5"}
        page = hr.get("/hr/statistics?period=2025-Q1&by=type").text
    assert 'id="t-evidence"' in page
    section = page[page.index('id="t-evidence"') :]
    section = section[: section.index("</table>")]
    assert section.count("<tr") == 4 and "data-suppressed>&lt; 5</td>" in section
    # Another quarter knows nothing of it.
    assert evidence(hr, "2025-Q2") == {"with": "<5", "handed": "<5", "total": "5"}


def test_a_file_removed_by_a_person_moves_the_figure_back(hr, org, incidents):
    with time_machine.travel(NOW, tick=False):
        files = [add(org, incident, n)[0] for n, incident in enumerate(incidents[:5])]
        assert evidence(hr, "2025-Q1")["with"] == "5"
        remove_file(org["boss"], files[0], "Not about this incident")
        assert evidence(hr, "2025-Q1")["with"] == "<5"
        # A second file on an incident keeps it counted when one of them is removed.
        extra = add(org, incidents[0], 9)[0]
        assert evidence(hr, "2025-Q1")["with"] == "5"
        add(org, incidents[0], 10)
        remove_file(org["boss"], extra, "A duplicate")
        assert evidence(hr, "2025-Q1")["with"] == "5"


def test_evidence_handed_to_the_police_counts_and_stays_counted(hr, org, incidents):
    with time_machine.travel(NOW, tick=False):
        files = [add(org, incident, n)[0] for n, incident in enumerate(incidents[:5])]
        for attachment in files[:4]:
            hand_over(attachment)
        assert evidence(hr, "2025-Q1") == {"with": "5", "handed": "<5", "total": "5"}
        hand_over(files[4])
        assert evidence(hr, "2025-Q1") == {"with": "5", "handed": "5", "total": "5"}
        # Removed after the police had it: it was used, both figures stay.
        remove_file(org["boss"], files[0], "The police have it now")
        assert evidence(hr, "2025-Q1") == {"with": "5", "handed": "5", "total": "5"}


def test_retention_does_not_move_the_figures(hr, org, incidents):
    with time_machine.travel(NOW, tick=False):
        files = [add(org, incident, n)[0] for n, incident in enumerate(incidents[:10])]
        for attachment in files[:5]:
            hand_over(attachment)
    for incident in incidents:  # aftercare closed the day after, over a year ago
        incident.closed_at = incident.occurred_at + timedelta(days=1)
    db.session.commit()
    before = {p: evidence(hr, p) for p in ("2025", "2025-Q1", "2025-Q2")}
    assert before["2025-Q1"] == {"with": "5", "handed": "5", "total": "5"}
    later = datetime(2027, 2, 10, 9, tzinfo=UTC)  # all of 2025 closed more than a year ago
    with time_machine.travel(later, tick=False):
        report = retention.run_retention(later, 1)
    assert report["anonymised"] == 20 and report["files_removed"] == 10
    db.session.expire_all()
    assert all(not a.present and a.removed_reason == "retention" for a in files)
    assert {p: evidence(hr, p) for p in before} == before


def test_a_year_is_protected_as_the_sum_of_its_quarters(hr, org, incidents):
    # Four incidents with evidence in every quarter: "< 5" four times. The year's 16 would be
    # shown as 15, which says 13 or more: more than four quarters of at most 4 leave room
    # for, so every quarter would be proven 1 or more. It is top-coded instead.
    with time_machine.travel(NOW, tick=False):
        for quarter in range(4):
            for n, incident in enumerate(incidents[5 * quarter : 5 * quarter + 4]):
                add(org, incident, 10 * quarter + n)
        quarters = [evidence(hr, f"2025-Q{q}") for q in range(1, 5)]
        year = evidence(hr, "2025")
    assert all(q["with"] == "<5" for q in quarters)
    assert year["with"].startswith(">=") and int(year["with"][2:]) - 5 // 2 <= 3 * 4
    assert year["total"] in ("20", ">=20")  # top-coded beside the withheld "no team"


def test_a_subset_says_no_more_about_its_superset_than_the_superset():
    # Shown below its superset: as it is.
    assert _within(Figure(5), Figure(10)) == Figure(5)
    assert _within(Figure(None, suppressed=True), WITHHELD) == Figure(None, suppressed=True)
    # Above a top-coded superset: top-coded at the same count, the same lowest value.
    assert _within(Figure(15), Figure(10, at_least=True)) == Figure(10, at_least=True)
    assert _within(Figure(10), Figure(10, at_least=True)) == Figure(10)
    # Counts that disagree (a backdated edit) show nothing.
    assert _within(Figure(10), Figure(None, suppressed=True)) == WITHHELD
