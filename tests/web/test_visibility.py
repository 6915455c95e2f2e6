"""Who sees what: every role and every kind of involvement, including guessed ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from incidents import access, services
from incidents.extensions import db
from incidents.models import Channel, Incident, IncidentType, PerpetratorKnown, Role
from tests.conftest import login

SECRET = "The client said he knows where she lives."
PERPETRATOR = "Perpetrator Name"


@pytest.fixture
def world(make_user, make_team):
    """An incident reported by `reporter` for `victim`, witnessed by `witness`."""
    victims_team = make_team("Income")
    witness_team = make_team("Enforcement")
    boss = make_user(Role.MANAGER, name="Boss")
    deputy = make_user(Role.MANAGER, name="Deputy")
    other_boss = make_user(Role.MANAGER, name="Witness Boss")
    services.update_team(
        None,
        victims_team,
        name_nl="Inkomen",
        name_en="Income",
        parent=None,
        manager=boss,
        deputy=deputy,
    )
    services.update_team(
        None,
        witness_team,
        name_nl="Handhaving",
        name_en="Enforcement",
        parent=None,
        manager=other_boss,
        deputy=None,
    )
    people = {
        "reporter": make_user(name="Reporter", team=victims_team),
        "victim": make_user(name="Victim", team=victims_team),
        "witness": make_user(name="Witness", team=witness_team),
        "stranger": make_user(name="Stranger", team=victims_team),
        "boss": boss,
        "deputy": deputy,
        "witness_boss": other_boss,
        "hr": make_user(Role.HR),
        "admin": make_user(Role.ADMIN),
    }
    incident = services.save_report(
        people["reporter"],
        "visibility",
        services.ReportData(
            occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            location="Counter 3",
            description=SECRET,
            affected_ids=[people["victim"].id],
            witness_ids=[people["witness"].id],
            perpetrator_name=PERPETRATOR,
            perpetrator_known=PerpetratorKnown.KNOWN,
        ),
        submit=True,
    )
    draft = services.save_report(
        people["reporter"], "draft", services.ReportData(description="draft secret"), submit=False
    )
    return people, incident, draft


# who -> (detail status, sees description and perpetrator)
EXPECTED = {
    "reporter": (200, True),
    "victim": (200, True),
    "boss": (200, True),
    "deputy": (200, True),
    "witness": (200, False),
    "stranger": (404, False),
    "witness_boss": (200, False),  # runs the witness's own aftercare track: the limited view
    "admin": (404, False),
    "hr": (404, False),  # HR sees its own incidents only, like everyone
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_who_sees_what(client, world, who):
    people, incident, _draft = world
    login(client, people[who])
    status, full = EXPECTED[who]
    response = client.get(f"/incidents/{incident.id}")
    assert response.status_code == status
    page = response.text
    if status == 200:
        assert "Counter 3" in page or "Balie" in page  # when, where and what: everyone who may see
        assert (SECRET in page) is full
        assert (PERPETRATOR in page) is full
        assert ("Victim" in page) is full  # other people are not shown to a witness
    else:
        assert SECRET not in page and PERPETRATOR not in page


@pytest.mark.parametrize("who", list(EXPECTED))
def test_drafts_are_the_reporters_alone(client, world, who):
    people, _incident, draft = world
    login(client, people[who])
    expected = 200 if who == "reporter" else 404
    assert client.get(f"/incidents/{draft.id}").status_code == expected
    assert client.get(f"/incidents/{draft.id}/edit").status_code == expected


@pytest.mark.parametrize("who", ["witness", "stranger", "boss", "admin"])
def test_only_reporter_and_affected_may_edit(client, world, who):
    people, incident, _draft = world
    login(client, people[who])
    assert client.get(f"/incidents/{incident.id}/edit").status_code == 404
    assert (
        client.post(f"/incidents/{incident.id}/edit", data={"description": "tampered"}).status_code
        == 404
    )
    db.session.refresh(incident)
    assert incident.description == SECRET


def test_guessing_ids_reveals_nothing(client, world):
    people, incident, _draft = world
    login(client, people["stranger"])
    existing = client.get(f"/incidents/{incident.id}")
    missing = client.get("/incidents/987654")
    assert existing.status_code == missing.status_code == 404
    # The pages are the same but for the address, the CSRF token (signed with the second) and
    # the fresh submission tokens in the links to the report forms.
    token = re.compile(r'name="csrf_token" value="[^"]+"|\?t=[\w-]+')
    mask = "TOKEN"
    same = token.sub(mask, existing.text.replace(f"/incidents/{incident.id}", "/incidents/987654"))
    assert same == token.sub(mask, missing.text)
    assert mask in same  # the token was there, and was masked


def test_my_incidents_shows_only_my_involvement(client, world):
    people, incident, draft = world
    for who, listed in (
        ("reporter", True),
        ("victim", True),
        ("witness", True),
        ("stranger", False),
    ):
        login(client, people[who])
        page = client.get("/incidents").text
        assert (f'/incidents/{incident.id}"' in page) is listed, who
        assert (f"/incidents/{draft.id}/edit" in page) is (who == "reporter"), who


def test_incident_view_function_directly(world):
    people, incident, draft = world
    assert access.incident_view(people["reporter"], draft) is access.View.FULL
    assert access.incident_view(people["witness"], incident) is access.View.WITNESS
    assert access.incident_view(people["hr"], incident) is None
    people["victim"].active = False
    assert access.incident_view(people["victim"], incident) is None
    assert db.session.scalar(select(Incident).where(Incident.id == incident.id)) is not None
