"""Organisational measures: recording them (bad input next to its field, nothing stored),
who may do what, their before/after comparison with the rest of the organisation (a planted
effect is found, no effect and a trend everywhere are not credited, a small scope and a
future measure are not compared), deleting refused once a page showed figures (also when
the two race), and the yearly report's section "What we did and what it changed". The
attacker who combines these figures with every other one is in test_disclosure_attack.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.models import AuditEvent, Channel, IncidentType, OrgMeasure, Role
from incidents.services import ReportData, ServiceError, learning
from incidents.services.base import transaction
from incidents.stats import disclosure
from incidents.stats import learning as compared
from tests.conftest import login
from tests.web.test_races import race

NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 2025 is published
SET_UP = datetime(2024, 12, 1, tzinfo=UTC)
Q1, Q2 = (2025, 1), (2025, 4)  # the windows of a measure of 1 April 2025, over 3 months


def report(user, n: int, month: tuple[int, int], channel=Channel.COUNTER) -> None:
    occurred = datetime(month[0], month[1] + n % 3, 1 + n % 27, 10, tzinfo=UTC)
    with time_machine.travel(occurred + timedelta(hours=1), tick=False):
        services.save_report(
            user,
            f"org-measure-{user.id}-{month}-{n:04d}",
            ReportData(
                occurred_at=occurred,
                channel=channel,
                types=[IncidentType.VERBAL],
                description="Shouting at the counter",
                affected_ids=[user.id],
            ),
            submit=True,
        )


@pytest.fixture
def org(make_user, make_team):
    """Two teams of six, and a team of three; HR and an admin."""
    with time_machine.travel(SET_UP, tick=False):
        boss = make_user(Role.MANAGER, name="Boss Person")
        income = make_team("Income", manager=boss)
        enforcement = make_team("Enforcement", manager=boss)
        tiny = make_team("Tiny", manager=boss)
        return {
            "income": income,
            "enforcement": enforcement,
            "tiny": tiny,
            "in": [make_user(name=f"Income {n}", team=income) for n in range(6)],
            "out": [make_user(name=f"Enforcement {n}", team=enforcement) for n in range(6)],
            "few": [make_user(name=f"Tiny {n}", team=tiny) for n in range(3)],
            "hr": make_user(Role.HR, name="Hanna HR"),
            "admin": make_user(Role.ADMIN, name="Ada Admin"),
            "boss": boss,
        }


def incidents(org, scope: tuple[int, int], rest: tuple[int, int]) -> None:
    """`scope` = (before, after) incidents in Income, `rest` in Enforcement (Q1 and Q2 2025)."""
    for team, (before, after) in (("in", scope), ("out", rest)):
        people = org[team]
        for n in range(before):
            report(people[n % 6], n, Q1)
        for n in range(after):
            report(people[n % 6], n, Q2)


def record(org, teams=("income",), taken_on=date(2025, 4, 1), **kwargs) -> OrgMeasure:
    with time_machine.travel(NOW, tick=False):
        return learning.record(
            org["hr"],
            learning.MeasureInput(
                title=kwargs.pop("title", "Counter screen"),
                taken_on=taken_on,
                teams=[org[t].id for t in teams],
                **kwargs,
            ),
        )


@pytest.fixture
def hr(app, org):
    with time_machine.travel(NOW, tick=False):
        yield login(app.test_client(), org["hr"])


def page(client, measure: OrgMeasure, months: int = 3) -> str:
    response = client.get(f"/learning/measures/{measure.id}?months={months}")
    assert response.status_code == 200
    return response.text


def cells(html: str) -> list[str]:
    return [unescape(c.strip()) for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', html)]


def test_a_planted_effect_is_found_and_shown_rounded(app, org, hr):
    incidents(org, scope=(30, 6), rest=(30, 31))
    measure = record(org)
    html = page(hr, measure)
    # Scope 30 -> 6, rest 30 -> 31 (rounded to 5): and the organisation's totals of each window.
    assert cells(html) == ["30", "5", "30", "30", "60", "35"]
    assert "Minder incidenten" in html and "80%" in html
    assert "Fisher" in html
    rows = list(
        csv.reader(
            io.StringIO(hr.get(f"/learning/measures/{measure.id}/comparison.csv?months=3").text)
        )
    )
    assert rows[1][1:] == ["30", "5"] and rows[2][1:] == ["30", "30"]
    db.session.refresh(measure)
    assert measure.used
    asked = db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.actor_id == org["hr"].id)
    ).all()
    assert {"measure": measure.id, "months": 3} in asked


@pytest.mark.parametrize(
    ("scope", "rest"),
    [((15, 15), (30, 30)), ((24, 12), (30, 15))],
    ids=["no change", "a trend everywhere"],
)
def test_no_effect_and_a_trend_everywhere_are_not_credited(app, org, hr, scope, rest):
    incidents(org, scope=scope, rest=rest)
    html = page(hr, record(org))
    assert "Geen duidelijk verschil" in html
    assert "Minder incidenten" not in html and "Meer incidenten" not in html


def test_small_counts_conclude_nothing(app, org, hr):
    incidents(org, scope=(3, 8), rest=(30, 30))
    html = page(hr, record(org))
    assert cells(html)[:2] == ["< 5", "10"]
    assert "te klein om iets te concluderen" in html
    assert "Geen duidelijk verschil" not in html and "Minder incidenten" not in html


def test_what_is_not_compared_says_why(app, org, hr):
    incidents(org, scope=(6, 6), rest=(6, 6))
    small = record(org, teams=("tiny",), title="Tiny screen")
    announced = record(org, taken_on=date(2026, 9, 1), title="Alarm buttons")
    whole = record(org, teams=(), title="Everyone")
    recent = record(org, taken_on=date(2025, 11, 15), title="Recent")
    assert "minder dan 5 personen" in page(hr, small)
    html = page(hr, announced, months=12)
    assert "Nog niet vergeleken" in html and "2027" in html
    assert "geen vergelijkingsgroep" in page(hr, whole)
    # 15 November 2025: Q4 is left out, Q1 2026 is not published yet.
    assert "Nog niet vergeleken" in page(hr, recent)
    with time_machine.travel(datetime(2026, 5, 10, tzinfo=UTC), tick=False):
        found = compared.compare(recent, 3, datetime(2026, 5, 10, tzinfo=UTC))
    assert found.windows.left_out is not None and found.windows.after.start == date(2026, 1, 1)
    assert found.windows.before.end == date(2025, 10, 1)
    for measure in (small, announced, whole, recent):
        db.session.refresh(measure)
        assert not measure.used  # no figures were shown


def test_channel_scope_counts_the_channel_across_teams(app, org, hr):
    for n in range(10):
        report(org["in"][n % 6], n, Q1, channel=Channel.PHONE)
        report(org["out"][n % 6], n, Q1)
        report(org["out"][n % 6], n, Q2)
    measure = record(org, teams=(), channels=["phone"])
    assert cells(page(hr, measure))[:4] == ["10", "< 5", "10", "10"]


BAD = [
    ({"title": ""}, "title", "Geef de maatregel een naam"),
    ({"title": "x" * 121}, "title", "naam"),
    ({"taken_on": ""}, "taken_on", "datum"),
    ({"taken_on": "2029-01-01"}, "taken_on", "twee jaar"),
    ({"teams": "999999"}, "teams", "teams uit de lijst"),
    ({"channels": "carrier-pigeon"}, "channels", "kanalen uit de lijst"),
    ({"locations": "999999"}, "locations", "locaties uit de lijst"),
    ({"description": "y" * 2001}, "description", "2000 tekens"),
]


@pytest.mark.parametrize(
    ("change", "field", "message"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)]
)
def test_bad_input_is_refused_next_to_its_field(app, org, hr, change, field, message):
    form = {"title": "Counter screen", "taken_on": "2025-04-01", **change}
    response = hr.post("/learning/measures/new", data=form)
    assert response.status_code == 200
    error = re.search(rf'id="{field}-error">([^<]*)<', response.text)
    assert error and message in error.group(1), response.text[:3000]
    assert db.session.scalar(select(func.count(OrgMeasure.id))) == 0


def test_recording_through_the_form(app, org, hr):
    response = hr.post(
        "/learning/measures/new",
        data={
            "title": "Mobile alarm buttons",
            "taken_on": "2026-09-01",
            "description": "Every home visit team carries one.",
            "teams": [str(org["income"].id)],
            "channels": ["home_visit"],
        },
    )
    assert response.status_code == 302
    measure = db.session.scalars(select(OrgMeasure)).one()
    assert [t.id for t in measure.teams] == [org["income"].id]
    assert measure.channels == ["home_visit"] and measure.taken_on == date(2026, 9, 1)
    listing = hr.get("/learning/measures").text
    assert "Mobile alarm buttons" in listing and "Aangekondigd" in listing


def test_who_may_do_what(app, org, make_user):
    measure = record(org)
    with time_machine.travel(NOW, tick=False):
        admin = login(app.test_client(), org["admin"])
        assert admin.get("/learning/measures").status_code == 200
        detail = admin.get(f"/learning/measures/{measure.id}").text
        assert "Deed het iets?" not in detail  # no figures for an admin
        assert admin.get(f"/learning/measures/{measure.id}/comparison.csv").status_code in (
            403,
            404,
        )
        for role in (Role.EMPLOYEE, Role.MANAGER):
            other = login(app.test_client(), make_user(role))
            for url in (
                "/learning/measures",
                "/learning/measures/new",
                f"/learning/measures/{measure.id}",
                f"/learning/measures/{measure.id}/edit",
                f"/learning/measures/{measure.id}/comparison.csv",
            ):
                assert other.get(url).status_code in (403, 404), (role, url)
            assert other.post(f"/learning/measures/{measure.id}/delete").status_code in (403, 404)
        hr = login(app.test_client(), org["hr"])
        assert hr.get("/learning/measures/999999").status_code == 404


def test_used_measures_cannot_be_deleted_or_moved_but_can_end(app, org, hr):
    incidents(org, scope=(10, 10), rest=(10, 10))
    unused = record(org, title="Mistake")
    used = record(org)
    page(hr, used)
    db.session.refresh(used)
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(ServiceError, match="niet worden verwijderd"):
            learning.delete_measure(org["hr"], used.id, used.revision)
        moved = learning.MeasureInput(
            title="Counter screen", taken_on=date(2025, 7, 1), teams=[org["income"].id]
        )
        with pytest.raises(ServiceError, match="datum en het bereik"):
            learning.change(org["hr"], used.id, used.revision, moved)
        renamed = learning.MeasureInput(
            title="Counter screens", taken_on=used.taken_on, teams=[org["income"].id]
        )
        learning.change(org["hr"], used.id, used.revision, renamed)
        db.session.refresh(used)
        with pytest.raises(ServiceError, match="Iemand"):  # a stale form
            learning.end(org["hr"], used.id, used.revision - 1, date(2026, 1, 1), "Replaced")
        with pytest.raises(ServiceError, match="op of na"):
            learning.end(org["hr"], used.id, used.revision, date(2025, 1, 1), "Replaced")
        learning.end(org["hr"], used.id, used.revision, date(2026, 1, 31), "Replaced by glass")
        response = hr.post(
            f"/learning/measures/{unused.id}/delete", data={"revision": str(unused.revision)}
        )
        assert response.status_code == 302
    unused_id = unused.id
    db.session.expire_all()
    assert db.session.get(OrgMeasure, unused_id) is None
    kept = db.session.get(OrgMeasure, used.id)
    assert (
        kept is not None and kept.title == "Counter screens" and kept.ended_on == date(2026, 1, 31)
    )
    assert "Counter screens" in page(hr, kept)  # ended, its figures still shown


def test_a_report_and_a_deletion_at_once_never_both_succeed(app, org):
    """Marking a measure used (what a page does before showing its figures) and deleting it,
    released together: either it is deleted and was never shown, or it is used and kept."""
    for _round in range(3):
        measure = record(org, title=f"Race {_round}")
        measure_id, revision = measure.id, measure.revision

        def show(wait, measure_id=measure_id):
            wait()
            with transaction():
                return learning.mark_used([measure_id], NOW)

        def remove(wait, measure_id=measure_id, revision=revision):
            actor = db.session.get(type(org["hr"]), org["hr"].id)
            assert actor is not None
            wait()
            learning.delete_measure(actor, measure_id, revision)
            return "deleted"

        shown, deleted = race(app, show, remove)
        db.session.expire_all()
        kept = db.session.get(OrgMeasure, measure_id)
        if kept is None:
            assert deleted == "deleted" and shown == []
        else:
            assert isinstance(deleted, ServiceError) and shown == [measure_id] and kept.used


def test_the_yearly_report_says_what_we_did_and_what_it_changed(app, org, hr):
    from pypdf import PdfReader

    incidents(org, scope=(30, 6), rest=(30, 31))
    record(org, title="Counter screen")
    record(org, taken_on=date(2026, 9, 1), title="Alarm buttons", teams=("enforcement",))
    html = hr.get("/hr/report?year=2025").text
    assert "Wat we deden en wat het veranderde" in html
    assert "Counter screen" in html and "Minder incidenten" in html
    assert "Alarm buttons" not in html  # not of 2024 or 2025
    assert "Verbeteracties" in html and "verbeteracties afgesproken" in html
    pdf = hr.get("/hr/report.pdf?year=2025")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    text = " ".join(text.split())
    assert "Wat we deden en wat het veranderde" in text and "Counter screen" in text
    assert "Minder incidenten" in text


def test_the_report_counts_corrective_actions_under_disclosure_control(app):
    counts = {
        "created": 12,
        "completed": 9,
        "completed_on_time": 7,
        "reviewed_worked": 6,
        "reviewed_partly": 1,
        "reviewed_did_not_work": 0,
        "open_overdue_at_end": 2,
    }
    found = compared.action_figures(counts, 5)
    assert found.created.value == 10 and found.overdue.suppressed
    completed = found.completed.data
    assert isinstance(completed, disclosure.Series)
    assert completed.figures["completed_on_time"].value == 5
    assert completed.figures["completed_late"].suppressed
    reviewed = found.reviewed.data
    assert isinstance(reviewed, disclosure.Series)
    assert reviewed.figures["reviewed_worked"].value == 5
    assert reviewed.figures["reviewed_partly"].suppressed
    assert reviewed.figures["reviewed_did_not_work"].suppressed
    # 7 reviewed beside parts of 5 (5..7), "< 5" and "< 5": shown as a count would prove
    # nothing, since the parts could hold up to 5 + 4 + 4.
    assert reviewed.total.value == 5
