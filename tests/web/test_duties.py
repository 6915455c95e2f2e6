"""Separation of duties: an admin never knows or sets someone's password, cannot make themselves
manager or deputy, and every change of role, team, manager or deputy is told to the person."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from incidents import notify, services
from incidents.extensions import db
from incidents.models import AuditEvent, Notification, PasswordReset, Role, User, utcnow
from incidents.passwords import verify_password
from incidents.services import ServiceError, password_reset
from tests.conftest import login

NEW_PASSWORD = "a brand new passphrase"


def mails(kind: str, recipient: User | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    if recipient is not None:
        query = query.where(Notification.recipient_id == recipient.id)
    return list(db.session.scalars(query))


def link_in(app, note: Notification) -> str:
    """The path of the link in a composed mail, as the recipient would click it."""
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        text = notify.compose(note).text
    (url,) = re.findall(r"https?://\S+/account/reset/\S+", text)
    return url.split(app.config["BASE_URL"], 1)[1]


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="Adam Admin")


def test_a_new_account_gets_a_link_and_nobody_else_knows_the_password(app, admin, make_team):
    team = make_team("Income", manager=None)
    client = login(app.test_client(), admin)
    form = client.get("/admin/users/new").text
    assert 'type="password"' not in form  # the admin cannot type one
    created = client.post(
        "/admin/users/new",
        data={
            "name": "Nina New",
            "email": "nina@example.test",
            "role": "employee",
            "team": str(team.id),
        },
    )
    assert created.status_code == 302
    nina = db.session.scalar(select(User).where(User.email == "nina@example.test"))
    assert nina is not None
    (welcome,) = mails("welcome", nina)
    path = link_in(app, welcome)
    secret = path.rsplit("/", 1)[1]
    # The database keeps only the link's hash.
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.user_id == nina.id))
    assert reset is not None
    assert reset.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
    stranger = app.test_client()
    page = stranger.get(path)
    assert page.status_code == 200 and "nina@example.test" in page.text
    done = stranger.post(path, data={"new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    db.session.expire_all()
    assert verify_password(db.session.get_one(User, nina.id).password_hash, NEW_PASSWORD)
    assert len(mails("password_changed", nina)) == 1
    # The link works once.
    assert stranger.get(path).status_code == 410
    again = stranger.post(
        path, data={"new": "yet another passphrase", "repeat": "yet another passphrase"}
    )
    assert again.status_code == 410
    db.session.expire_all()
    assert verify_password(db.session.get_one(User, nina.id).password_hash, NEW_PASSWORD)


def test_an_admin_sends_a_link_and_the_user_sets_the_password(app, admin, make_user):
    eva = make_user(name="Eva")
    before = eva.password_hash
    client = login(app.test_client(), admin)
    edit = client.get(f"/admin/users/{eva.id}/edit").text
    assert 'type="password"' not in edit and "password-link" in edit
    sent = client.post(f"/admin/users/{eva.id}/password-link")
    assert sent.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(User, eva.id).password_hash == before  # nothing changed yet
    (note,) = mails("password_reset")
    assert note.recipient_id == eva.id  # to the person only, never to the admin
    path = link_in(app, note)
    # A second link replaces the first.
    client.post(f"/admin/users/{eva.id}/password-link")
    newer = link_in(app, mails("password_reset")[-1])
    assert newer != path
    assert app.test_client().get(path).status_code == 410
    # The link expires.
    with time_machine.travel(utcnow() + timedelta(hours=49)):
        assert app.test_client().get(newer).status_code == 410
    assert app.test_client().get(newer).status_code == 200
    # The person's data page shows that the link was sent, and by whom (by role).
    page = login(app.test_client(), eva).get("/account/data").text
    assert "heeft u een link gestuurd" in page or "sent you a link" in page


def test_a_link_is_used_once_even_by_two_tabs_at_once(app, admin, make_user):
    eva = make_user()
    with services.transaction():
        reset = password_reset.issue(admin, eva)
    secret = password_reset.link_secret(reset)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def use(password: str) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                password_reset.use(secret, password)
                results.append(password)
            except ServiceError as error:
                results.append(error)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=use, args=(p,)) for p in ("first passphrase!", "second passphrase")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == 1 and len(results) == 2, results
    db.session.expire_all()
    assert verify_password(db.session.get_one(User, eva.id).password_hash, won[0])


def test_an_admin_cannot_make_themselves_manager_or_deputy_or_change_their_role(
    app, admin, make_user, make_team
):
    boss = make_user(Role.MANAGER)
    team = make_team("Income", manager=boss)
    client = login(app.test_client(), admin)
    own = client.post(
        f"/admin/users/{admin.id}/edit",
        data={"name": admin.name, "email": admin.email, "role": "manager", "team": "0"},
    )
    assert own.status_code == 200 and "role-error" in own.text
    db.session.expire_all()
    assert db.session.get_one(User, admin.id).role == Role.ADMIN
    # A manager with admin powers (a service call, as a script might) cannot either.
    with pytest.raises(ServiceError) as refused:
        services.update_team(
            boss,
            team,
            name_nl=team.name_nl,
            name_en=team.name_en,
            parent=None,
            manager=boss,
            deputy=boss,
        )
    assert refused.value.field in {"deputy", "manager"}
    other = make_user(Role.MANAGER)
    with pytest.raises(ServiceError):
        services.update_team(
            other,
            team,
            name_nl=team.name_nl,
            name_en=team.name_en,
            parent=None,
            manager=boss,
            deputy=other,
        )
    # A second admin may.
    services.update_team(
        admin,
        team,
        name_nl=team.name_nl,
        name_en=team.name_en,
        parent=None,
        manager=boss,
        deputy=other,
    )
    db.session.expire_all()
    assert db.session.get_one(type(team), team.id).deputy_id == other.id


def test_changes_are_told_to_the_person_and_the_teams_managers(app, admin, make_user, make_team):
    boss_a, boss_b, deputy = (make_user(Role.MANAGER, name=n) for n in ("Boss A", "Boss B", "Dee"))
    income, care = make_team("Income", manager=boss_a), make_team("Care", manager=boss_b)
    eva = make_user(name="Eva", team=income)
    assert mails("account_changed") == []  # set up by the system (actor None): no mail
    client = login(app.test_client(), admin)
    moved = client.post(
        f"/admin/users/{eva.id}/edit",
        data={"name": "Eva", "email": eva.email, "role": "employee", "team": str(care.id)},
    )
    assert moved.status_code == 302
    assert [n.recipient_id for n in mails("account_changed")] == [eva.id]
    assert {n.recipient_id for n in mails("team_changed")} == {boss_a.id, boss_b.id}
    page = login(app.test_client(), eva).get("/account/data").text
    assert "team" in page
    # A new deputy is told, and so is the team's manager; the deputy's page says which team.
    client.post(
        f"/admin/teams/{care.id}/edit",
        data={
            "name_nl": care.name_nl,
            "name_en": care.name_en,
            "parent": "0",
            "manager": str(boss_b.id),
            "deputy": str(deputy.id),
        },
    )
    assert deputy.id in {n.recipient_id for n in mails("account_changed")}
    assert len(mails("team_changed", boss_b)) == 2
    page = login(app.test_client(), deputy).get("/account/data").text
    assert "plaatsvervanger van Care NL" in page or "deputy of Care" in page
    events = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_id == deputy.id, AuditEvent.object_type == "user"
        )
    ).all()
    assert "user.team_role" in events


def test_an_admin_who_changed_an_address_cannot_also_send_it_a_link(app, admin, make_user):
    eva = make_user(email="eva@example.test")
    client = login(app.test_client(), admin)
    client.post(
        f"/admin/users/{eva.id}/edit",
        data={"name": eva.name, "email": "attacker@example.test", "role": "employee", "team": "0"},
    )
    refused = client.post(f"/admin/users/{eva.id}/password-link", follow_redirects=True)
    assert "another administrator" in refused.text.lower() or "andere beheerder" in refused.text
    assert mails("password_reset") == []
    second = make_user(Role.ADMIN)
    login(app.test_client(), second).post(f"/admin/users/{eva.id}/password-link")
    assert len(mails("password_reset")) == 1
    with pytest.raises(ServiceError):
        password_reset.send_link(admin, admin)  # one's own password: the account page


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR])
def test_only_admins_send_links(app, make_user, role):
    eva = make_user()
    client = login(app.test_client(), make_user(role))
    assert client.post(f"/admin/users/{eva.id}/password-link").status_code == 403
    assert mails("password_reset") == []


def test_a_made_up_link_shows_the_same_page_as_a_used_one(app):
    for secret in ("nonsense", "x" * 43, "x" * 500):
        response = app.test_client().get(f"/account/reset/{secret}")
        assert response.status_code == 410
