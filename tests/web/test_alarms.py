"""The alarm provider's webhook, `POST /api/alarms`: signature, replay, rotation, idempotency,
bad input, a race of the same event, and users who left. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from incidents import notify, services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AlarmEvent,
    AuditAction,
    AuditEvent,
    Channel,
    Incident,
    IncidentStatus,
    IncidentType,
    Notification,
    PersonRole,
    Role,
    StepStatus,
)
from incidents.rules import StepKind
from incidents.services import ReportData, ServiceError, aftercare, alarms
from incidents.services.aftercare import StepResult

SECRET = "alarm-secret-for-tests"
OLD_SECRET = "alarm-secret-being-rotated-out"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
URL = "/api/alarms"


@pytest.fixture(autouse=True)
def configured(app):
    app.config["ALARM_WEBHOOK_SECRET"] = [SECRET, OLD_SECRET]
    yield
    app.config["ALARM_WEBHOOK_SECRET"] = []


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def event(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": "evt-1",
        "user": "alarm.user@example.test",
        "triggered_at": "2026-03-10T10:05:00+01:00",
        "location": "interview room 2",
        "device": "button-17",
    }
    body.update(overrides)
    return body


def send(
    client,
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    at: datetime | None = None,
    signature: str | None = None,
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    return client.post(
        URL,
        data=raw,
        csrf=False,
        content_type="application/json",
        headers={
            "X-Incidents-Timestamp": timestamp,
            "X-Incidents-Signature": signature or alarms.signature(secret, timestamp, raw),
        },
    )


@pytest.fixture
def employee(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    team = make_team("Income", manager=boss)
    return make_user(email="alarm.user@example.test", name="Alarm User", team=team)


def test_an_alarm_becomes_a_draft_with_the_alarm_recorded(client, employee, frozen):
    response = send(client, event())
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    incident = db.session.get(Incident, answer["id"])
    assert incident is not None and incident.status == IncidentStatus.DRAFT
    assert incident.reporter_id == employee.id
    assert incident.occurred_at == datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
    assert incident.location == "interview room 2"
    assert [p.user_id for p in incident.people_in(PersonRole.AFFECTED)] == [employee.id]
    alarm = db.session.scalar(select(AlarmEvent))
    assert alarm is not None
    assert (alarm.provider_event_id, alarm.incident_id, alarm.device) == (
        "evt-1",
        incident.id,
        "button-17",
    )
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert AuditAction.ALARM_RECEIVE in actions
    mails = db.session.scalars(select(Notification).where(Notification.kind == "alarm")).all()
    assert [m.recipient_id for m in mails] == [employee.id]


def test_the_same_event_again_gives_the_same_draft(client, employee, frozen):
    first = send(client, event())
    again = send(client, event(location="somewhere else"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["created"] is False
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 1


def test_an_old_secret_still_works_during_rotation(client, employee, frozen):
    assert send(client, event(), secret=OLD_SECRET).status_code == 201


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha256=" + "0" * 64, "md5=abc", "sha256=" + "é" * 64],
    ids=["missing", "empty", "wrong", "other-scheme", "not-ascii"],
)
def test_a_bad_signature_is_401(client, employee, frozen, signature):
    raw = json.dumps(event()).encode()
    timestamp = str(int(NOW.timestamp()))
    response = client.post(
        URL,
        data=raw,
        csrf=False,
        content_type="application/json",
        headers={"X-Incidents-Timestamp": timestamp, "X-Incidents-Signature": signature},
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "bad_signature"
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_secret_that_is_not_valid_is_401(client, employee, frozen):
    assert send(client, event(), secret="guessed").status_code == 401


def test_no_secret_configured_refuses_everything(app, client, employee, frozen):
    app.config["ALARM_WEBHOOK_SECRET"] = []
    assert send(client, event()).status_code == 401
    app.config["ALARM_WEBHOOK_SECRET"] = ""
    assert send(client, event(), secret="").status_code == 401


def test_one_secret_as_a_plain_string_works(app, client, employee, frozen):
    app.config["ALARM_WEBHOOK_SECRET"] = SECRET
    assert send(client, event()).status_code == 201


def test_the_body_is_signed_not_just_the_timestamp(client, employee, frozen):
    raw = json.dumps(event()).encode()
    timestamp = str(int(NOW.timestamp()))
    signed = alarms.signature(SECRET, timestamp, raw)
    tampered = json.dumps(event(user="someone.else@example.test")).encode()
    response = client.post(
        URL,
        data=tampered,
        csrf=False,
        content_type="application/json",
        headers={"X-Incidents-Timestamp": timestamp, "X-Incidents-Signature": signed},
    )
    assert response.status_code == 401


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_stale_or_future_timestamp_is_401(client, employee, frozen, offset):
    assert send(client, event(), at=NOW + offset).status_code == 401


def test_a_timestamp_within_five_minutes_is_accepted(client, employee, frozen):
    assert send(client, event(), at=NOW - timedelta(minutes=4, seconds=59)).status_code == 201


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1e9", "9" * 40, " "])
def test_a_timestamp_that_is_not_unix_seconds_is_401(client, employee, frozen, timestamp):
    raw = json.dumps(event()).encode()
    response = client.post(
        URL,
        data=raw,
        csrf=False,
        content_type="application/json",
        headers={
            "X-Incidents-Timestamp": timestamp,
            "X-Incidents-Signature": alarms.signature(SECRET, timestamp, raw),
        },
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("email", "reason"),
    [("nobody@example.test", "unknown_user"), ("left@example.test", "inactive_user")],
)
def test_an_unknown_or_inactive_user_is_422_with_a_reason(
    client, make_user, employee, frozen, email, reason
):
    left = make_user(email="left@example.test")
    services.set_active(None, left, False)
    response = send(client, event(user=email))
    assert response.status_code == 422
    assert response.get_json()["error"] == reason
    assert response.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.ALARM_REFUSED)
    ).all()
    assert [e.details["reason"] for e in refused] == [reason]


def test_the_e_mail_address_is_matched_without_case(client, employee, frozen):
    assert send(client, event(user="  Alarm.User@Example.TEST ")).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"text"',
        b"null",
        b"[" * 5000,  # nested deeper than the parser goes
        json.dumps(
            {"user": "alarm.user@example.test", "triggered_at": "2026-03-10T10:05"}
        ).encode(),
        json.dumps(event(id="")).encode(),
        json.dumps(event(id=17)).encode(),
        json.dumps(event(user=["a"])).encode(),
        json.dumps(event(triggered_at="yesterday")).encode(),
        json.dumps(event(triggered_at="2026-03-10T10:05:00")).encode(),  # no offset
        json.dumps(event(triggered_at="2026-03-10T12:00:00+01:00")).encode(),  # future
        json.dumps(event(triggered_at="1970-01-01T00:00:00Z")).encode(),
        json.dumps(event(triggered_at="0001-01-01T00:00:00+14:00")).encode(),
        json.dumps(event(location="x" * 201)).encode(),
        json.dumps(event(location="room\x002")).encode(),
        json.dumps(event(device={"a": 1})).encode(),
    ],
)
def test_malformed_input_is_400_never_500(client, employee, frozen, body):
    response = send(client, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "bad_request"
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_body_of_10_mb_is_413(client, employee, frozen):
    raw = b'{"id": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = send(client, raw)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_the_webhook_needs_no_session_and_no_form_token(client, employee, frozen):
    """Public for the guard and exempt from CSRF: the signature is the credential."""
    response = send(client, event())
    assert response.status_code == 201


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405


def test_the_employee_sees_the_draft_on_the_home_page(client, employee, frozen, login_as):
    send(client, event())
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        page = login_as(employee).get("/").get_data(as_text=True)
    assert "Alarm om 10:05 (interview room 2): vul uw melding aan" in page or (
        "Alarm at 10:05 (interview room 2): complete your report" in page
    )


def test_the_location_on_the_home_page_is_escaped(client, employee, frozen, login_as):
    send(client, event(location="<b>room</b>"))
    page = login_as(employee).get("/").get_data(as_text=True)
    assert "<b>room</b>" not in page and "&lt;b&gt;room&lt;/b&gt;" in page


def test_a_discarded_alarm_draft_keeps_its_alarm(client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    services.discard_draft(employee, _incident(incident_id))
    alarm = db.session.scalar(select(AlarmEvent))
    assert alarm is not None and alarm.incident_id is None
    again = send(client, event())
    assert again.status_code == 200 and again.get_json()["id"] is None
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def deliver_together(app, raw: bytes, times: int = 2) -> list[tuple[int, Any]]:
    """Post the same signed body `times` times at once: threads released by a barrier, each
    with its own client, app context and database connection."""
    barrier = threading.Barrier(times)
    answers: list[tuple[int, Any]] = [(0, None)] * times

    def deliver(index: int) -> None:
        client = app.test_client()
        timestamp = str(int(datetime.now(UTC).timestamp()))
        headers = {
            "X-Incidents-Timestamp": timestamp,
            "X-Incidents-Signature": alarms.signature(SECRET, timestamp, raw),
        }
        barrier.wait(timeout=20)
        response = client.post(
            URL, data=raw, csrf=False, content_type="application/json", headers=headers
        )
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return answers


def test_the_same_event_twice_at_once_gives_one_draft(app, employee):
    """Two deliveries of one event released together: one draft, and both answers name it.
    Repeated, so a missing guard shows on one of the rounds."""
    db.session.commit()
    for round_ in range(4):
        answers = deliver_together(app, json.dumps(event(id=f"race-{round_}")).encode())
        assert sorted(status for status, _ in answers) == [200, 201], answers
        assert answers[0][1]["id"] == answers[1][1]["id"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AlarmEvent)) == 4
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 4
    assert db.session.scalar(select(func.count()).select_from(AftercareStep)) == 4


# --- The manager's contact step, before and after the report is completed -----------------


def _incident(incident_id: int) -> Incident:
    db.session.expire_all()
    incident = db.session.get(Incident, incident_id)
    assert incident is not None
    return incident


def _steps(incident_id: int) -> list[AftercareStep]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AftercareStep).where(AftercareStep.incident_id == incident_id))
    )


def test_the_manager_gets_the_contact_step_at_once(client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    steps = _steps(incident_id)
    assert [(s.kind, s.subject_user_id, s.status) for s in steps] == [
        (StepKind.CONTACT, employee.id, StepStatus.OPEN)
    ]
    boss = employee.team.manager
    assert steps[0].owner_id == boss.id
    # Due the same working day: 10 March 2026 is a Tuesday.
    assert steps[0].due_at.astimezone(UTC).date() == NOW.date()
    assigned = db.session.scalars(
        select(Notification.recipient_id).where(Notification.kind == "assigned")
    ).all()
    assert assigned == [boss.id]


def test_submitting_the_alarm_draft_keeps_its_one_contact_step(client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    incident = _incident(incident_id)
    data = ReportData(
        occurred_at=incident.occurred_at,
        channel=Channel.INTERVIEW_ROOM,
        types=[IncidentType.VERBAL],
        location="interview room 2",
        description="Shouted at me.",
        affected_ids=[employee.id],
    )
    services.complete_draft(employee, incident, data, submit=True, version=None)
    contact = [s for s in _steps(incident_id) if s.kind == StepKind.CONTACT]
    assert len(contact) == 1
    assert _incident(incident_id).status == IncidentStatus.SUBMITTED


def test_a_done_contact_step_does_not_close_the_draft(client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    (step,) = _steps(incident_id)
    aftercare.complete_step(
        employee.team.manager,
        step,
        StepResult(outcomes=["held"], held_on=NOW.date()),
        step.attempts,
    )
    incident = _incident(incident_id)
    assert incident.is_draft and incident.closed_at is None
    assert _steps(incident_id)[0].status == StepStatus.DONE


def test_the_manager_sees_the_step_but_not_the_draft(client, employee, frozen, login_as):
    incident_id = send(client, event(location="secret room")).get_json()["id"]
    (step,) = _steps(incident_id)
    manager = login_as(employee.team.manager)
    page = manager.get(f"/aftercare/steps/{step.id}")
    assert page.status_code == 200
    assert "secret room" not in page.get_data(as_text=True)
    assert manager.get(f"/incidents/{incident_id}").status_code in (403, 404)


def test_an_alarm_draft_with_recorded_aftercare_cannot_be_discarded(client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    (step,) = _steps(incident_id)
    aftercare.complete_step(
        employee.team.manager, step, StepResult(outcomes=["held"], held_on=NOW.date()), 0
    )
    with pytest.raises(ServiceError):
        services.discard_draft(employee, _incident(incident_id))
    assert _incident(incident_id) is not None


# --- Reminders -----------------------------------------------------------------------------


def _queued(kind: str) -> list[int]:
    return list(
        db.session.scalars(select(Notification.recipient_id).where(Notification.kind == kind))
    )


def test_an_unfinished_alarm_draft_reminds_the_employee_then_the_manager(client, employee, frozen):
    send(client, event())
    boss = employee.team.manager
    notify.queue_due(NOW + timedelta(hours=25))
    db.session.commit()
    assert _queued("draft") == [employee.id]
    assert _queued("alarm_pending") == []
    for _round in range(2):  # the second run adds nothing
        notify.queue_due(NOW + timedelta(hours=49))
        db.session.commit()
        assert _queued("alarm_pending") == [boss.id]


def test_a_completed_alarm_report_reminds_nobody(client, employee, frozen):
    incident = _incident(send(client, event()).get_json()["id"])
    data = ReportData(
        occurred_at=incident.occurred_at,
        channel=Channel.INTERVIEW_ROOM,
        types=[IncidentType.VERBAL],
        description="Shouted at me.",
        affected_ids=[employee.id],
    )
    services.complete_draft(employee, incident, data, submit=True, version=None)
    notify.queue_due(NOW + timedelta(hours=49))
    db.session.commit()
    assert _queued("draft") == [] and _queued("alarm_pending") == []


def test_the_alarm_mails_read_and_link_well(app, client, employee, frozen):
    incident_id = send(client, event()).get_json()["id"]
    notify.queue_due(NOW + timedelta(hours=49))
    db.session.commit()
    notes = db.session.scalars(
        select(Notification).where(Notification.kind.in_(["alarm", "alarm_pending"]))
    ).all()
    assert len(notes) == 2
    with app.test_request_context():
        mails = {note.kind: notify.compose(note) for note in notes}
    assert f"/incidents/{incident_id}/edit" in mails["alarm"].text
    assert "/aftercare/steps/" in mails["alarm_pending"].text
    assert "interview room 2" not in mails["alarm"].text + mails["alarm_pending"].text


# --- The admin's page ----------------------------------------------------------------------


def test_the_admin_sees_the_endpoint_and_the_last_events(client, employee, frozen, login_as):
    send(client, event(id="evt-ok", location="interview room 2"))
    send(client, event(id="evt-nobody", user="nobody@example.test"))
    page = login_as(Role.ADMIN).get("/admin/alarms").get_data(as_text=True)
    assert "/api/alarms" in page
    assert "evt-ok" in page and "evt-nobody" in page
    assert "button-17" in page
    # The admin sees no incidents: not who, not where.
    assert "Alarm User" not in page and "interview room 2" not in page
    assert SECRET not in page and OLD_SECRET not in page


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR])
def test_only_admins_open_the_alarm_page(login_as, role):
    assert login_as(role).get("/admin/alarms").status_code == 403


def test_the_employee_opens_the_alarm_draft_with_time_and_place_filled_in(
    client, employee, frozen, login_as
):
    incident_id = send(client, event()).get_json()["id"]
    page = login_as(employee).get(f"/incidents/{incident_id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="interview room 2"' in html
    assert "10:05" in html


# --- statistics ---------------------------------------------------------------------------------


def _alarm(employee, event_id: str, moment: datetime) -> Incident:
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        found, _new = alarms.receive_alarm(
            alarms.Alarm(event_id, employee.email, moment, "interview room 2")
        )
    assert found.incident_id is not None
    return _incident(found.incident_id)


def _complete(employee, draft: Incident, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        services.complete_draft(
            employee,
            draft,
            ReportData(
                occurred_at=draft.occurred_at,
                channel=Channel.COUNTER,
                types=[IncidentType.THREAT],
                description="The alarm.",
                affected_ids=[employee.id],
            ),
            submit=True,
            version=None,
        )


def test_statistics_count_alarms_and_those_without_a_completed_report(employee):
    """By quarter of the alarm in the organisation's time: a report completed before the month
    was published counts as completed; one completed later, a draft never completed and a
    discarded draft count as without; an alarm on 1 April after midnight (still 31 March in
    UTC) is the second quarter's."""
    from incidents.stats import queries

    zone = ZoneInfo("Europe/Amsterdam")
    in_time = _alarm(employee, "q1-in-time", datetime(2026, 2, 3, 10, tzinfo=zone))
    _complete(employee, in_time, datetime(2026, 2, 3, 12, tzinfo=zone))
    late = _alarm(employee, "q1-late", datetime(2026, 2, 20, 10, tzinfo=zone))
    _complete(employee, late, datetime(2026, 4, 1, 9, tzinfo=zone))  # February closed on 8 March
    _alarm(employee, "q1-never", datetime(2026, 3, 31, 23, 30, tzinfo=zone))
    discarded = _alarm(employee, "q1-discarded", datetime(2026, 1, 5, 10, tzinfo=zone))
    with time_machine.travel(datetime(2026, 1, 5, 11, tzinfo=zone), tick=False):
        services.discard_draft(employee, discarded)
    _alarm(employee, "q2-after-midnight", datetime(2026, 4, 1, 0, 30, tzinfo=zone))
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    assert queries.alarms(months) == {"2026-Q1": (4, 1), "2026-Q2": (1, 0)}
    assert queries.alarms(months[3:]) == {"2026-Q2": (1, 0)}
