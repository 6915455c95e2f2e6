"""Leavers and movers: when an account is deactivated, loses the manager role, stops managing a
team or moves team, every open step it held or that is about it gets the owner now in line,
who is told; nothing stays with someone who cannot do it. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from incidents import services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    AuditEvent,
    Channel,
    IncidentType,
    Notification,
    Role,
    StepStatus,
    User,
)
from incidents.services import ReportData, aftercare, doctor, ownership


def report_for(reporter, affected, token, witnesses=()):
    return services.save_report(
        reporter,
        token,
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description="He pushed me.",
            affected_ids=[affected.id],
            witness_ids=[w.id for w in witnesses],
        ),
        submit=True,
    )


def open_steps(**where):
    db.session.expire_all()
    query = select(AftercareStep).where(AftercareStep.status == StepStatus.OPEN)
    for name, value in where.items():
        query = query.where(getattr(AftercareStep, name) == value)
    return db.session.scalars(query.order_by(AftercareStep.id)).all()


def mails(kind, recipient):
    return db.session.scalars(
        select(Notification).where(
            Notification.kind == kind, Notification.recipient_id == recipient.id
        )
    ).all()


@pytest.fixture
def org(make_user, make_team):
    boss, deputy, head = (make_user(Role.MANAGER) for _ in range(3))
    other_boss = make_user(Role.MANAGER)
    department = make_team("Department", manager=head)
    income = make_team("Income", parent=department, manager=boss, deputy=deputy)
    front = make_team("Front", parent=department, manager=other_boss)
    victim = make_user(team=income)
    witness = make_user(team=income)
    incidents = [report_for(victim, victim, f"leaver-{n}-padded-token", [witness]) for n in (1, 2)]
    return {
        "boss": boss,
        "deputy": deputy,
        "head": head,
        "other_boss": other_boss,
        "income": income,
        "front": front,
        "department": department,
        "victim": victim,
        "witness": witness,
        "incidents": incidents,
    }


def test_a_leavers_open_steps_go_to_the_deputy_who_is_told(org, make_user):
    admin = make_user(Role.ADMIN)
    held = open_steps(owner_id=org["boss"].id)
    assert len(held) >= 8  # two incidents' victim, witness and incident steps
    services.set_active(admin, org["boss"], False)
    assert open_steps(owner_id=org["boss"].id) == []
    assert {s.owner_id for s in open_steps(incident_id=org["incidents"][0].id)} == {
        org["deputy"].id
    }
    told = {n.step_id for n in mails("assigned", org["deputy"])}
    assert told >= {s.id for s in held}
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.STEP_OWNER)
    ).all()
    assert {e.object_id for e in events} == {s.id for s in held}
    assert all(e.details["reason"] == "owner_left" for e in events)
    assert all(e.details["previous"] == org["boss"].id for e in events)
    left = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.USER_DEACTIVATE)
    ).one()
    assert left.details == {"steps_handed_over": len(held)}


def test_without_a_deputy_the_manager_above_then_the_coordinator_then_nobody(org, make_user):
    services.update_team(
        None,
        org["income"],
        name_nl=org["income"].name_nl,
        name_en=org["income"].name_en,
        parent=org["department"],
        manager=org["boss"],
        deputy=None,
    )
    services.set_active(None, org["boss"], False)
    assert {s.owner_id for s in open_steps(team_id=org["income"].id)} == {org["head"].id}
    # The head leaves too: the coordinator takes over; without one the steps wait, owner-less.
    services.set_active(None, org["head"], False)
    assert {s.owner_id for s in open_steps(team_id=org["income"].id)} == {None}
    assert ownership.gaps().unowned_steps == len(open_steps(team_id=org["income"].id))
    coordinator = make_user(Role.MANAGER)
    ownership.set_coordinator(None, coordinator)
    assert {s.owner_id for s in open_steps(team_id=org["income"].id)} == {coordinator.id}
    inactive = set(db.session.scalars(select(User.id).where(~User.active)))
    assert not any(s.owner_id in inactive for s in open_steps())
    assert doctor.examine().unowned == []


def test_a_mover_takes_their_own_aftercare_to_their_new_manager(org):
    victim = org["victim"]
    own = {s.id for s in open_steps(subject_user_id=victim.id)}
    assert own
    services.update_user(
        None, victim, email=victim.email, name=victim.name, role=Role.EMPLOYEE, team=org["front"]
    )
    assert {s.owner_id for s in open_steps(subject_user_id=victim.id)} == {org["other_boss"].id}
    assert {s.team_id for s in open_steps(subject_user_id=victim.id)} == {org["front"].id}
    # The witness stayed: their steps stay with their own manager.
    assert {s.owner_id for s in open_steps(subject_user_id=org["witness"].id)} == {org["boss"].id}
    assert len(mails("aftercare_moved", victim)) == 1
    assert {n.step_id for n in mails("assigned", org["other_boss"])} >= own


def test_a_former_manager_hands_the_teams_steps_to_the_new_one(org, make_user):
    successor = make_user(Role.MANAGER)
    services.update_team(
        None,
        org["income"],
        name_nl=org["income"].name_nl,
        name_en=org["income"].name_en,
        parent=org["department"],
        manager=successor,
        deputy=org["deputy"],
    )
    assert open_steps(owner_id=org["boss"].id) == []
    assert {s.owner_id for s in open_steps(team_id=org["income"].id)} == {successor.id}


def test_a_step_handed_to_another_manager_stays_while_they_run_it(org):
    step = open_steps(owner_id=org["boss"].id)[0]
    aftercare.hand_step(org["boss"], step, org["other_boss"])
    # The boss stops being manager: only the steps the boss still held move.
    services.update_user(
        None,
        org["boss"],
        email=org["boss"].email,
        name=org["boss"].name,
        role=Role.EMPLOYEE,
        team=None,
    )
    assert db.session.get_one(AftercareStep, step.id).owner_id == org["other_boss"].id
    assert open_steps(owner_id=org["boss"].id) == []


def test_reactivating_changes_no_owner(org):
    services.set_active(None, org["boss"], False)
    before = {s.id: s.owner_id for s in open_steps()}
    services.set_active(None, org["boss"], True)
    assert {s.id: s.owner_id for s in open_steps()} == before


def test_a_report_that_raced_the_deactivation_is_handed_over_by_remind(app, org):
    # The report read the manager as active just before the deactivation committed: its steps
    # were planned for the leaver. (Written directly: the race itself cannot be timed here.)
    services.set_active(None, org["boss"], False)
    stranded = report_for(org["victim"], org["victim"], "raced-leaver-padded-token")
    with services.transaction():
        for step in open_steps(incident_id=stranded.id):
            step.owner_id = org["boss"].id
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    assert "handed over" in result.output
    assert {s.owner_id for s in open_steps(incident_id=stranded.id)} == {org["deputy"].id}
    again = app.test_cli_runner().invoke(args=["remind"])
    assert "handed over" not in again.output
