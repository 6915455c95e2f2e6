"""E-mail against a real SMTP server on loopback: who gets what, in which language, with which
link; never anything sensitive; reminders, escalation and drafts on a frozen clock; a reminder
run twice sends nothing twice; a server that is down loses nothing. Concurrent runs, servers
that drop mid-run and refused mail: tests/web/test_outbox.py."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from incidents import notify, services
from incidents.extensions import db
from incidents.models import AftercareStep, Channel, IncidentType, Notification, Role
from incidents.services import ReportData
from tests.conftest import login

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Amsterdam
SECRET = "He said he knows where her children go to school"
PERPETRATOR = "Johnny Perpetrator"
NOTE = "Agreed she works from home on Friday"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def texts(message: email.message.EmailMessage) -> tuple[str, str]:
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert plain is not None and html is not None, "every mail has a text and an HTML part"
        return plain.get_content(), html.get_content()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    app.config.update(saved)
    controller.stop()


@pytest.fixture
def org(make_user, make_team):
    head = make_user(Role.MANAGER, name="Head Manager", email="head@example.test")
    department = make_team("Department", manager=head)
    boss = make_user(Role.MANAGER, name="Boss Manager", email="boss@example.test")
    boss2 = make_user(Role.MANAGER, name="Other Manager", email="boss2@example.test", locale="en")
    income = make_team("Income", parent=department, manager=boss)
    enforcement = make_team("Enforcement", parent=department, manager=boss2)
    boss.team = income
    boss2.team = enforcement
    db.session.commit()
    return {
        "head": head,
        "boss": boss,
        "boss2": boss2,
        "victim": make_user(name="Vera Victim", email="victim@example.test", team=income),
        "reporter": make_user(name="Rob Reporter", email="reporter@example.test", team=income),
        "witness": make_user(name="Wendy Witness", email="witness@example.test", team=enforcement),
    }


def report(org, reporter="victim", types=(IncidentType.PHYSICAL,), token="notify-token-0001"):
    return services.save_report(
        org[reporter],
        token,
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            types=list(types),
            description=SECRET,
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            perpetrator_known=services.reporting.PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
        ),
        submit=True,
    )


def everything(inbox: Inbox) -> str:
    return "\n".join("\n".join((m["Subject"], *inbox.texts(m))) for m in inbox.messages)


def assert_nothing_sensitive(inbox: Inbox) -> None:
    text = everything(inbox)
    for sensitive in (SECRET, PERPETRATOR, NOTE, "Vera", "Wendy", "Rob Reporter", "Counter"):
        assert sensitive not in text, sensitive


def test_a_submitted_incident_mails_the_managers_of_victim_and_witness(app, org, smtp):
    with time_machine.travel(NOW, tick=False):
        incident = report(org)
        result = notify.run()
    assert result["sent"] == 2 and result["failed"] == 0
    (dutch,) = smtp.to("boss@example.test")
    (english,) = smtp.to("boss2@example.test")
    assert dutch["Subject"] == "Nieuw incident in uw team: nazorg starten"
    assert english["Subject"] == "New incident in your team: aftercare to start"
    # The mail names the incident by its number: something to refer to, nothing personal.
    assert f"Incident {incident.number} van 10-03-2026" in smtp.texts(dutch)[0]
    assert f"Incident {incident.number} of 10/03/2026" in smtp.texts(english)[0]
    plain, html = smtp.texts(dutch)
    # The mail leads to the incident itself (its level, steps and owners), not the inbox.
    link = f"http://127.0.0.1:5000/incidents/{incident.id}"
    assert link in plain and f'href="{link}"' in html
    assert "Open het incident" in plain and "/aftercare" not in plain
    assert "niveau 3" in plain and "10-03-2026" in plain  # the date and level, nothing more
    assert not smtp.to("victim@example.test")  # the victim reported it themselves
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.sent_at.is_(None))
        )
        == 0
    )
    assert_nothing_sensitive(smtp)
    del incident


def test_a_report_on_someones_behalf_mails_that_employee(app, org, smtp):
    with time_machine.travel(NOW, tick=False):
        incident = report(org, reporter="reporter")
        notify.run()
    (mail,) = smtp.to("victim@example.test")
    assert mail["Subject"] == "Er is een incident voor u gemeld"
    assert f"/incidents/{incident.id}" in smtp.texts(mail)[0]
    assert_nothing_sensitive(smtp)


def test_running_twice_sends_nothing_twice(app, org, smtp):
    with time_machine.travel(NOW, tick=False):
        report(org)
        first = notify.run()
        second = notify.run()
    assert first["sent"] == 2 and second == {"queued": 0, "sent": 0, "failed": 0}
    assert len(smtp.messages) == 2


def test_due_overdue_and_escalation_on_a_frozen_clock(app, org, smtp):
    with time_machine.travel(NOW, tick=False) as clock:
        incident = report(org, types=(IncidentType.VERBAL,))  # level 1: one contact step
        notify.run()
        smtp.messages.clear()
        contact = db.session.scalar(
            select(AftercareStep).where(AftercareStep.incident_id == incident.id)
        )
        assert contact is not None
        assert contact.due_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
        # Given out on the day it is due: the submission mail said so, no extra reminder.
        assert notify.run()["sent"] == 0
        # The next day: overdue, once.
        clock.move_to(NOW + timedelta(days=1))
        notify.run()
        notify.run()
        assert [m["Subject"] for m in smtp.to("boss@example.test")] == ["Nazorgstap te laat"]
        assert not smtp.to("head@example.test")
        # Overdue by more than ESCALATE_AFTER_DAYS (3): the owner's own manager is told, once.
        clock.move_to(NOW + timedelta(days=4, hours=1))
        notify.run()
        notify.run()
    (escalation,) = smtp.to("head@example.test")
    assert escalation["Subject"].startswith("Escalatie")
    db.session.refresh(contact)
    assert contact.escalated_at is not None
    assert_nothing_sensitive(smtp)


def test_handing_over_a_step_mails_the_new_owner(app, org, smtp):
    with time_machine.travel(NOW, tick=False):
        incident = report(org)
        notify.run()
        step = next(s for s in incident.steps if s.kind == "police_report")
        client = login(app.test_client(), org["boss"])
        client.post(f"/aftercare/steps/{step.id}/hand", data={"owner": str(org["head"].id)})
        notify.run()
    (mail,) = smtp.to("head@example.test")
    assert mail["Subject"] == "Er is een nazorgstap aan u gegeven"
    assert f"/aftercare/steps/{step.id}" in smtp.texts(mail)[0]


def test_notes_never_travel_by_mail(app, org, smtp):
    with time_machine.travel(NOW, tick=False) as clock:
        incident = report(org)
        step = next(s for s in incident.steps if s.kind == "aftercare_conversation")
        client = login(app.test_client(), org["boss"])
        client.post(
            f"/aftercare/steps/{step.id}",
            data={"outcomes": "declined", "note": NOTE, "attempts": "0"},
        )
        clock.move_to(NOW + timedelta(days=20))
        notify.run()
    assert smtp.to("boss@example.test")
    assert_nothing_sensitive(smtp)


def test_an_unfinished_draft_is_mentioned_once_after_a_day(app, org, smtp):
    with time_machine.travel(NOW, tick=False) as clock:
        services.save_report(
            org["victim"], "draft-token-000001", ReportData(description=SECRET), submit=False
        )
        notify.run()
        assert not smtp.messages
        clock.move_to(NOW + timedelta(hours=25))
        notify.run()
        notify.run()
    (mail,) = smtp.to("victim@example.test")
    assert mail["Subject"] == "Uw melding is nog niet af"
    assert "/edit" in smtp.texts(mail)[0]
    assert_nothing_sensitive(smtp)


def test_a_server_that_is_down_loses_nothing(app, org, smtp, caplog):
    port = app.config["MAIL_PORT"]
    with time_machine.travel(NOW, tick=False):
        report(org)
        app.config["MAIL_PORT"] = free_port()  # nothing listens there
        down = notify.run()
        assert down["sent"] == 0 and down["failed"] == 2
        waiting = db.session.scalars(
            select(Notification).where(Notification.sent_at.is_(None))
        ).all()
        # An outage is not the mails' fault: no attempt counted, the claims freed for the next run.
        assert len(waiting) == 2
        assert [(n.attempts, n.claim, n.claimed_until, n.failed_at) for n in waiting] == [
            (0, "", None, None)
        ] * 2
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "will retry" in caplog.text
        app.config["MAIL_PORT"] = port
        back = notify.run()
    assert back["sent"] == 2 and len(smtp.messages) == 2


def test_demo_mode_without_a_server_writes_mail_to_the_log(app, org, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="incidents.outbox")
    with time_machine.travel(NOW, tick=False):
        report(org)
        result = notify.run()
    assert result["sent"] == 2
    assert "demo mode, not sent" in caplog.text and SECRET not in caplog.text


def test_flask_remind_command(app, org, smtp):
    with time_machine.travel(NOW, tick=False):
        report(org)
        output = app.test_cli_runner().invoke(args=["remind"]).output
    assert output.strip() == "queued 0, sent 2, failed 0"


def test_a_step_due_within_a_day_is_announced_once(app, org, smtp):
    with time_machine.travel(NOW, tick=False) as clock:
        incident = report(org, types=(IncidentType.THREAT,))  # level 2: a follow-up in 14 days
        notify.run()
        follow_up = next(s for s in incident.steps if s.kind == "follow_up_conversation")
        clock.move_to(follow_up.due_at - timedelta(hours=12))
        smtp.messages.clear()
        notify.run()
        notify.run()
    subjects = [m["Subject"] for m in smtp.to("boss@example.test")]
    assert subjects.count("Nazorgstap binnen een dag uiterlijk") == 1
    due_mail = next(
        m for m in smtp.to("boss@example.test") if m["Subject"].startswith("Nazorgstap binnen")
    )
    assert f"/aftercare/steps/{follow_up.id}" in smtp.texts(due_mail)[0]


def test_the_reminder_run_makes_a_fixed_number_of_queries(app, org, count_queries):
    """However many steps are overdue, finding what to send costs the same few queries."""

    def overdue_incidents(n, start):
        for i in range(n):
            services.save_report(
                org["victim"],
                f"backlog-token-{start + i:04d}",
                ReportData(
                    occurred_at=NOW - timedelta(minutes=30),
                    channel=Channel.PHONE,
                    types=[IncidentType.VERBAL],
                    description="x",
                    affected_ids=[org["victim"].id],
                ),
                submit=True,
            )

    with time_machine.travel(NOW, tick=False):
        overdue_incidents(2, 0)
    later = NOW + timedelta(days=1)
    with count_queries() as few:
        notify.queue_due(later)
    db.session.rollback()
    with time_machine.travel(NOW, tick=False):
        overdue_incidents(10, 100)
    with count_queries() as many:
        queued = notify.queue_due(later)
    assert queued == 12 and many.count == few.count
    db.session.rollback()
