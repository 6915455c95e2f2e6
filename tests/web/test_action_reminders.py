"""A corrective action through its whole life with a frozen clock: created, due within a
day, overdue, escalated once to the owner's own manager, closed, "did it work?" to the owner
and the team's manager when the review date comes, reviewed. Each mail names no incident
and not what the action says: only that there is one, its deadline and a link."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from incidents import notify
from incidents.extensions import db
from incidents.models import ActionState, AuditEvent, Notification
from incidents.services import actions
from tests.web.action_helpers import WHAT, fresh, new_action
from tests.web.measure_helpers import TODAY, submit


def at(traveller, day: date, hour: int = 7) -> datetime:
    moment = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
    traveller.move_to(moment)
    return moment


def mails(kind_prefix: str = "action_") -> list[tuple[str, int]]:
    db.session.expire_all()
    return sorted(
        (n.kind, n.recipient_id)
        for n in db.session.scalars(select(Notification)).all()
        if n.kind.startswith(kind_prefix)
    )


def run(now: datetime) -> None:
    notify.queue_due(now)
    db.session.commit()


def test_the_whole_life_of_an_action(app, action_org, march_10):
    org = action_org
    incident = submit(org, perpetrator="Karel Geheim")
    fay, boss = org["facility"].id, org["boss"].id
    action = new_action(org, incident, due_on=date(2026, 3, 17))
    assert mails() == [("action_assigned", fay)]  # in her list now, and told so
    run(at(march_10, TODAY, 9))
    assert mails() == [("action_assigned", fay)]  # a week to go: nothing yet

    # Due within a day: the owner is reminded, once, however often the run goes.
    run(at(march_10, date(2026, 3, 16)))
    run(at(march_10, date(2026, 3, 16), 12))
    assert mails() == [("action_assigned", fay), ("action_due", fay)]
    run(at(march_10, date(2026, 3, 17), 20))  # the deadline day itself: not overdue yet
    assert ("action_overdue", fay) not in mails()

    # Overdue the day after; after ESCALATE_AFTER_DAYS more days, to her own manager: once.
    run(at(march_10, date(2026, 3, 18)))
    assert ("action_overdue", fay) in mails() and ("action_escalated", boss) not in mails()
    run(at(march_10, date(2026, 3, 20)))  # 3 days overdue: not yet more than 3
    assert ("action_escalated", boss) not in mails()
    escalation = at(march_10, date(2026, 3, 21))
    run(escalation)
    run(at(march_10, date(2026, 3, 22)))
    assert mails().count(("action_escalated", boss)) == 1
    assert fresh(action).escalated_at == escalation

    # Closed with what was done; the review is asked three months later, not before.
    actions.close(org["facility"], action.id, 0, done_on=date(2026, 3, 22), note="Deur geplaatst.")
    assert fresh(action).review_due_on == date(2026, 6, 22)
    run(at(march_10, date(2026, 6, 21)))
    assert not [m for m in mails() if m[0] == "action_review"]
    run(at(march_10, date(2026, 6, 22)))
    run(at(march_10, date(2026, 6, 23)))
    assert [m for m in mails() if m[0] == "action_review"] == sorted(
        [("action_review", fay), ("action_review", boss)]
    )
    actions.review(org["facility"], action.id, 1, result="worked", note="")
    action = fresh(action)
    assert action.state == ActionState.REVIEWED and action.review_result == "worked"
    before = len(mails())
    run(at(march_10, date(2026, 7, 1)))
    assert len(mails()) == before  # a reviewed action is done with
    trail = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "correctiveaction")
    ).all()
    assert trail == ["action.create", "action.close", "action.review"]

    # What the mails say: a link to the action, its deadline; never what it says or the incident.
    notes = db.session.scalars(select(Notification).where(Notification.kind.like("action_%"))).all()
    with app.test_request_context():
        for note in notes:
            mail = notify.compose(note)
            for text in (mail.text, mail.html):
                assert f"/actions/{action.id}" in text
                assert WHAT not in text and "Deur geplaatst" not in text
                assert (incident.number or "-") not in text and "Karel Geheim" not in text
            if note.kind in ("action_due", "action_overdue", "action_escalated"):
                assert "17-03-2026" in mail.text or "17/03/2026" in mail.text


def test_an_action_agreed_within_its_last_day_gets_no_due_reminder(app, action_org, march_10):
    org = action_org
    new_action(org, due_on=date(2026, 3, 11))  # agreed on the 10th, due the 11th
    run(at(march_10, TODAY, 12))
    run(at(march_10, date(2026, 3, 11)))
    assert [m[0] for m in mails()] == ["action_assigned"]


def test_a_new_deadline_gets_its_own_reminders_and_escalation(app, action_org, march_10):
    org = action_org
    fay, boss = org["facility"].id, org["boss"].id
    action = new_action(org, due_on=date(2026, 3, 11))
    run(at(march_10, date(2026, 3, 16)))
    assert fresh(action).escalated_at is not None
    assert mails().count(("action_escalated", boss)) == 1
    actions.change(org["boss"], action.id, 0, owner_id=fay, due_on=date(2026, 3, 20))
    assert fresh(action).escalated_at is None
    run(at(march_10, date(2026, 3, 18)))
    assert mails().count(("action_overdue", fay)) == 1  # not overdue again yet
    run(at(march_10, date(2026, 3, 19)))
    assert mails().count(("action_due", fay)) == 1
    run(at(march_10, date(2026, 3, 25)))
    assert mails().count(("action_overdue", fay)) == 2
    assert mails().count(("action_escalated", boss)) == 2


def test_an_owner_without_a_manager_above_is_not_escalated_to_anyone(app, action_org, march_10):
    org = action_org
    action = new_action(org, owner="head", due_on=TODAY)
    run(at(march_10, date(2026, 3, 20)))
    assert ("action_overdue", org["head"].id) in mails()
    assert not [m for m in mails() if m[0] == "action_escalated"]
    assert fresh(action).escalated_at is None
