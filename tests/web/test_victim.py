"""What the victim is told: the plain-words section on the incident page (for the employee,
never for the managers, who keep the table), the "What happens now" page for every role, its
contacts (admins only, audited, checked next to each field), and the help link in the mails
to the employee concerned (never in managers' mails).

The people read English here (their `locale`), so the sentences are the msgids whatever the
Dutch catalogue holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from incidents import notify, services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditEvent,
    Channel,
    IncidentType,
    Notification,
    Role,
    Setting,
)
from incidents.services import ReportData
from incidents.services.aftercare import StepResult
from tests.conftest import form_errors, login

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Amsterdam
PERPETRATOR = "Johnny Perpetrator"
VICTIM_NOTE = "Agreed she works from home on Friday."
WITNESS_NOTE = "Wendy needs nothing more."
POLICE_NOTE = "Johnny is known to the police."
REPORT_NUMBER = "PL0900-2026031012345"
BAN_END = date(2026, 9, 1)
SECTION = "What was done for you, and what is planned"
TABLE = '<table class="steps">'


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss Manager", locale="en")
    boss2 = make_user(Role.MANAGER, name="Other Manager", locale="en")
    income = make_team("Income", manager=boss)
    enforcement = make_team("Enforcement", manager=boss2)
    people = {
        "boss": boss,
        "boss2": boss2,
        "victim": make_user(name="Vera Victim", team=income, locale="en"),
        "reporter": make_user(name="Rob Reporter", team=income, locale="en"),
        "witness": make_user(name="Wendy Witness", team=enforcement, locale="en"),
        "stranger": make_user(name="Sam Stranger", team=income, locale="en"),
        "hr": make_user(Role.HR, name="Hanna HR", locale="en"),
        "admin": make_user(Role.ADMIN, name="Ada Admin", locale="en"),
    }
    return people


def report(org, reporter="victim", token="victim-token-00001"):
    return services.save_report(
        org[reporter],
        token,
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="He pushed me against the counter.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            perpetrator_known=services.reporting.PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
        ),
        submit=True,
    )


def step_of(incident, definition, person=None):
    db.session.expire_all()
    return db.session.scalars(
        select(AftercareStep).filter_by(
            incident_id=incident.id, definition_id=definition, subject_user_id=person
        )
    ).one()


def record(actor, step, **values):
    services.aftercare.complete_step(actor, step, StepResult(**values), step.attempts)


def page_of(app, user, incident):
    response = login(app.test_client(), user).get(f"/incidents/{incident.id}")
    assert response.status_code == 200
    return response.text


def section(page: str) -> str:
    found = re.search(r'<section class="card your-aftercare".*?</section>', page, re.S)
    assert found is not None, "no plain-words section"
    return unescape(found.group(0))


@pytest.fixture
def worked(app, org, frozen):
    """An incident with the victim's contact held (with a note), a referral, the police
    report filed by the employer with its number and outcome, a building ban, and the
    witness's conversation held (with a note)."""
    incident = report(org)
    victim, witness, boss, boss2 = (org[k] for k in ("victim", "witness", "boss", "boss2"))
    record(
        boss,
        step_of(incident, "contact", victim.id),
        outcomes=["held"],
        held_on=date(2026, 3, 10),
        note=VICTIM_NOTE,
    )
    record(boss, step_of(incident, "referral_decision", victim.id), outcomes=["victim_support"])
    police = step_of(incident, "police_report")
    record(boss, police, outcomes=["filed_by_employer"], reference=REPORT_NUMBER, note=POLICE_NOTE)
    services.aftercare.record_police_outcome(boss, step_of(incident, "police_report"), "Fined")
    record(
        boss,
        step_of(incident, "perpetrator_response"),
        outcomes=["building_ban"],
        end_date=BAN_END,
        citizen_heard=True,
    )
    record(
        boss2,
        step_of(incident, "witness_aftercare_conversation", witness.id),
        outcomes=["held"],
        held_on=date(2026, 3, 10),
        note=WITNESS_NOTE,
    )
    return incident


def test_the_victim_reads_what_was_done_and_what_is_planned(app, org, worked):
    html = page_of(app, org["victim"], worked)
    assert TABLE not in html  # no table of steps for the employee
    mine = section(html)
    assert SECTION in mine
    for said in (
        "You were contacted on",
        "by Boss Manager.",
        "Victim Support Netherlands (Slachtofferhulp)",
        "Your employer filed a police report",
        f"The number of the police report is {REPORT_NUMBER}.",
        "What came of the police report: Fined",
        "The perpetrator has a building ban, in force until",
        # What is still planned, with its owner.
        "Your manager will invite you to a first aftercare conversation before",
        "Who: Boss Manager",
    ):
        assert said in mine, said
    # The manager's note on the victim's own step, labelled as such; not the police note.
    assert f'<strong>Note from your manager:</strong> <span class="prose">{VICTIM_NOTE}' in mine
    assert POLICE_NOTE not in html
    # Never the witness's track, nor the perpetrator's name in the section.
    for hidden in ("Wendy Witness", WITNESS_NOTE, "Other Manager"):
        assert hidden not in mine, hidden
    assert PERPETRATOR not in mine
    assert '<a href="/help">' in mine


def test_a_witness_reads_only_their_own_track(app, org, worked):
    html = page_of(app, org["witness"], worked)
    assert TABLE not in html
    mine = section(html)
    assert "You had an aftercare conversation with Other Manager on" in mine
    assert f'<span class="prose">{WITNESS_NOTE}</span>' in mine
    for hidden in (
        "Vera Victim",
        VICTIM_NOTE,
        REPORT_NUMBER,
        "police report",
        "building ban",
        POLICE_NOTE,
        PERPETRATOR,
        "Boss Manager",
    ):
        assert hidden not in html, hidden


def test_a_reporter_who_was_not_affected_gets_no_section_but_the_help_link(app, org, frozen):
    incident = report(org, reporter="reporter")
    html = page_of(app, org["reporter"], incident)
    assert SECTION not in html and TABLE not in html
    assert '<a href="/help">What happens now, and whom you can call</a>' in html
    # The affected colleague gets the section, with the plan.
    assert "Your manager will contact you before" in section(page_of(app, org["victim"], incident))


def test_the_reporter_lands_on_the_page_with_the_help_link(app, org, frozen):
    client = login(app.test_client(), org["victim"])
    form = client.get("/incidents/new", follow_redirects=True)
    token = re.search(r'name="submission_token"[^>]*value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/incidents/new",
        data={
            "submission_token": token.group(1),
            "occurred_at": "2026-03-10T09:30",
            "channel": "counter",
            "types": "verbal",
            "description": "Shouted at me.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submit": "Submit report",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Thank you. Your report has been received." in response.text
    assert '<a href="/help">' in response.text


def test_managers_keep_the_table_of_steps(app, org, worked):
    html = page_of(app, org["boss"], worked)
    assert TABLE in html and SECTION not in html
    assert "Wendy Witness" in html and REPORT_NUMBER in html
    witness_manager = page_of(app, org["boss2"], worked)
    assert TABLE in witness_manager and SECTION not in witness_manager


def test_a_stranger_sees_nothing(app, org, worked):
    response = login(app.test_client(), org["stranger"]).get(f"/incidents/{worked.id}")
    assert response.status_code == 404


def test_tried_twice_is_counted_in_words(app, org, frozen):
    incident = report(org)
    boss = org["boss"]
    for _ in range(2):
        record(boss, step_of(incident, "contact", org["victim"].id), outcomes=["not_reached"])
    mine = section(page_of(app, org["victim"], incident))
    assert "Your manager tried 2 times to reach you, without success so far" in mine
    assert "Your manager will contact you before" in mine


def test_what_a_manager_typed_is_escaped_never_markup(app, org, frozen):
    incident = report(org)
    record(
        org["boss"],
        step_of(incident, "police_report"),
        outcomes=["not_filed"],
        reason="<script>alert(1)</script>",
    )
    record(
        org["boss"],
        step_of(incident, "contact", org["victim"].id),
        outcomes=["held"],
        note="<b>bold</b>",
    )
    page = page_of(app, org["victim"], incident)
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "Why: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_ban_past_its_end_date_is_told_as_ended(app, org, worked, frozen):
    frozen.move_to(datetime(2026, 9, 3, 9, 0, tzinfo=UTC))
    mine = section(page_of(app, org["victim"], worked))
    assert "The perpetrator's building ban ended on" in mine
    assert "in force until" not in mine


def test_the_page_in_dutch_speaks_formally_and_has_no_raw_dates(app, org, worked):
    victim = org["victim"]
    victim.locale = "nl"
    db.session.commit()
    mine = section(page_of(app, victim, worked))
    assert not re.search(r"\d{4}-\d{2}-\d{2}", mine)  # never an ISO date in the text
    assert not re.search(r"\d{2}:\d{2}:\d{2}", mine)  # never seconds


# --- The help page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_help_page_for_every_role(app, make_user, role):
    response = login(app.test_client(), make_user(role, locale="en")).get("/help")
    assert response.status_code == 200
    html = response.text
    assert "<h1>What happens now</h1>" in html
    assert "In an emergency, call 112." in html
    assert "Slachtofferhulp Nederland" in html and 'href="tel:0900-0101"' in html
    assert 'href="tel:0900-8844"' in html
    assert "Confidential adviser" not in html  # empty: not shown
    assert 'href="/help"' in html  # in the menu


def test_the_help_page_needs_a_login(client):
    response = client.get("/help")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- The contacts, for admins ----------------------------------------------------------------


def contacts_data(**changes):
    data = {
        f"{kind}_{part}": ""
        for kind in ("confidential_adviser", "social_work", "victim_support", "police")
        for part in ("name", "phone", "address", "text")
    }
    data.update(
        victim_support_name="Slachtofferhulp Nederland",
        victim_support_phone="0900-0101",
        police_phone="0900-8844",
    )
    data.update(changes)
    return data


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR], ids=lambda r: r.value)
def test_only_admins_may_see_or_change_the_contacts(app, make_user, role):
    client = login(app.test_client(), make_user(role))
    assert client.get("/admin/help-contacts").status_code == 403
    changed = client.post("/admin/help-contacts", data=contacts_data(police_phone="112"))
    assert changed.status_code == 403
    assert db.session.get(Setting, "help_contacts") is None


def test_an_admin_chooses_the_contacts_and_it_is_audited(app, org):
    admin = login(app.test_client(), org["admin"])
    page = admin.get("/admin/help-contacts")
    assert page.status_code == 200 and 'value="0900-0101"' in page.text
    saved = admin.post(
        "/admin/help-contacts",
        data=contacts_data(
            confidential_adviser_name="Carla Confidant",
            confidential_adviser_phone="+31 (0)20 123 4567",
            confidential_adviser_address="vertrouwenspersoon@example.test",
            confidential_adviser_text="Mondays and Thursdays, <b>9 to 5</b>.",
            police_phone="",
        ),
    )
    assert saved.status_code == 302
    assert "The contacts were saved." in admin.get(saved.headers["Location"]).text
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.help_contacts")
    ).all()
    assert len(events) == 1 and events[0].actor_id == org["admin"].id
    assert set(events[0].details["changed"]) == {
        "confidential_adviser.name",
        "confidential_adviser.phone",
        "confidential_adviser.address",
        "confidential_adviser.text",
        "police.phone",
    }
    help_page = login(app.test_client(), org["victim"]).get("/help").text
    assert "Carla Confidant" in help_page and "vertrouwenspersoon@example.test" in help_page
    assert "&lt;b&gt;9 to 5&lt;/b&gt;" in help_page  # escaped, never markup
    assert "0900-8844" not in help_page  # emptied: the police contact is hidden
    assert "In an emergency, call 112." in help_page  # always
    # Saving the same again changes nothing and audits nothing.
    again = admin.post(
        "/admin/help-contacts",
        data=contacts_data(
            confidential_adviser_name="Carla Confidant",
            confidential_adviser_phone="+31 (0)20 123 4567",
            confidential_adviser_address="vertrouwenspersoon@example.test",
            confidential_adviser_text="Mondays and Thursdays, <b>9 to 5</b>.",
            police_phone="",
        ),
    )
    assert "Nothing was changed." in admin.get(again.headers["Location"]).text
    assert (
        len(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "settings.help_contacts")
            ).all()
        )
        == 1
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"police_phone": "call the desk"}, "police_phone"),
        ({"social_work_phone": "0900 <script>"}, "social_work_phone"),
        ({"victim_support_phone": "+"}, "victim_support_phone"),
        ({"confidential_adviser_name": "x" * 121}, "confidential_adviser_name"),
        ({"social_work_address": "a" * 201}, "social_work_address"),
        ({"police_text": "t" * 501}, "police_text"),
        ({"police_phone": "1" * 31}, "police_phone"),
    ],
)
def test_bad_contacts_are_refused_next_to_the_field(app, org, changes, field):
    admin = login(app.test_client(), org["admin"])
    response = admin.post("/admin/help-contacts", data=contacts_data(**changes))
    assert response.status_code == 200
    assert form_errors(response.text) == [field]
    assert db.session.get(Setting, "help_contacts") is None  # nothing half-stored
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.help_contacts")
    ).all()


def test_the_contacts_form_needs_its_csrf_token(app, org):
    admin = login(app.test_client(), org["admin"])
    response = admin.post("/admin/help-contacts", data=contacts_data(), csrf=False)
    assert response.status_code == 400
    assert db.session.get(Setting, "help_contacts") is None


def test_the_service_checks_what_the_form_checks(app, org):
    from incidents.services.help_contacts import Contact, ContactKind

    with pytest.raises(services.InvalidInput) as refused:
        services.help_contacts.set_help_contacts(
            org["admin"], {ContactKind.POLICE: Contact(phone="ring ring", name="n" * 121)}
        )
    assert set(refused.value.errors) == {"police_phone", "police_name"}
    assert db.session.get(Setting, "help_contacts") is None


def test_a_damaged_setting_falls_back_to_the_defaults(app, org):
    db.session.add(Setting(name="help_contacts", value=["not", "a", "dict"]))
    db.session.commit()
    html = login(app.test_client(), org["victim"]).get("/help").text
    assert "0900-0101" in html


# --- Mails -----------------------------------------------------------------------------------


def app_context_request():
    from flask import current_app

    return current_app.test_request_context()


def composed(kind, recipient, incident):
    note = Notification(key=f"{kind}:x:{recipient.id}", kind=kind, recipient_id=recipient.id)
    note.incident_id = incident.id
    db.session.add(note)
    db.session.commit()
    with app_context_request():
        return notify.compose(note)


@pytest.mark.parametrize("kind", ["behalf", "draft", "alarm"])
def test_mails_to_the_employee_link_to_the_help_page(app, org, frozen, kind):
    incident = report(org, reporter="reporter")
    mail = composed(kind, org["victim"], incident)
    assert "What happens now, and whom you can call: http://" in mail.text
    assert re.search(r'<a href="http://[^"]+/help">What happens now', mail.html)


def test_the_queued_mails_link_the_help_page_for_the_employee_only(app, org, frozen):
    report(org, reporter="reporter")
    notes = db.session.scalars(select(Notification)).all()
    kinds = {(n.kind, n.recipient_id) for n in notes}
    assert ("behalf", org["victim"].id) in kinds
    assert ("submitted", org["boss"].id) in kinds
    for note in notes:
        with app.test_request_context():
            mail = notify.compose(note)
        has_link = "/help" in mail.text or "/help" in mail.html
        assert has_link == (note.kind == "behalf"), (note.kind, note.recipient.name)


def test_the_aftercare_moved_mail_links_the_help_page(app, org):
    note = Notification(
        key=f"aftercare_moved:x:{org['victim'].id}",
        kind="aftercare_moved",
        recipient_id=org["victim"].id,
    )
    db.session.add(note)
    db.session.commit()
    with app.test_request_context():
        assert "/help" in notify.compose(note).text


# --- Measures from the register ----------------------------------------------------------------


MEASURE_REASON = "Pushed an employee against the counter."


def _measure(org, officer, incident, kind, *, days=60, step=None, approved=True):
    from incidents.services import measures

    start = measures.today()
    measure = measures.propose(
        org["boss"],
        measures.Proposal(
            kind=kind,
            citizen_name=PERPETRATOR,
            citizen_reference="K-77",
            reason=MEASURE_REASON,
            starts_on=start,
            ends_on=start + timedelta(days=days - 1),
            incident_numbers=[incident.number],
            step_id=step.id if step is not None else None,
        ),
    )
    if kind == "building_ban":
        measure = measures.record_hearing(
            org["boss"], measure.id, measure.revision, heard_on=start, how="phone",
            not_heard_reason="",
        )  # fmt: skip
    if approved:
        measure = measures.approve(officer, measure.id, measure.revision)
    return measure


def test_the_victim_reads_the_measures_in_force_that_protect_them(app, org, worked, make_user):
    officer = make_user(name="Olga Officer", locale="en")
    officer.security_officer = True
    db.session.commit()
    ban_step = step_of(worked, "perpetrator_response")
    _measure(org, officer, worked, "building_ban", step=ban_step, days=30)
    _measure(org, officer, worked, "two_colleagues", approved=False)  # only proposed
    elsewhere = report(org, token="victim-token-00002")
    _measure(org, officer, elsewhere, "written_contact")  # on another incident

    mine = section(page_of(app, org["victim"], worked))
    until = (date(2026, 3, 10) + timedelta(days=29)).strftime("%d/%m/%Y")
    assert f"A measure protects you: Building ban, in force until {until}." in mine
    # The register has the ban: the step's own wording of it is gone.
    assert "The perpetrator has a building ban" not in mine
    assert "Two colleagues" not in mine and "phone or in writing" not in mine
    for hidden in (PERPETRATOR, "K-77", MEASURE_REASON):
        assert hidden not in mine, hidden
    # The witness reads nothing of it.
    witness = page_of(app, org["witness"], worked)
    assert "protects you" not in witness and "Building ban" not in witness


def test_a_measure_that_ended_no_longer_protects(app, org, worked, make_user, frozen):
    officer = make_user(name="Olga Officer", locale="en")
    officer.security_officer = True
    db.session.commit()
    _measure(org, officer, worked, "two_colleagues", days=5)
    assert "A measure protects you" in section(page_of(app, org["victim"], worked))
    frozen.move_to(NOW + timedelta(days=5))  # the day after its end, before any daily run
    mine = section(page_of(app, org["victim"], worked))
    assert "A measure protects you" not in mine
    # The step's ban (not in the register) is still told from the step.
    assert "The perpetrator has a building ban, in force until" in mine
