"""Admin pages: users and teams, managers and deputies, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incidents.extensions import db
from incidents.models import AuditEvent, Incident, Role, Team, User
from incidents.services.demo import DEMO_ACCOUNTS
from tests.conftest import PASSWORD, form_errors


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN)


def new_user_data(**overrides):
    data = {
        "name": "Nina New",
        "email": "nina@example.test",
        "role": "employee",
        "team": "0",
    }
    data.update(overrides)
    return data


def test_create_user(admin_client, make_team):
    team = make_team("Income")
    response = admin_client.post("/admin/users/new", data=new_user_data(team=str(team.id)))
    assert response.status_code == 302, form_errors(response.text)
    user = db.session.scalar(select(User).where(User.email == "nina@example.test"))
    assert user is not None
    assert user.role == Role.EMPLOYEE and user.team_id == team.id and user.active
    assert user.password_hash.startswith("$argon2id$")
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.create", AuditEvent.object_id == user.id
        )
    )
    assert "Nina New" in admin_client.get("/admin/users").text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a" * 250 + "@example.test"}, "email"),
        ({"role": "superuser"}, "role"),
        ({"team": "99999"}, "team"),
        ({"team": "abc"}, "team"),
    ],
)
def test_create_user_rejects_bad_input_next_to_the_field(admin_client, overrides, field):
    before = count(User)
    response = admin_client.post("/admin/users/new", data=new_user_data(**overrides))
    assert response.status_code == 200
    assert field in form_errors(response.text)
    assert count(User) == before
    # What was typed is kept.
    if field != "name":
        assert "Nina New" in response.text


def test_duplicate_email_is_refused_case_insensitively(admin_client, make_user):
    make_user(email="taken@example.test")
    before = count(User)
    response = admin_client.post("/admin/users/new", data=new_user_data(email="TAKEN@example.test"))
    assert response.status_code == 200
    assert "email" in form_errors(response.text)
    assert count(User) == before


def test_script_in_a_name_is_stored_as_typed_and_shown_escaped(admin_client):
    name = '<script>alert("x")</script>'
    admin_client.post("/admin/users/new", data=new_user_data(name=name))
    assert db.session.scalar(select(User.name).where(User.email == "nina@example.test")) == name
    page = admin_client.get("/admin/users").text
    assert name not in page and "&lt;script&gt;" in page
    # Also inside translated sentences ("Welcome, %(name)s").
    from tests.conftest import login

    user = db.session.scalar(select(User).where(User.email == "nina@example.test"))
    assert user is not None
    home = login(admin_client.application.test_client(), user).get("/").text
    assert name not in home and "&lt;script&gt;" in home


def test_edit_user_never_sets_a_password(admin_client, make_user, client):
    user = make_user(email="edit@example.test")
    old_hash = user.password_hash
    response = admin_client.post(
        f"/admin/users/{user.id}/edit",
        data={
            "name": "Edited",
            "email": "edited@example.test",
            "role": "manager",
            "team": "0",
            "password": "another long password",  # not a field any more: ignored
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.email, user.role) == ("Edited", "edited@example.test", Role.MANAGER)
    assert user.password_hash == old_hash


def test_deactivate_and_reactivate_user(admin_client, make_user):
    user = make_user()
    assert admin_client.post(f"/admin/users/{user.id}/active").status_code == 302
    db.session.refresh(user)
    assert not user.active
    admin_client.post(f"/admin/users/{user.id}/active")
    db.session.refresh(user)
    assert user.active


def test_admin_cannot_deactivate_themselves(client, make_user):
    from tests.conftest import login

    admin = make_user(Role.ADMIN)
    login(client, admin)
    client.post(f"/admin/users/{admin.id}/active")
    db.session.refresh(admin)
    assert admin.active
    assert "eigen account" in client.get("/admin/users").text


def test_create_team_with_manager_and_deputy(admin_client, make_user, make_team):
    department = make_team("Social domain")
    boss, deputy = make_user(Role.MANAGER), make_user(Role.MANAGER)
    response = admin_client.post(
        "/admin/teams/new",
        data={
            "name_nl": "Inkomen",
            "name_en": "Income",
            "parent": str(department.id),
            "manager": str(boss.id),
            "deputy": str(deputy.id),
        },
    )
    assert response.status_code == 302
    team = db.session.scalar(select(Team).where(Team.name_en == "Income"))
    assert team is not None
    assert (team.parent_id, team.manager_id, team.deputy_id) == (department.id, boss.id, deputy.id)
    page = admin_client.get("/admin/teams").text
    assert "Inkomen" in page and boss.name in page


def test_a_manager_may_manage_several_teams_and_the_manager_above_is_the_parents(
    make_user, make_team
):
    head, boss = make_user(Role.MANAGER), make_user(Role.MANAGER)
    department = make_team("Department", manager=head)
    first = make_team("First", parent=department, manager=boss)
    second = make_team("Second", parent=department, manager=boss)
    assert first.manager_above() == head and second.manager_above() == head
    assert department.manager_above() is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name_nl": ""}, "name_nl"),
        ({"name_en": "x" * 121}, "name_en"),
        ({"parent": "99999"}, "parent"),
        ({"manager": "99999"}, "manager"),
        ({"manager": "employee"}, "manager"),  # an employee is no manager
        ({"deputy": "same"}, "deputy"),  # deputy equal to manager
    ],
)
def test_team_form_rejects_bad_input(admin_client, make_user, overrides, field):
    boss = make_user(Role.MANAGER)
    employee = make_user(Role.EMPLOYEE)
    data = {
        "name_nl": "Inkomen",
        "name_en": "Income",
        "parent": "0",
        "manager": str(boss.id),
        "deputy": "0",
    }
    data.update(overrides)
    if data["manager"] == "employee":
        data["manager"] = str(employee.id)
    if data["deputy"] == "same":
        data["deputy"] = str(boss.id)
    before = count(Team)
    response = admin_client.post("/admin/teams/new", data=data)
    assert response.status_code == 200
    assert field in form_errors(response.text)
    assert count(Team) == before


def test_a_team_cannot_be_placed_under_its_own_subteam(admin_client, make_team):
    top = make_team("Top")
    child = make_team("Child", parent=top)
    response = admin_client.post(
        f"/admin/teams/{top.id}/edit",
        data={
            "name_nl": "Top",
            "name_en": "Top",
            "parent": str(child.id),
            "manager": "0",
            "deputy": "0",
        },
    )
    assert response.status_code == 200
    assert "parent" in form_errors(response.text)
    db.session.refresh(top)
    assert top.parent_id is None


def test_team_with_active_members_cannot_be_deactivated(admin_client, make_team, make_user):
    team = make_team()
    member = make_user(team=team)
    admin_client.post(f"/admin/teams/{team.id}/active")
    db.session.refresh(team)
    assert team.active
    admin_client.post(f"/admin/users/{member.id}/active")
    admin_client.post(f"/admin/teams/{team.id}/active")
    db.session.refresh(team)
    assert not team.active


def test_user_list_runs_a_constant_number_of_queries(
    admin_client, make_user, make_team, count_queries
):
    team = make_team()
    make_user(team=team)
    admin_client.get("/admin/users")
    with count_queries() as few:
        admin_client.get("/admin/users")
    for _ in range(10):
        make_user(team=make_team())
    with count_queries() as many:
        admin_client.get("/admin/users")
    assert many.count == few.count


def test_team_list_runs_a_constant_number_of_queries(
    admin_client, make_user, make_team, count_queries
):
    make_team(parent=make_team(), manager=make_user(Role.MANAGER), deputy=make_user(Role.MANAGER))
    with count_queries() as few:
        admin_client.get("/admin/teams")
    for _ in range(10):
        make_team(
            parent=make_team(), manager=make_user(Role.MANAGER), deputy=make_user(Role.MANAGER)
        )
    with count_queries() as many:
        admin_client.get("/admin/teams")
    assert many.count == few.count


def test_cli_create_user(app, runner=None):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "cli@example.test",
            "--name",
            "Cli User",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert (
        db.session.scalar(select(User.role).where(User.email == "cli@example.test")) == Role.ADMIN
    )
    short = runner.invoke(
        args=["create-user", "c2@example.test", "--name", "C2", "--password", "short"]
    )
    assert short.exit_code != 0 and "12" in short.output
    duplicate = runner.invoke(
        args=["create-user", "cli@example.test", "--name", "Again", "--password", PASSWORD]
    )
    assert duplicate.exit_code != 0


def test_cli_seed_demo_is_idempotent_and_refused_outside_demo_mode(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "employee@demo.test" in first.output and "aftercare-demo" in first.output
    assert "Demo history:" in first.output
    incidents = count(Incident)
    assert incidents > 50
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "Demo history:" not in second.output
    assert count(User) == len(DEMO_ACCOUNTS) + 18  # the demo accounts and their colleagues
    assert count(Incident) == incidents
    employee = db.session.scalar(select(User).where(User.email == "employee@demo.test"))
    witness = db.session.scalar(select(User).where(User.email == "witness@demo.test"))
    assert employee is not None and witness is not None
    assert employee.team_id != witness.team_id
    assert employee.team is not None and employee.team.manager is not None
    assert witness.team is not None and witness.team.manager is not None
    assert employee.team.manager.email == "manager@demo.test"
    assert witness.team.manager.email == "manager2@demo.test"
    assert {t.name_nl for t in db.session.scalars(select(Team))} >= {
        "Inkomen",
        "Handhaving",
        "Publiekszaken",
    }
    app.config["DEMO"] = False
    try:
        refused = runner.invoke(args=["seed-demo"])
        assert refused.exit_code != 0 and "demo mode" in refused.output
    finally:
        app.config["DEMO"] = True
