"""The colleague picker: the JSON endpoint, the search without JavaScript, and the size of the
report form at 15,000 staff."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import insert, select, update

from incidents.extensions import db
from incidents.models import Incident, PersonRole, Role, User
from tests.conftest import form_errors, login

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def employee(make_user, make_team):
    return make_user(Role.EMPLOYEE, team=make_team("Income"), name="Eva Employee")


def report(**overrides):
    data = {
        "occurred_at": "2026-03-10T10:15",
        "channel": "counter",
        "types": ["verbal"],
        "description": "Client shouted.",
        "affected_self": "y",
        "perpetrator_known": "unknown",
        "submit": "Submit report",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def found(client, q):
    response = client.get("/incidents/colleagues", query_string={"q": q})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()["colleagues"]


def form_url(client):
    return client.get("/incidents/new").headers["Location"]


def bulk_users(count: int, *, prefix: str = "Staff", active: bool = True, team_id=None) -> None:
    """`count` accounts in one INSERT (services.create_user hashes a password each)."""
    db.session.execute(
        insert(User),
        [
            {
                "email": f"{prefix.lower()}{n}-{secrets.token_hex(4)}@bulk.test",
                "name": f"{prefix} {n:05d}",
                "password_hash": "!",
                "role": Role.EMPLOYEE,
                "active": active,
                "team_id": team_id,
                "session_token": secrets.token_urlsafe(24),
            }
            for n in range(count)
        ],
    )
    db.session.commit()


# --- The endpoint ----------------------------------------------------------------------------


def test_the_endpoint_finds_active_colleagues_by_name_or_team(
    client, employee, make_user, make_team
):
    youth = make_team("Youth care")
    anna = make_user(name="Anna de Vries", team=youth)
    bert = make_user(name="Bert Bakker")
    gone = make_user(name="Anna Gone", team=youth)
    db.session.execute(update(User).where(User.id == gone.id).values(active=False))
    db.session.commit()
    login(client, employee)
    assert [c["id"] for c in found(client, "anna")] == [anna.id]
    # By team, in the user's language (Dutch by default: "Youth care NL").
    assert found(client, "youth care") == [
        {"id": anna.id, "name": "Anna de Vries", "team": "Youth care NL"}
    ]
    assert [c["id"] for c in found(client, "BAKK")] == [bert.id]
    assert found(client, "a") == []  # too short to search
    assert found(client, "") == []
    assert found(client, "Eva") == []  # never yourself
    assert found(client, "%") == [] and found(client, "__") == []  # wildcards are literal


def test_hr_and_admin_accounts_are_found_only_in_a_team(client, employee, make_user, make_team):
    team = make_team("Finance")
    make_user(Role.HR, name="Hanna HR")
    make_user(Role.ADMIN, name="Hans Admin")
    in_team = make_user(Role.HR, name="Hanneke HR", team=team)
    manager = make_user(Role.MANAGER, name="Hank Manager")
    login(client, employee)
    assert sorted(c["id"] for c in found(client, "han")) == sorted([in_team.id, manager.id])


def test_the_endpoint_never_returns_inactive_users_nor_more_than_20(client, employee):
    bulk_users(30, prefix="Active")
    bulk_users(30, prefix="Active left", active=False)
    login(client, employee)
    colleagues = found(client, "active")
    assert len(colleagues) == 20
    ids = [c["id"] for c in colleagues]
    active = set(db.session.scalars(select(User.id).where(User.id.in_(ids), User.active)))
    assert active == set(ids)
    assert [c["name"] for c in colleagues] == sorted(c["name"] for c in colleagues)
    assert found(client, "active left") == []


def test_the_endpoint_is_only_for_signed_in_reporters(app, client, employee, monkeypatch):
    anonymous = client.get("/incidents/colleagues?q=eva")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # Every reporter may search (the roles of the report form) ...
    assert app.view_functions["reporting.colleagues"].allowed_roles == {
        Role.EMPLOYEE,
        Role.MANAGER,
        Role.HR,
        Role.ADMIN,
    }
    # A role outside the reporters is refused by the guard.
    monkeypatch.setattr(
        app.view_functions["reporting.colleagues"],
        "allowed_roles",
        frozenset({Role.MANAGER}),
    )
    login(client, employee)
    assert client.get("/incidents/colleagues?q=eva").status_code == 403


# --- Without JavaScript ----------------------------------------------------------------------


def test_the_search_button_shows_matches_and_keeps_what_was_filled_in(
    client, employee, make_user, frozen
):
    chosen = make_user(name="Carla Chosen")
    wim = make_user(name="Wim Witness")
    login(client, employee)
    url = form_url(client)
    token = url.split("t=")[1]
    page = client.post(
        url,
        data=report(
            submission_token=token,
            location="Counter 3",
            affected=[str(chosen.id)],
            witnesses_q="wim",
            find="witnesses",
        ),
    )
    assert page.status_code == 200
    html = page.text
    assert form_errors(html) == []  # a search is no submission
    assert db.session.scalar(select(Incident.id)) is None
    assert 'value="Counter 3"' in html  # what was filled in is kept
    assert f'name="affected" value="{chosen.id}" id="affected-{chosen.id}" checked' in html
    assert f'name="witnesses" value="{wim.id}" id="witnesses-{wim.id}">' in html  # a match
    assert 'value="wim"' in html  # the search text stays
    # Ticking the match and submitting saves both.
    done = client.post(
        url,
        data=report(submission_token=token, affected=[str(chosen.id)], witnesses=[str(wim.id)]),
    )
    assert done.status_code == 302
    incident = db.session.scalars(select(Incident)).one()
    assert sorted((p.user_id, p.role) for p in incident.people) == sorted(
        [
            (employee.id, PersonRole.AFFECTED),
            (chosen.id, PersonRole.AFFECTED),
            (wim.id, PersonRole.WITNESS),
        ]
    )


def test_a_search_without_matches_says_so(client, employee, frozen):
    login(client, employee)
    url = form_url(client)
    token = url.split("t=")[1]
    html = client.post(
        url, data=report(submission_token=token, find="affected", affected_q="zzzz")
    ).text
    assert "Geen actieve collega gevonden." in html or "No active colleague found." in html


def test_inactive_colleagues_are_refused_next_to_the_field(client, employee, make_user, frozen):
    gone = make_user(name="Gerard Gone")
    db.session.execute(update(User).where(User.id == gone.id).values(active=False))
    db.session.commit()
    login(client, employee)
    url = form_url(client)
    response = client.post(
        url, data=report(submission_token=url.split("t=")[1], witnesses=[str(gone.id)])
    )
    assert response.status_code == 200
    assert form_errors(response.text) == ["witnesses"]
    assert 'id="witnesses-error"' in response.text
    assert db.session.scalar(select(Incident.id)) is None


# --- Size at 15,000 staff --------------------------------------------------------------------


def test_the_report_form_stays_small_at_15000_staff(client, employee, make_team, frozen):
    team = make_team("Everyone")
    bulk_users(15_000, team_id=team.id)
    login(client, employee)
    page = client.get("/incidents/new", follow_redirects=True)
    assert page.status_code == 200
    assert len(page.data) < 40 * 1024, len(page.data)
    # The endpoint still answers a page of matches.
    assert len(found(client, "staff 1")) == 20
