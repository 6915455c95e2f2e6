"""The outbox sends each mail exactly once: against a real SMTP server on loopback, with
concurrent `flask remind` processes and threads racing, a server that drops mid-run, refusals
for good (5xx) and for now (4xx), and claims of crashed and of live runs; on both databases."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import re
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from incidents import notify, outbox, services
from incidents.extensions import db
from incidents.models import AuditEvent, Channel, IncidentType, Notification, Role, User, utcnow
from incidents.services import ReportData
from tests.conftest import ROOT, login
from tests.web.test_notify import free_port

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SECRET = "He said he knows where her children go to school"
REFUSED = "550 5.1.1 no such user"
LATER = "451 4.3.0 try again later"


class Sink:
    """An SMTP server that keeps what it accepts. It can be slow, refuse recipients, and drop
    the connection: at the MAIL command after `drop_after` accepted messages (the mail is then
    never accepted), and on every command while `down`."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.delay = 0.0
        self.refuse: dict[str, str] = {}
        self.drop_after: int | None = None
        self.down_after_drop = True
        self.down = False
        self.connections = 0
        self.rcpt: Counter[str] = Counter()

    def _drop(self, server) -> bool:
        if self.drop_after is not None and len(self.messages) >= self.drop_after:
            self.drop_after = None
            self.down = self.down_after_drop
            server.transport.close()
            return True
        if self.down:
            server.transport.close()
            return True
        return False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        if self.down:
            server.transport.close()
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self._drop(server):
            return "421 4.3.2 shutting down"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.rcpt[address] += 1
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK"

    def received(self) -> Counter[str]:
        """How often each address got a mail."""
        return Counter(str(m["To"]) for m in self.messages)


@pytest.fixture
def sink(app):
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield handler
    app.config.update(saved)
    controller.stop()


def queue_mails(count: int) -> list[str]:
    """`count` queued mails, each to its own recipient; their addresses."""
    users = [
        User(email=f"outbox{i:04d}@example.test", name=f"Recipient {i}", password_hash="-")
        for i in range(count)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        Notification(key=f"submitted:{i}:{u.id}", kind="submitted", recipient_id=u.id)
        for i, u in enumerate(users)
    )
    db.session.commit()
    return [u.email for u in users]


def notes() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def note_to(address: str) -> Notification:
    db.session.expire_all()
    return db.session.scalars(
        select(Notification).join(Notification.recipient).where(User.email == address)
    ).one()


def assert_each_sent_once(sink: Sink, addresses: list[str]) -> None:
    assert sink.received() == Counter(addresses)
    assert len({m["Message-ID"] for m in sink.messages}) == len(addresses)
    rows = notes()
    assert len(rows) == len(addresses)
    assert all(n.sent_at is not None and n.claim == "" and n.attempts == 1 for n in rows)


def mail_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "incidents.outbox" and r.levelno >= logging.WARNING
    ]


# 1. A real race: two `flask remind` processes released together.


def test_two_remind_processes_at_once_send_each_mail_once(app, sink, tmp_path):
    addresses = queue_mails(200)
    sink.delay = 0.02  # 200 mails take a run at least 4 s: the two runs overlap
    go = tmp_path / "go"
    env = {
        **os.environ,
        "INCIDENTS_CONFIG": "test",
        "INCIDENTS_INSTANCE_PATH": str(tmp_path),
        "INCIDENTS_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INCIDENTS_MAIL_SERVER": "127.0.0.1",
        "INCIDENTS_MAIL_PORT": str(app.config["MAIL_PORT"]),
        "GO": str(go),
        "FLASK": str(ROOT / ".venv" / "bin" / "flask"),
    }
    # Both wait for the same file, so neither gets a head start from being spawned first.
    wait_then_remind = (
        'while [ ! -e "$GO" ]; do sleep 0.01; done; exec "$FLASK" --app incidents remind'
    )
    runs = [
        subprocess.Popen(
            ["sh", "-c", wait_then_remind],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    sent = []
    for stdout, _stderr in outputs:
        found = re.search(r"queued 0, sent (\d+), failed 0", stdout)
        assert found, stdout
        sent.append(int(found.group(1)))
    assert sum(sent) == 200 and min(sent) > 0, sent  # both runs sent a share: they raced
    assert_each_sent_once(sink, addresses)


# 2. An in-process race: threads released together by a barrier.


def race(app, runners: int, batch: int) -> list[tuple[int, int]]:
    barrier = threading.Barrier(runners)
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(outbox.send_pending(batch=batch))
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == runners
    return results


def test_concurrent_sends_in_threads_send_each_mail_once(app, sink):
    addresses = queue_mails(100)
    sink.delay = 0.005
    results = race(app, runners=3, batch=10)
    assert sum(sent for sent, _ in results) == 100
    assert all(failed == 0 for _, failed in results)
    assert sum(1 for sent, _ in results if sent) >= 2, results  # they did race
    assert_each_sent_once(sink, addresses)


def test_concurrent_runs_in_demo_mode_log_each_mail_once(app, caplog):
    caplog.set_level(logging.INFO, logger="incidents.outbox")
    addresses = queue_mails(60)
    assert not app.config["MAIL_SERVER"] and app.config["DEMO"]
    results = race(app, runners=3, batch=5)
    assert sum(sent for sent, _ in results) == 60

    def recipient(message: str) -> str:
        found = re.match(r"mail \(demo mode, not sent\) to (\S+):", message)
        assert found is not None, message
        return found.group(1)

    logged = Counter(
        recipient(r.getMessage())
        for r in caplog.records
        if r.getMessage().startswith("mail (demo mode")
    )
    assert logged == Counter(addresses)
    assert all(n.sent_at is not None and n.claim == "" for n in notes())


# 3. A server that drops mid-run.


def test_a_server_that_drops_mid_run_stops_the_run_and_loses_nothing(app, sink, caplog):
    addresses = queue_mails(10)
    sink.drop_after = 4
    first = outbox.send_pending(batch=3)
    # In batches of 3 the connection drops at the fifth mail (the second batch's second); one
    # reconnect fails, so the run stops: two claimed mails unsent, the last four never claimed.
    assert first == (4, 2)
    assert sink.connections == 2  # the first connection and one reconnect, no more
    (warning,) = mail_warnings(caplog)
    assert "stopped after 4 mails" in warning and "will retry" in warning
    rows = notes()
    assert [n.sent_at is not None for n in rows] == [True] * 4 + [False] * 6
    # The unsent mails are free again, not failed, no attempt counted.
    assert {(n.claim, n.claimed_until, n.failed_at, n.attempts) for n in rows[4:]} == {
        ("", None, None, 0)
    }
    sink.down = False  # the server is back
    assert outbox.send_pending() == (6, 0)
    assert sink.connections == 3
    assert_each_sent_once(sink, addresses)


def test_one_dropped_connection_is_reconnected_and_the_run_goes_on(app, sink, caplog):
    addresses = queue_mails(6)
    sink.drop_after, sink.down_after_drop = 2, False
    assert outbox.send_pending() == (6, 0)
    assert sink.connections == 2 and not mail_warnings(caplog)
    assert_each_sent_once(sink, addresses)


def test_a_server_that_cannot_be_reached_is_tried_twice_then_left(app, sink, caplog):
    queue_mails(5)
    sink.down = True  # answers the connection, closes it at once
    assert outbox.send_pending() == (0, 5)
    assert sink.connections == 2 and len(mail_warnings(caplog)) == 1
    assert {(n.sent_at, n.claim, n.attempts) for n in notes()} == {(None, "", 0)}


# 4. Refusals: for good (5xx) and for now (4xx); admins see failed mail and try it again.


@pytest.fixture
def refused_incident_mail(app, sink, make_user, make_team):
    """A submitted incident whose mail to the manager the server refuses for good."""
    manager = make_user(Role.MANAGER, name="Mona Manager", email="nobody@example.test")
    team = make_team("Income", manager=manager)
    victim = make_user(name="Vera Victim", team=team)
    with time_machine.travel(NOW, tick=False):
        services.save_report(
            victim,
            "outbox-token-0001",
            ReportData(
                occurred_at=NOW - timedelta(minutes=30),
                channel=Channel.COUNTER,
                types=[IncidentType.PHYSICAL],
                description=SECRET,
                affected_ids=[victim.id],
            ),
            submit=True,
        )
    sink.refuse["nobody@example.test"] = REFUSED
    return note_to("nobody@example.test")


def test_a_mail_refused_for_good_is_marked_failed_and_not_retried(
    app, sink, refused_incident_mail, caplog
):
    addresses = queue_mails(2)
    with time_machine.travel(NOW, tick=False):
        assert outbox.send_pending() == (2, 1)
    failed = note_to("nobody@example.test")
    assert (failed.sent_at, failed.failed_at, failed.attempts, failed.claim) == (None, NOW, 1, "")
    assert failed.last_error == REFUSED
    assert sink.rcpt["nobody@example.test"] == 1
    assert outbox.send_pending() == (0, 0)  # not tried again
    assert sink.rcpt["nobody@example.test"] == 1
    assert sink.received() == Counter(addresses)
    assert outbox.outbox_counts() == {"waiting": 0, "failed": 1}


def test_admins_see_failed_mail_and_try_it_again(app, sink, refused_incident_mail, login_as):
    with time_machine.travel(NOW, tick=False):
        outbox.send_pending()
    note = note_to("nobody@example.test")
    client = login_as(Role.ADMIN)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    html = page.text
    for shown in (
        "Mona Manager",
        "nobody@example.test",
        REFUSED,
        "Nieuw incident in uw team: nazorg starten",  # the kind of mail, in the admin's language
        f"/admin/mail/{note.id}/retry",
    ):
        assert shown in html, shown
    assert SECRET not in html and "Vera" not in html  # never what the incident is about
    # Without the form's token nothing happens.
    assert client.post(f"/admin/mail/{note.id}/retry", csrf=False).status_code == 400
    assert note_to("nobody@example.test").failed_at == NOW
    # With it, the mail is back in the outbox, and the admin's action is in the audit trail.
    response = client.post(f"/admin/mail/{note.id}/retry")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/mail"
    again = note_to("nobody@example.test")
    assert (again.failed_at, again.attempts, again.claim, again.claimed_until) == (
        None,
        0,
        "",
        None,
    )
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.retry")).all()
    assert [(e.object_type, e.object_id) for e in events] == [("notification", note.id)]
    # A second click changes nothing and writes no second event.
    client.post(f"/admin/mail/{note.id}/retry")
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "mail.retry")
        )
        == 1
    )
    del sink.refuse["nobody@example.test"]  # the address was fixed
    assert outbox.send_pending() == (1, 0)
    assert sink.received()["nobody@example.test"] == 1


def test_the_mail_page_shows_the_newest_200_failed_mails_and_the_counts(app, login_as, make_user):
    queue_mails(203)
    for n in notes()[:201]:
        n.failed_at, n.attempts, n.last_error = NOW + timedelta(minutes=n.id), 1, REFUSED
    db.session.commit()
    html = login_as(make_user(Role.ADMIN, locale="en")).get("/admin/mail").text
    assert html.count('action="/admin/mail/') == 200
    assert "/admin/mail/1/retry" not in html and "/admin/mail/201/retry" in html  # newest first
    assert html.index("outbox0200@") < html.index("outbox0199@")
    assert re.search(r"<dd>2</dd>\s*<dt>[^<]+</dt>\s*<dd>201</dd>", html)  # waiting, failed
    assert "The newest 200 of 201 failed mails are shown." in html
    assert "New incident in your team: aftercare to start" in html


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR], ids=lambda r: r.value)
def test_only_admins_see_the_mail_page(app, sink, refused_incident_mail, make_user, role):
    with time_machine.travel(NOW, tick=False):
        outbox.send_pending()
    note = note_to("nobody@example.test")
    anonymous = app.test_client()
    assert anonymous.get("/admin/mail").headers["Location"].startswith("/login")
    client = login(app.test_client(), make_user(role))
    assert client.get("/admin/mail").status_code == 403
    assert client.post(f"/admin/mail/{note.id}/retry").status_code == 403
    assert note_to("nobody@example.test").failed_at == NOW


def test_a_temporary_refusal_is_retried_on_each_run_until_the_limit(app, sink):
    addresses = queue_mails(3)
    busy = addresses[0]
    sink.refuse[busy] = LATER
    limit = app.config["MAIL_MAX_ATTEMPTS"]
    assert limit == 10
    # In one run the refused mail is tried once, though later batches are claimed after it.
    assert outbox.send_pending(batch=1) == (2, 1)
    assert sink.rcpt[busy] == 1
    for attempt in range(2, limit + 1):
        assert outbox.send_pending(batch=1) == (0, 1)
        note = note_to(busy)
        assert sink.rcpt[busy] == note.attempts == attempt
        assert note.last_error == LATER and note.claim == ""
        assert (note.failed_at is not None) == (attempt == limit)
    assert outbox.send_pending() == (0, 0)
    assert sink.rcpt[busy] == limit
    assert sink.received() == Counter(addresses[1:])
    assert outbox.outbox_counts() == {"waiting": 0, "failed": 1}


# 5. Claims: a crashed run's expired claim is taken over, a live run's claim is not.


def test_an_expired_claim_is_taken_and_a_live_one_is_left(app, sink):
    crashed, live, free = queue_mails(3)
    now = utcnow()
    for address, claim, until in (
        (crashed, "crashed-run", now - timedelta(minutes=1)),
        (live, "other-run", now + timedelta(minutes=10)),
    ):
        note = note_to(address)
        note.claim, note.claimed_until = claim, until
        db.session.commit()
    assert outbox.send_pending() == (2, 0)
    assert sink.received() == Counter([crashed, free])
    left = note_to(live)
    assert (left.sent_at, left.claim) == (None, "other-run")  # this run released only its own
    assert left.claimed_until == now + timedelta(minutes=10)
    with time_machine.travel(now + timedelta(minutes=11), tick=False):
        assert outbox.send_pending() == (1, 0)
    assert_each_sent_once(sink, [crashed, live, free])


def test_a_claim_is_given_up_before_its_lease_ends(app, sink):
    """A run that is slow sends no mail after its lease nearly ended: another run may have
    taken it. It claims the rest anew, with a new lease."""
    addresses = queue_mails(4)
    app.config["MAIL_LEASE_MINUTES"] = 2  # MAIL_TIMEOUT 10 s: stop 60 s before the end
    start = utcnow()
    try:
        with time_machine.travel(start, tick=False) as clock:
            sends = []

            async def slow(server, session, envelope):  # each mail takes 40 s
                clock.shift(timedelta(seconds=40))
                sends.append(utcnow())
                return await Sink.handle_DATA(sink, server, session, envelope)

            sink.handle_DATA = slow
            assert outbox.send_pending(batch=4) == (4, 0)
    finally:
        app.config["MAIL_LEASE_MINUTES"] = 15
    # Lease 120 s: mails at 40 and 80 s; at 80 s the claim is too old for a third, so the run
    # claims the other two again and sends them at 120 and 160 s.
    assert [round((t - start).total_seconds()) for t in sends] == [40, 80, 120, 160]
    assert_each_sent_once(sink, addresses)


def test_the_message_id_stays_the_same_for_one_mail(app):
    queue_mails(2)
    first, second = notes()
    with app.test_request_context():
        assert notify.compose(first).message_id == notify.compose(first).message_id
        assert notify.compose(first).message_id != notify.compose(second).message_id
        assert re.fullmatch(r"<[0-9a-f]{32}@localhost>", notify.compose(first).message_id)


def test_a_mail_that_cannot_be_composed_fails_alone(app, sink, monkeypatch):
    queue_mails(3)
    first = notes()[0].id
    real = notify.compose

    def broken_for_the_first(note):
        if note.id == first:
            raise RuntimeError("template error")
        return real(note)

    monkeypatch.setattr(notify, "compose", broken_for_the_first)
    assert outbox.send_pending() == (2, 1)
    by_id = {n.id: n for n in notes()}
    assert by_id[first].failed_at is not None and by_id[first].sent_at is None
    assert "could not be composed" in by_id[first].last_error
    assert by_id[first].claim == "" and by_id[first].claimed_until is None
    assert all(n.sent_at is not None for i, n in by_id.items() if i != first)
    # Not tried again by itself: it waits for an admin's "try again".
    assert outbox.send_pending() == (0, 0)
