"""Texts, dates and plurals as people read them: one date format per language and never a
second in it (pages of every role, mails, the police report and the HR report), English dates
as in Britain, the level's reason in the words of the incident's type, "Aantal" for counts."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask, render_template_string, url_for
from flask_babel import force_locale
from pypdf import PdfReader

from incidents import labels, notify, rules, services
from incidents.extensions import current_protocol, db
from incidents.i18n import format_clock, format_day, format_moment
from incidents.models import (
    AftercareStep,
    Channel,
    IncidentType,
    Notification,
    PerpetratorKnown,
    Role,
    User,
)
from incidents.services import ReportData
from incidents.services.aftercare import StepResult
from tests.conftest import login

# Tuesday 10 March 2026, 10:00:07 in Amsterdam: a clock with seconds, so a page that shows
# them shows ":07" (or the ":37" of the incident half an hour earlier).
NOW = datetime(2026, 3, 10, 9, 0, 7, tzinfo=UTC)
OCCURRED = NOW - timedelta(minutes=29, seconds=30)  # 09:30:37 in Amsterdam (UTC+1)

SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2}\b(?!\d)")  # 3/10/26: month first, two-digit year
CLOCK_12H = re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:AM|PM|am|pm|a\.m\.|p\.m\.)(?!\w)")
# What is not visible text: machine-readable moments, and the values a form sends back.
NOT_SHOWN = re.compile(r'\sdatetime="[^"]*"')


def visible(html: str) -> str:
    return NOT_SHOWN.sub("", html)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- the formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "moment", "day", "named_month"),
    [
        ("nl", "01-12-2026 07:11", "01-06-2027", "december 2026"),
        ("en", "01/12/2026 07:11", "01/06/2027", "December 2026"),
    ],
)
def test_one_format_per_language_and_never_seconds(app, language, moment, day, named_month):
    winter = datetime(2026, 12, 1, 6, 11, 59, tzinfo=UTC)  # 07:11:59 in Amsterdam
    with app.test_request_context(), force_locale(language):
        # Every named format gives the one form: a page, a mail and a PDF read the same.
        assert {format_moment(winter, f) for f in (None, "short", "medium", "long", "full")} == {
            moment
        }
        assert format_day(date(2027, 6, 1)) == day
        assert format_day(winter) == moment.split()[0]
        assert format_clock(winter) == format_clock(time(7, 11, 59)) == "07:11"
        assert format_day(winter, "MMMM yyyy") == named_month  # a Babel pattern still works
        # The filters are ours, with Flask-Babel's names.
        shown = render_template_string(
            "{{ m|datetimeformat }}|{{ m|datetimeformat('long') }}|{{ d|dateformat }}|"
            "{{ m|timeformat('medium') }}",
            m=winter,
            d=date(2027, 6, 1),
        )
        assert shown == f"{moment}|{moment}|{day}|07:11"
        assert format_moment(None) == format_day(None) == format_clock(None) == ""


def test_moments_are_shown_in_the_organisations_zone_summer_and_winter(app):
    with app.test_request_context(), force_locale("nl"):
        assert format_moment(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "02-07-2026 00:30"
        assert format_moment(datetime(2026, 1, 1, 22, 30, tzinfo=UTC)) == "01-01-2026 23:30"
        assert format_day(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "02-07-2026"
        # A naive moment is taken as UTC, as Flask-Babel does.
        assert format_moment(datetime(2026, 7, 1, 22, 30)) == "02-07-2026 00:30"


def test_a_mail_rendered_during_a_request_uses_the_recipients_language(app):
    """The filters read the language each call: `force_locale` in the middle of a Dutch
    request gives English dates, and Dutch ones again after it."""
    moment = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    with app.test_request_context():
        assert format_moment(moment) == "10-03-2026 10:00"
        with force_locale("en"):
            assert format_moment(moment) == "10/03/2026 10:00"
        assert format_moment(moment) == "10-03-2026 10:00"


# --- an organisation with incidents and steps in several states ----------------------------


@pytest.fixture
def world(app, make_user, make_team, frozen) -> dict[str, Any]:
    boss = make_user(Role.MANAGER, name="Boss Person")
    deputy = make_user(Role.MANAGER, name="Deputy Person")
    income = make_team("Income", manager=boss, deputy=deputy)
    victim = make_user(name="Vera Victim", team=income)
    witness = make_user(name="Wim Witness", team=income)
    people = {
        "boss": boss,
        "deputy": deputy,
        "victim": victim,
        "witness": witness,
        "hr": make_user(Role.HR, name="Hanna HR"),
        "admin": make_user(Role.ADMIN, name="Adam Admin"),
    }
    incident = services.save_report(
        victim,
        "texts-token-0001",
        ReportData(
            occurred_at=OCCURRED,
            channel=Channel.COUNTER,
            location="Balie 3",
            types=[IncidentType.PHYSICAL],
            description="Pushed at the counter.",
            affected_ids=[victim.id],
            witness_ids=[witness.id],
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name="Jan Jansen",
            police_report_wanted=True,
        ),
        submit=True,
    )
    damage = services.save_report(
        witness,
        "texts-token-0002",
        ReportData(
            occurred_at=OCCURRED - timedelta(days=1),
            channel=Channel.COUNTER,
            types=[IncidentType.DAMAGE],
            description="Kicked the door.",
            affected_ids=[witness.id],
        ),
        submit=True,
    )
    steps = {s.definition_id: s for s in incident.steps if s.subject_user_id in (None, victim.id)}
    # An attempt (the step stays open), a building ban until a date, a police report filed.
    contact = steps["contact"]
    services.aftercare.complete_step(
        boss, contact, StepResult(outcomes=["not_reached"]), contact.attempts
    )
    services.aftercare.complete_step(
        boss,
        steps["perpetrator_response"],
        StepResult(outcomes=["building_ban"], end_date=date(2027, 6, 1), citizen_heard=True),
        0,
    )
    services.aftercare.complete_step(
        boss,
        steps["police_report"],
        StepResult(outcomes=["filed_by_employer"], reference="PL0900-2026012345"),
        0,
    )
    return {**people, "incident": incident, "damage": damage, "steps": list(incident.steps)}


def _urls(app: Flask, world: dict[str, Any]) -> list[str]:
    """Every page a browser opens (GET, not a file download), with real ids filled in."""
    values = {
        "incident_id": world["incident"].id,
        "user_id": world["victim"].id,
        "team_id": world["victim"].team_id,
    }
    skipped = (".json", ".zip", ".csv", ".pdf", ".svg", ".ics", ".js", ".webmanifest")
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.endpoint.startswith(
                ("static", "scim.", "api.")
            ):
                continue
            if rule.endpoint in ("auth.logout", "main.healthz", "main.readyz"):
                continue
            if not set(rule.arguments) <= set(values) | {"step_id"}:
                continue
            if "step_id" in rule.arguments:
                for step in world["steps"]:
                    found.append(url_for(rule.endpoint, step_id=step.id))
                continue
            url = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
            if not url.endswith(skipped):
                found.append(url)
    return found


def _pages(app: Flask, user: User, urls: list[str]) -> dict[str, str]:
    client = login(app.test_client(), user)
    shown = {}
    for url in urls:
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            shown[url] = response.text
    return shown


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_page_of_any_role_shows_seconds_and_english_is_british(app, world, language):
    urls = _urls(app, world)
    seen: dict[str, int] = {}
    dates_shown = 0
    for who in ("victim", "boss", "hr", "admin"):
        user = world[who]
        user.locale = language
        db.session.commit()
        for url, html in _pages(app, user, urls).items():
            text = visible(html)
            assert not SECONDS.search(text), f"{who} {url}: {SECONDS.search(text)}"
            if language == "en":
                assert not US_DATE.search(text), f"{who} {url}: {US_DATE.search(text)}"
                assert not CLOCK_12H.search(text), f"{who} {url}: {CLOCK_12H.search(text)}"
            dates_shown += text.count("10-03-2026" if language == "nl" else "10/03/2026")
            seen[who] = seen.get(who, 0) + 1
    # Each role saw pages, and the incident's day in the form of the language.
    assert all(seen.get(who, 0) >= 3 for who in ("victim", "boss", "hr", "admin")), seen
    assert dates_shown >= 5


def test_the_incident_page_shows_the_moment_the_building_ban_and_the_attempts(app, world):
    boss = login(app.test_client(), world["boss"])
    page = boss.get(f"/incidents/{world['incident'].id}").text
    assert "10-03-2026 09:30" in page  # 08:30:37 UTC, in Amsterdam, without its seconds
    assert "Tot 01-06-2027" in page and "2027-06-01" not in visible(page)
    assert "Nog niet bereikt (1 poging)" in page  # singular: not "1 pogingen"
    world["boss"].locale = "en"
    db.session.commit()
    page = login(app.test_client(), world["boss"]).get(f"/incidents/{world['incident'].id}").text
    assert "10/03/2026 09:30" in page and "Until 01/06/2027" in page
    assert "Not reached yet (1 attempt)" in page and "1 attempts" not in page


def test_mails_show_dates_without_seconds_in_both_languages(app, world):
    notes = db.session.query(Notification).all()
    assert {n.kind for n in notes} >= {"submitted"}
    # Every kind of mail about an incident or a step, to a manager and to the employee.
    step = world["steps"][0]
    extra = [
        Notification(kind=kind, key=f"texts:{kind}:{who.id}", recipient=who, step=step)
        for kind in ("assigned", "due", "overdue", "escalated", "alarm_pending")
        for who in (world["boss"],)
    ] + [
        Notification(
            kind=kind, key=f"texts:{kind}", recipient=world["victim"], incident=world["incident"]
        )
        for kind in ("behalf", "draft", "alarm")
    ]
    db.session.add_all(extra)
    db.session.flush()
    for language in ("nl", "en"):
        for note in [*notes, *extra]:
            note.recipient.locale = language
            with app.test_request_context():
                mail = notify.compose(note)
            for text in (mail.subject, mail.text, visible(mail.html)):
                assert not SECONDS.search(text), f"{note.kind} ({language}): {text}"
                assert not US_DATE.search(text) and not CLOCK_12H.search(text), text
            if note.incident_id or note.step_id:
                shape = (
                    r"\d\d-\d\d-2026 \d\d:\d\d" if language == "nl" else r"\d\d/\d\d/2026 \d\d:\d\d"
                )
                assert re.search(shape, mail.text), mail.text
    db.session.rollback()


def test_the_police_report_and_the_hr_report_show_no_seconds(app, world):
    boss = login(app.test_client(), world["boss"])
    response = boss.post(f"/incidents/{world['incident'].id}/police-bundle")
    assert response.status_code == 200
    import zipfile

    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        (pdf,) = [n for n in archive.namelist() if n.endswith(".pdf")]
        text = _pdf_text(archive.read(pdf))
    flat = " ".join(text.split())
    assert "10-03-2026 09:30" in flat  # when it happened, in Dutch, without seconds
    assert "10-03-2026 10:00" in flat  # when the report was made: now
    assert not SECONDS.search(flat), SECONDS.search(flat)

    hr = login(app.test_client(), world["hr"])
    report = hr.get("/hr/report.pdf?year=2025")
    assert report.status_code == 200 and report.mimetype == "application/pdf"
    flat = " ".join(_pdf_text(report.data).split())
    assert "10-03-2026" in flat  # "Generated on ..."
    assert not SECONDS.search(flat), SECONDS.search(flat)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- the level's reason and the type: the same words ---------------------------------------


@pytest.mark.parametrize("kind", list(IncidentType))
def test_the_level_reason_of_a_single_type_is_the_types_own_label(app, kind):
    """The shipped protocol names a type's rule by the type's label, in every language, so
    "Vernieling" can never stand beside "Schade" again."""
    assessment = rules.assess(rules.Facts(types=frozenset({kind.value})), current_protocol())
    with app.test_request_context():
        reasons = labels.level_reasons(assessment)
        for language in app.config["LANGUAGES"]:
            with force_locale(language):
                assert reasons[language] == str(labels.TYPE_LABELS[kind])


def test_the_shipped_rules_on_types_or_one_fact_use_the_apps_words(app):
    for rule in current_protocol().rules:
        if rule.names_its_reason:
            assert (rule.reason_nl, rule.reason_en) == ("", ""), rule.id
    weapon = rules.assess(rules.Facts(types=frozenset(), weapon=True), current_protocol())
    with app.test_request_context():
        reasons = labels.level_reasons(weapon)
        with force_locale("en"):
            assert reasons["en"] == str(labels.AGGRAVATING_LABELS["weapon"])


def test_managers_read_the_rule_in_words_with_the_protocol_version_only(app, world):
    incident = world["incident"]
    assert incident.level_reason == {"nl": "Fysiek geweld", "en": "Physical violence"}
    assert world["damage"].level_reason["nl"] == "Schade aan eigendommen"
    page = login(app.test_client(), world["boss"]).get(f"/incidents/{incident.id}").text
    assert "Niveau 3 vanwege: fysiek geweld" in page
    version = incident.protocol_version.partition("+")
    assert f"Protocol {version[0]}" in page and version[2] not in page
    assert "Regel physical" not in page
    damage = login(app.test_client(), world["boss"]).get(f"/incidents/{world['damage'].id}")
    assert "Niveau 2 vanwege: schade aan eigendommen" in damage.text
    assert "Schade aan eigendommen" in damage.text  # the type, in the same words
    # The employee sees the reason but not the protocol.
    own = login(app.test_client(), world["victim"]).get(f"/incidents/{incident.id}").text
    assert "Protocol " not in own


# --- counts ---------------------------------------------------------------------------------


def test_counts_on_the_privacy_overview_say_aantal(app, world):
    page = login(app.test_client(), world["admin"]).get("/admin/privacy?year=2025").text
    assert ">Aantal<" in page and ">Nummer<" not in page


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("nl", "Nog niet bereikt (1 poging)", "Nog niet bereikt (2 pogingen)"),
        ("en", "Not reached yet (1 attempt)", "Not reached yet (2 attempts)"),
    ],
)
def test_a_count_of_one_is_singular_in_both_languages(app, language, one, many):
    template = '{{ ngettext("Not reached yet (%(num)s attempt)", "Not reached yet (%(num)s attempts)", n) }}'
    with app.test_request_context(), force_locale(language):
        assert render_template_string(template, n=1) == one
        assert render_template_string(template, n=2) == many


def test_files_are_counted_in_the_users_words(app):
    from incidents.i18n import format_size

    with app.test_request_context(), force_locale("en"):
        assert (format_size(1), format_size(999), format_size(2400)) == (
            "1 byte",
            "999 bytes",
            "2 kB",
        )


def test_steps_that_are_open_are_counted(app, world):
    assert any(isinstance(s, AftercareStep) and s.is_open for s in world["steps"])
    # The manager's tracks count open steps (the victim reads their aftercare in words).
    page = login(app.test_client(), world["boss"]).get(f"/incidents/{world['incident'].id}")
    assert re.search(r"\d+ open", page.text)
