"""Everyone's aftercare has an owner, and everyone follows their own incident, whatever
their role; `flask doctor` finds and repairs what slipped through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from incidents import queries, services
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Channel,
    Incident,
    IncidentType,
    Notification,
    Role,
    StepStatus,
)
from incidents.services import ReportData, doctor, ownership
from tests.conftest import login

SECRET = "He said he would wait for me outside."


def report_for(reporter, affected, token, witnesses=()):
    return services.save_report(
        reporter,
        token,
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            description=SECRET,
            affected_ids=[affected.id],
            witness_ids=[w.id for w in witnesses],
        ),
        submit=True,
    )


def steps_of(incident, person=None):
    db.session.expire_all()
    return [
        s
        for s in db.session.get_one(Incident, incident.id).steps
        if person is None or s.subject_user_id in (person.id, None)
    ]


@pytest.fixture
def coordinator(make_user, app):
    boss = make_user(Role.MANAGER, name="Coordinator")
    assert ownership.set_coordinator(None, boss) == 0
    return boss


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_a_person_without_a_team_gets_the_coordinator_and_sees_their_own(
    app, make_user, make_team, coordinator, role
):
    person = make_user(role, name="Teamless")  # HR staff, an admin, someone moved out
    colleague = make_user(team=make_team("Income", manager=make_user(Role.MANAGER)))
    incident = report_for(colleague, person, f"teamless-{role.value}-padded-token")
    steps = steps_of(incident, person)
    assert steps and {s.owner_id for s in steps} == {coordinator.id}
    queued = db.session.scalars(
        select(Notification.recipient_id).where(Notification.kind == "submitted")
    ).all()
    assert coordinator.id in queued
    # The coordinator's inbox lists the steps (they own them: their own tab).
    groups, _ = queries.inbox_page(coordinator, queries.InboxTab.MINE, "open", datetime.now(UTC))
    assert {s.id for s in steps} <= {s.id for g in groups for s in g.steps}
    # The person follows their own incident and aftercare, whatever their role.
    client = login(app.test_client(), person)
    page = client.get(f"/incidents/{incident.id}")
    assert page.status_code == 200 and SECRET in page.text
    assert f"/incidents/{incident.id}" in client.get("/incidents").text


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admins_see_their_own_incidents_and_no_other(app, make_user, make_team, role):
    person = make_user(role)
    team = make_team("Income", manager=make_user(Role.MANAGER))
    colleague, other = make_user(team=team), make_user(team=team)
    own = report_for(colleague, person, f"own-{role.value}-padded-token-1")
    witnessed = report_for(colleague, other, f"wit-{role.value}-padded-token-1", [person])
    not_theirs = report_for(colleague, other, f"not-{role.value}-padded-token-1")
    client = login(app.test_client(), person)
    assert client.get(f"/incidents/{own.id}").status_code == 200
    limited = client.get(f"/incidents/{witnessed.id}")
    assert limited.status_code == 200 and SECRET not in limited.text  # a witness's view
    assert client.get(f"/incidents/{not_theirs.id}").status_code == 404
    assert client.get(f"/incidents/{not_theirs.id}/edit").status_code == 404
    # They may report what happened to them, like anyone.
    form = client.get("/incidents/new", follow_redirects=True)
    assert form.status_code == 200


def test_without_a_coordinator_steps_wait_and_the_admin_is_told(app, make_user, make_team):
    person = make_user(Role.HR, name="Hanna")
    colleague = make_user(team=make_team("Income", manager=make_user(Role.MANAGER)))
    incident = report_for(colleague, person, "no-coordinator-padded-token")
    waiting = steps_of(incident, person)
    assert waiting and all(s.owner_id is None for s in waiting)
    admin = login(app.test_client(), make_user(Role.ADMIN))
    page = admin.get("/admin/aftercare-owners").text
    assert "open aftercare steps have no owner" in page or "geen eigenaar" in page
    assert "Hanna" in page  # listed among the people without a team
    found = doctor.examine()
    assert set(found.unowned) == {s.id for s in waiting}
    # Choosing the coordinator gives them every waiting step, and tells them.
    boss = make_user(Role.MANAGER, name="Chosen")
    response = admin.post("/admin/aftercare-owners", data={"coordinator": str(boss.id)})
    assert response.status_code == 302
    assert {s.owner_id for s in steps_of(incident, person)} == {boss.id}
    assigned = db.session.scalars(select(Notification).where(Notification.kind == "assigned")).all()
    assert {n.step_id for n in assigned} == {s.id for s in waiting}
    assert all(n.recipient_id == boss.id for n in assigned)
    assert doctor.examine().unowned == []
    # Only an active manager can coordinate.
    refused = admin.post("/admin/aftercare-owners", data={"coordinator": str(person.id)})
    assert refused.status_code == 200
    chosen = ownership.coordinator()
    assert chosen is not None and chosen.id == boss.id


def test_a_team_whose_manager_left_goes_to_the_coordinator(app, make_user, make_team, coordinator):
    boss = make_user(Role.MANAGER)
    team = make_team("Income", manager=boss)
    victim = make_user(team=team)
    services.set_active(make_user(Role.ADMIN), boss, False)
    incident = report_for(victim, victim, "manager-left-padded-token")
    assert {s.owner_id for s in steps_of(incident, victim)} == {coordinator.id}
    admin = login(app.test_client(), make_user(Role.ADMIN))
    assert "Income" in admin.get("/admin/aftercare-owners").text


def test_a_manager_affected_in_their_own_team_is_not_their_own_owner(
    app, make_user, make_team, coordinator
):
    boss, deputy = make_user(Role.MANAGER), make_user(Role.MANAGER)
    team = make_team("Income", manager=boss, deputy=deputy)
    services.update_user(None, boss, email=boss.email, name=boss.name, role=Role.MANAGER, team=team)
    incident = report_for(boss, boss, "own-manager-padded-token")
    assert {s.owner_id for s in steps_of(incident, boss)} == {deputy.id}


def test_doctor_finds_and_repairs_what_must_never_happen(app, make_user, make_team, coordinator):
    boss = make_user(Role.MANAGER)
    victim = make_user(team=make_team("Income", manager=boss))
    stuck = report_for(victim, victim, "doctor-stuck-padded-token")
    reopened = report_for(victim, victim, "doctor-open-padded-token")
    unowned = report_for(victim, victim, "doctor-unowned-padded-token")
    # Damage the data as a crash or an old bug would have.
    with services.transaction():
        for step in db.session.get_one(Incident, stuck.id).steps:
            step.status, step.done_at = StepStatus.DONE, datetime.now(UTC)
        db.session.get_one(Incident, reopened.id).closed_at = datetime.now(UTC)
        db.session.get_one(Incident, unowned.id).steps[0].owner_id = None
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE stat_tally SET count = count + 3")
    check = app.test_cli_runner().invoke(args=["doctor"])
    assert check.exit_code == 1, check.output
    assert f"incidents {stuck.id}" in check.output and f"incidents {reopened.id}" in check.output
    assert "without an owner" in check.output and "differ" in check.output
    fixed = app.test_cli_runner().invoke(args=["doctor", "--repair"])
    assert fixed.exit_code == 0, fixed.output
    assert "closed 1, reopened 1, owners 1" in fixed.output
    db.session.expire_all()
    assert db.session.get_one(Incident, stuck.id).closed_at is not None
    assert db.session.get_one(Incident, reopened.id).closed_at is None
    step = db.session.get_one(Incident, unowned.id).steps[0]
    assert step.owner_id == boss.id  # the victim's own manager, found again
    again = app.test_cli_runner().invoke(args=["doctor"])
    assert again.exit_code == 0 and "nothing to repair" in again.output
    assert db.session.scalar(select(AftercareStep).where(AftercareStep.owner_id.is_(None))) is None
