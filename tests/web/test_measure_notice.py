"""The notice letter of a measure: the PDF's text in Dutch and in English (read back with
pypdf), when a letter can be made, who may make it (every role), its audit event, the
download links on the measure's page, and the admin's settings for what the letter says."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from incidents.extensions import db
from incidents.models import AuditAction, AuditEvent, MeasureState, Setting
from incidents.services import InvalidInput, measures
from incidents.services import measure_letter as letters
from incidents.services.measure_letter import LetterSettings
from tests.conftest import form_errors, login
from tests.web.measure_helpers import REASON, TODAY, approve, in_force, propose, submit

CONTACT = "Bel 14 020 of mail maatregelen@gemeente.test"
OBJECTION_NL = "Bezwaar maakt u binnen zes weken schriftelijk bij het college, Postbus 99."
OBJECTION_EN = "You may object in writing within six weeks, to the council, PO Box 99."
ADDRESS = "Postbus 99\n1000 AB Ergens"


def pdf_text(data: bytes) -> str:
    """The PDF's text with its line breaks and runs of spaces as single spaces."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def configure(staff, **changes: str) -> LetterSettings:
    """The organisation's part of the letter, saved through the service by the admin."""
    values = {
        "org_name": "Gemeente Ergens",
        "address": ADDRESS,
        "contact": CONTACT,
        "objection_nl": OBJECTION_NL,
        "objection_en": OBJECTION_EN,
        "signatory": "Het college van burgemeester en wethouders",
        **changes,
    }
    settings = LetterSettings(**values)
    letters.set_letter_settings(staff["admin"], settings)
    return settings


def letter(client, measure_id: int, lang: str | None = None):
    query = "" if lang is None else f"?lang={lang}"
    return client.get(f"/measures/{measure_id}/notice.pdf{query}")


def notice_events(measure_id: int | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == AuditAction.MEASURE_NOTICE)
    if measure_id is not None:
        query = query.where(AuditEvent.object_id == measure_id)
    return list(db.session.scalars(query))


def in_english(client):
    """The new strings are not in the Dutch catalogue yet: pages are read in English."""
    client.post("/language", data={"locale": "en", "next": "/"})
    return client


# --- What the letter says ------------------------------------------------------------------------


def test_the_dutch_letter_says_what_why_how_long_and_how_to_object(app, staff, march_10):
    configure(staff)
    incident = submit(staff)
    measure = in_force(staff, incident, days=90)
    response = letter(login(app.test_client(), staff["boss"]), measure.id, "nl")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert REASON in text
    assert "Gesprekken alleen met twee collega's" in text  # the kind's title, in Dutch
    assert "Gesprekken alleen met twee collega's aanwezig." in text  # and its rule
    assert "10-03-2026" in text and "07-06-2026" in text  # from, until (and the date)
    assert "10/03/2026" not in text
    assert re.search(r"\b90\b", text)  # the number of days
    assert OBJECTION_NL in text and OBJECTION_EN not in text
    assert CONTACT in text and "Gemeente Ergens" in text
    assert "Postbus 99" in text and "1000 AB Ergens" in text
    assert "Het college van burgemeester en wethouders" in text
    assert "Jan Jansen" in text and "K-1001" in text
    # No incident, and no employee: not who proposed or approved it, not the victim.
    for name in ("Boss", "Officer", "Victim", "Witness", "Deputy"):
        assert name not in text
    assert (incident.number or "?") not in text
    assert "It happened." not in text


def test_the_english_letter_is_in_english(app, staff, march_10):
    configure(staff)
    measure = propose(staff, submit(staff), starts_on=date(2026, 3, 16), days=30)
    approve(staff, measure)
    db.session.refresh(measure)
    assert measure.state == MeasureState.APPROVED  # approved, starts next Monday
    text = pdf_text(letter(login(app.test_client(), staff["boss"]), measure.id, "en").data)
    assert "Conversations only with two colleagues" in text
    assert "Conversations only with two colleagues present." in text
    assert "Gesprekken" not in text
    assert "16/03/2026" in text and "14/04/2026" in text and "10/03/2026" in text
    assert "16-03-2026" not in text
    assert "30 days" in text
    assert "It ends by itself after 14/04/2026" in text
    assert "Dear Jan Jansen," in text
    assert OBJECTION_EN in text and OBJECTION_NL not in text
    assert CONTACT in text
    assert "Copy" not in text  # not ended: the letter itself


def test_the_default_language_is_dutch_and_odd_values_fall_back_to_it(app, staff, march_10):
    measure = in_force(staff)
    client = login(app.test_client(), staff["boss"])
    in_english(client)  # the user's own language does not choose the letter's
    for lang in (None, "", "xx", "de", "nl_NL", "../../etc/passwd", "%00", "e" * 500, "nl%20"):
        response = letter(client, measure.id, lang)
        assert response.status_code == 200, lang
        text = pdf_text(response.data)
        assert "Gesprekken alleen met twee collega's" in text, lang
        assert "10-03-2026" in text, lang
    repeated = client.get(f"/measures/{measure.id}/notice.pdf?lang=en&lang=nl")
    assert repeated.status_code == 200
    # The language's code in any case, with spaces around it.
    assert "Conversations only" in pdf_text(letter(client, measure.id, " EN ").data)


def test_the_defaults_make_a_letter_before_the_admin_chose(app, staff, march_10):
    """Until the admin saves the letter: the configured name, the default objection."""
    measure = in_force(staff)
    text = pdf_text(letter(login(app.test_client(), staff["boss"]), measure.id, "en").data)
    assert app.config["ORG_NAME"] in text
    assert "within six weeks" in text and "in writing" in text
    dutch = pdf_text(letter(login(app.test_client(), staff["boss"]), measure.id, "nl").data)
    assert "binnen zes weken" in dutch and "schriftelijk" in dutch


def test_a_contact_person_measure_names_the_one_employee(app, staff, march_10):
    measure = in_force(staff, kind="contact_person", contact_person_id=staff["counter"].id)
    text = pdf_text(letter(login(app.test_client(), staff["officer"]), measure.id, "en").data)
    assert "Your contact person is Counter." in text
    assert "Contact only through the named contact person." in text
    assert "Boss" not in text and "Officer" not in text


def test_nothing_from_the_record_is_read_as_markup(app, staff, march_10):
    measure = in_force(
        staff,
        reason="Sloeg <b>hard</b> op de balie & dreigde.",
        citizen_name="Jan <i>Jansen</i>",
    )
    configure(staff, contact="<a href='x'>bel ons</a>")
    text = pdf_text(letter(login(app.test_client(), staff["boss"]), measure.id, "en").data)
    assert "Sloeg <b>hard</b> op de balie & dreigde." in text
    assert "Jan <i>Jansen</i>" in text
    assert "<a href='x'>bel ons</a>" in text


# --- When there is a letter ----------------------------------------------------------------------


def test_a_proposal_or_a_withdrawn_measure_has_no_letter(app, staff, march_10):
    proposal = propose(staff, submit(staff))
    withdrawn = propose(staff, submit(staff))
    db.session.refresh(withdrawn)
    measures.close(staff["boss"], withdrawn.id, withdrawn.revision, "Niet meer nodig.")
    db.session.refresh(withdrawn)
    assert withdrawn.state == MeasureState.WITHDRAWN
    for who in ("boss", "officer"):
        client = login(app.test_client(), staff[who])
        for measure in (proposal, withdrawn):
            assert letter(client, measure.id, "nl").status_code == 404
            assert letter(client, measure.id, "en").status_code == 404
            page = in_english(client).get(f"/measures/{measure.id}")
            assert page.status_code == 200
            assert "notice.pdf" not in page.text
    assert notice_events() == []


def test_an_ended_measure_gives_a_copy(app, staff, march_10):
    ended_early = in_force(staff)
    db.session.refresh(ended_early)
    measures.close(staff["boss"], ended_early.id, ended_early.revision, "Gedrag verbeterd.")
    db.session.refresh(ended_early)
    assert ended_early.state == MeasureState.ENDED
    client = login(app.test_client(), staff["boss"])
    text = pdf_text(letter(client, ended_early.id, "en").data)
    assert "Copy. This measure has ended: its last day was 10/03/2026." in text
    # Ended on its end date, whether or not the daily run has been.
    by_itself = in_force(staff, days=7)
    march_10.move_to("2026-03-20 09:00Z")
    db.session.refresh(by_itself)
    assert by_itself.state == MeasureState.IN_FORCE  # stored: the daily run has not been
    client = login(app.test_client(), staff["boss"])  # a new session, ten days on
    text = pdf_text(letter(client, by_itself.id, "en").data)
    assert "Copy. This measure has ended: its last day was 16/03/2026." in text
    assert "20/03/2026" in text  # the letter's date


# --- Who may make it -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("boss", 200),  # proposed it
        ("deputy", 200),  # approved it
        ("officer", 200),  # the security officer
        ("victim", 404),  # an employee: the one it protects
        ("witness", 404),
        ("counter", 404),  # the front office looks up, never reads the record
        ("hr", 404),
        ("admin", 404),
        ("boss2", 404),  # another team's manager
    ],
)
def test_who_may_make_the_letter(app, staff, march_10, who, status):
    measure = propose(staff, submit(staff))
    approve(staff, measure, by="deputy")
    client = login(app.test_client(), staff[who])
    for lang in ("nl", "en", "xx"):
        assert letter(client, measure.id, lang).status_code == status, (who, lang)
    assert len(notice_events(measure.id)) == (3 if status == 200 else 0)
    assert letter(client, measure.id + 1000).status_code == 404  # no such measure


def test_an_anonymised_measure_has_no_letter(app, staff, march_10):
    measure = in_force(staff)
    measure.anonymised_at = measure.proposed_at
    db.session.commit()
    assert letter(login(app.test_client(), staff["officer"]), measure.id).status_code == 404


def test_making_the_letter_is_audited_with_its_language(app, staff, march_10):
    measure = in_force(staff)
    client = login(app.test_client(), staff["officer"])
    letter(client, measure.id, "en")
    letter(client, measure.id)
    events = notice_events(measure.id)
    assert [e.details for e in events] == [{"language": "en"}, {"language": "nl"}]
    assert {(e.actor_id, e.object_type) for e in events} == {(staff["officer"].id, "measure")}


# --- On the measure's page -----------------------------------------------------------------------


def test_the_measure_page_links_to_both_letters(app, staff, march_10):
    measure = in_force(staff)
    client = in_english(login(app.test_client(), staff["boss"]))
    page = client.get(f"/measures/{measure.id}").text
    assert f'href="/measures/{measure.id}/notice.pdf?lang=nl"' in page
    assert f'href="/measures/{measure.id}/notice.pdf?lang=en"' in page
    assert "Notice letter in Dutch (PDF)" in page and "Notice letter in English (PDF)" in page
    # The form to record that it was sent is still there, and still works.
    assert f'action="/measures/{measure.id}/notice-sent"' in page
    # No address configured yet: the page says so.
    assert "postal address is not in the letter yet" in page
    configure(staff)
    page = client.get(f"/measures/{measure.id}").text
    assert "postal address is not in the letter yet" not in page
    db.session.refresh(measure)
    sent = client.post(
        f"/measures/{measure.id}/notice-sent",
        data={"revision": str(measure.revision), "sent_on": TODAY.isoformat(), "sent_how": "post"},
    )
    assert sent.status_code == 302
    db.session.refresh(measure)
    assert measure.notice_sent_on == TODAY and measure.notice_sent_how == "post"


# --- The admin's settings ------------------------------------------------------------------------


def settings_data(**changes: str) -> dict[str, str]:
    return {
        "org_name": "Gemeente Ergens",
        "address": "Postbus 99\r\n\r\n1000 AB  Ergens\r\n",
        "contact": CONTACT,
        "objection_nl": OBJECTION_NL,
        "objection_en": OBJECTION_EN,
        "signatory": "De burgemeester",
        **changes,
    }


def test_the_admin_sets_what_the_letter_says_and_it_is_audited(app, staff, march_10):
    admin = in_english(login(app.test_client(), staff["admin"]))
    page = admin.get("/admin/measure-letter")
    assert page.status_code == 200
    assert 'value="Gemeente"' in page.text  # the configured name, until saved
    assert "binnen zes weken" in page.text  # the default objection text
    saved = admin.post("/admin/measure-letter", data=settings_data())
    assert saved.status_code == 302
    assert "The notice letter was saved." in admin.get(saved.headers["Location"]).text
    stored = letters.letter_settings()
    assert stored.address == "Postbus 99\n1000 AB  Ergens"
    assert stored.signatory == "De burgemeester"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.SETTINGS_MEASURE_LETTER)
    ).all()
    assert len(events) == 1 and events[0].actor_id == staff["admin"].id
    assert set(events[0].details["changed"]) == {
        "org_name",
        "address",
        "contact",
        "objection_nl",
        "objection_en",
        "signatory",
    }
    # The same again: nothing changed, nothing audited.
    again = admin.post("/admin/measure-letter", data=settings_data())
    assert "Nothing was changed." in admin.get(again.headers["Location"]).text
    assert (
        len(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.SETTINGS_MEASURE_LETTER)
            ).all()
        )
        == 1
    )
    # The letter says what the admin wrote.
    measure = in_force(staff)
    text = pdf_text(letter(login(app.test_client(), staff["boss"]), measure.id, "en").data)
    assert CONTACT in text and OBJECTION_EN in text and "De burgemeester" in text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"org_name": "n" * 121}, "org_name"),
        ({"org_name": ""}, "org_name"),
        ({"address": "a" * 301}, "address"),
        ({"address": ""}, "address"),
        ({"address": "\n".join(f"regel {n}" for n in range(7))}, "address"),
        ({"contact": "c" * 201}, "contact"),
        ({"objection_nl": "b" * 2001}, "objection_nl"),
        ({"objection_en": ""}, "objection_en"),
        ({"objection_en": "o" * 2001}, "objection_en"),
        ({"signatory": "s" * 121}, "signatory"),
    ],
)
def test_bad_settings_are_refused_next_to_the_field(app, staff, changes, field):
    admin = login(app.test_client(), staff["admin"])
    response = admin.post("/admin/measure-letter", data=settings_data(**changes))
    assert response.status_code == 200
    assert form_errors(response.text) == [field]
    assert db.session.get(Setting, letters.SETTING) is None  # nothing half-stored
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.SETTINGS_MEASURE_LETTER)
    ).all()


def test_the_settings_form_needs_its_csrf_token(app, staff):
    admin = login(app.test_client(), staff["admin"])
    response = admin.post("/admin/measure-letter", data=settings_data(), csrf=False)
    assert response.status_code == 400
    assert db.session.get(Setting, letters.SETTING) is None


@pytest.mark.parametrize("who", ["boss", "officer", "hr", "victim", "counter"])
def test_only_admins_set_the_letter(app, staff, who):
    client = login(app.test_client(), staff[who])
    assert client.get("/admin/measure-letter").status_code == 403
    assert client.post("/admin/measure-letter", data=settings_data()).status_code == 403
    assert db.session.get(Setting, letters.SETTING) is None


def test_the_service_checks_what_the_form_checks(app, staff):
    with pytest.raises(InvalidInput) as refused:
        letters.set_letter_settings(
            staff["admin"],
            LetterSettings(org_name="x" * 121, address="", objection_nl="n", objection_en="e"),
        )
    assert set(refused.value.errors) == {"org_name", "address"}
    assert db.session.get(Setting, letters.SETTING) is None


def test_a_damaged_setting_falls_back_to_the_defaults(app, staff, march_10):
    db.session.add(Setting(name=letters.SETTING, value=["not", "a", "dict"]))
    db.session.commit()
    assert letters.letter_settings() == letters.defaults()
    measure = in_force(staff)
    assert letter(login(app.test_client(), staff["boss"]), measure.id).status_code == 200
