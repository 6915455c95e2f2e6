"""Right of access: an employee gets everything held about them, and nothing about others.

Decisions tested here (see incidents/privacy/access_export.py): the reporter of an incident
that affects someone else appears as "a colleague"; other colleagues only as counts; the
perpetrator as "held, not included"; the owner of one's own aftercare steps (one's own
manager) by name; people in the audit trail by their role.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

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
    PerpetratorKnown,
    Role,
)
from incidents.privacy import access_export
from incidents.services.aftercare import StepResult, outcome_rules
from tests.conftest import login

DESCRIPTION = "The client shouted at the counter about his benefit."
OTHER_DESCRIPTION = "Another incident entirely, not about Yara."
PERPETRATOR = "Piet Dader"
REFERENCE = "CLIENT-4711"
OUTSIDE = "Olga Buurvrouw"
NOTE = "Talked it through; Yara wants to keep working at the counter."
CALENDAR_TOKEN = "calendar-secret-token-of-yara"


@pytest.fixture
def world(make_user, make_team):
    """X reports an incident affecting Y, witnessed by W; Y's manager notes on Y's step."""
    team = make_team("Income")
    witness_team = make_team("Enforcement")
    boss = make_user(Role.MANAGER, name="Bea Baas", email="bea@example.test")
    witness_boss = make_user(Role.MANAGER, name="Hank Hoofd", email="hank@example.test")
    services.update_team(
        None, team, name_nl="Inkomen", name_en="Income", parent=None, manager=boss, deputy=None
    )
    services.update_team(
        None,
        witness_team,
        name_nl="Handhaving",
        name_en="Enforcement",
        parent=None,
        manager=witness_boss,
        deputy=None,
    )
    x = make_user(name="Xander Quist", email="xander@example.test", team=team)
    y = make_user(name="Yara Visser", email="yara@example.test", team=team)
    w = make_user(name="Wilma Zegers", email="wilma@example.test", team=witness_team)
    other = make_user(name="Otto Anders", email="otto@example.test", team=team)
    incident = services.save_report(
        x,
        "access-export",
        services.ReportData(
            occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
            channel=Channel.COUNTER,
            types=[IncidentType.THREAT],
            location="Counter 3",
            description=DESCRIPTION,
            affected_ids=[y.id],
            witness_ids=[w.id],
            outside_witnesses=OUTSIDE,
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
            perpetrator_reference=REFERENCE,
        ),
        submit=True,
    )
    unrelated = services.save_report(
        x,
        "access-export-other",
        services.ReportData(
            occurred_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
            channel=Channel.PHONE,
            types=[IncidentType.VERBAL],
            description=OTHER_DESCRIPTION,
            affected_ids=[other.id],
        ),
        submit=True,
    )
    step = next(
        s
        for s in incident.steps
        if s.subject_user_id == y.id and "held" in outcome_rules(s.kind).choose
    )
    services.aftercare.complete_step(
        boss, step, StepResult(outcomes=["held"], note=NOTE), step.attempts
    )
    with services.transaction():
        # Who looked at the incident: the manager and the witness's manager.
        services.audit(boss, AuditAction.INCIDENT_VIEW, incident)
        services.audit(witness_boss, AuditAction.INCIDENT_VIEW, incident)
        services.audit(y, AuditAction.INCIDENT_VIEW, incident)
        services.audit(x, AuditAction.INCIDENT_VIEW, unrelated)
        y.calendar_token = CALENDAR_TOKEN
    people = {"x": x, "y": y, "w": w, "other": other, "boss": boss, "witness_boss": witness_boss}
    return people, incident, unrelated


def forbidden_for_y(people):
    x, y, w, other = people["x"], people["y"], people["w"], people["other"]
    return [
        w.name,
        w.email,
        x.name,
        x.email,
        other.name,
        other.email,
        people["witness_boss"].name,
        PERPETRATOR,
        REFERENCE,
        OUTSIDE,
        OTHER_DESCRIPTION,
        y.password_hash,
        y.session_token,
        CALENDAR_TOKEN,
        "password_hash",
        "session_token",
    ]


def get_export(client, user):
    login(client, user)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    page = client.get("/account/data")
    assert page.status_code == 200
    return response.text, json.loads(response.text), page.text


def section(html, heading_id):
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def test_affected_employee_gets_their_data_and_nothing_of_others(client, world):
    people, incident, _unrelated = world
    y = people["y"]
    raw, data, html = get_export(client, y)

    assert data["account"]["email"] == y.email
    assert data["account"]["name"] == y.name
    assert data["account"]["role"] == "employee"
    assert data["account"]["team"] == "Inkomen"
    assert data["account"]["calendar_feed"] is True

    assert [i["id"] for i in data["incidents"]] == [incident.id]
    shown = data["incidents"][0]
    assert shown["view"] == "full"
    assert shown["your_roles"] == ["affected"]
    assert shown["reported_by"] == "a colleague"
    assert shown["description"] == DESCRIPTION
    assert shown["occurred_at"] == "2026-01-05T10:00:00+00:00"
    assert shown["types"] == ["threat"]
    assert shown["other_affected_colleagues"] == 0
    assert shown["colleague_witnesses"] == 1
    assert shown["perpetrator"] == access_export.NOT_INCLUDED
    assert shown["outside_witnesses"] == access_export.NOT_INCLUDED

    steps = data["aftercare_steps"]
    assert steps and all(s["incident_id"] == incident.id for s in steps)
    assert NOTE in [s["note"] for s in steps]
    noted = next(s for s in steps if s["note"] == NOTE)
    assert noted["outcomes"] == ["held"]
    assert noted["owner"] == {"name": "Bea Baas", "role": "manager"}
    assert noted["done_by"] == "manager"
    own_step_ids = {
        s.id for s in db.session.scalars(select(AftercareStep).filter_by(subject_user_id=y.id))
    }
    assert {s["id"] for s in steps} == own_step_ids  # the witness's track is not in it

    views = [a for a in data["audit"] if a["action"] == "incident.view"]
    assert sorted(a["by"] for a in views) == ["manager", "manager", "you"]
    assert all(a["about"] == "incident" and a["object_id"] == incident.id for a in views)
    assert all(a["address"] is None for a in data["audit"] if a["by"] != "you")
    assert any(a["action"] == "step.complete" and a["by"] == "manager" for a in data["audit"])
    assert any(a["action"] == "user.create" and a["about"] == "account" for a in data["audit"])
    assert [n["kind"] for n in data["notifications"]] == ["behalf"]

    assert DESCRIPTION in html and NOTE in html and y.email in html
    for text in forbidden_for_y(people):
        assert text not in raw, text
        assert text not in html, text


def test_json_and_html_hold_the_same_items(client, world):
    people, _incident, _unrelated = world
    _raw, data, html = get_export(client, people["y"])

    assert html.count("<h3>") == len(data["incidents"])
    assert section(html, "steps-heading").count("<tr>\n") == len(data["aftercare_steps"])
    assert section(html, "history-heading").count("<tr><td>") == len(data["history"])
    # The page was made after the download, so it also lists that download.
    assert section(html, "audit-heading").count("<tr><td>") == len(data["audit"]) + 1
    assert section(html, "mail-heading").count("<tr><td>") == len(data["notifications"])
    for step in data["aftercare_steps"]:
        if step["note"]:
            assert step["note"] in section(html, "steps-heading")


def test_reporter_sees_they_reported_and_their_history(client, world):
    people, incident, unrelated = world
    _raw, data, _html = get_export(client, people["x"])
    assert {i["id"] for i in data["incidents"]} == {incident.id, unrelated.id}
    assert all(i["reported_by"] == "you" for i in data["incidents"])
    assert {h["incident_id"] for h in data["history"]} == {incident.id, unrelated.id}
    assert not data["aftercare_steps"]


def test_witness_gets_only_the_witness_view(client, world):
    people, incident, _unrelated = world
    w, y, x = people["w"], people["y"], people["x"]
    raw, data, html = get_export(client, w)

    assert [i["id"] for i in data["incidents"]] == [incident.id]
    shown = data["incidents"][0]
    assert shown == {
        "id": incident.id,
        "view": "witness",
        "your_roles": ["witness"],
        "occurred_at": "2026-01-05T10:00:00+00:00",
        "channel": "counter",
        "types": ["threat"],
    }
    assert all(s["as"] == "witness" for s in data["aftercare_steps"])
    for text in [
        DESCRIPTION,
        "Counter 3",
        NOTE,
        PERPETRATOR,
        REFERENCE,
        OUTSIDE,
        y.name,
        y.email,
        x.name,
        x.email,
        people["boss"].name,
        OTHER_DESCRIPTION,
    ]:
        assert text not in raw, text
        assert text not in html, text


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN, Role.MANAGER])
def test_other_roles_get_their_own_account(client, make_user, role):
    user = make_user(role, name="Some One", email="someone@example.test")
    raw, data, html = get_export(client, user)
    assert data["account"]["email"] == "someone@example.test"
    assert data["account"]["role"] == role.value
    assert data["incidents"] == [] and data["aftercare_steps"] == []
    assert "someone@example.test" in html
    assert user.password_hash not in raw and user.session_token not in raw


def test_every_export_is_audited(client, world):
    people, _incident, _unrelated = world
    y = people["y"]
    get_export(client, y)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.access_export")
    ).all()
    assert sorted(e.details["format"] for e in events) == ["html", "json"]
    assert all(e.actor_id == y.id and e.object_id == y.id for e in events)
    assert all(e.object_type == "user" for e in events)


def test_footer_links_to_my_data(client, world):
    people, _incident, _unrelated = world
    login(client, people["y"])
    assert 'href="/account/data"' in client.get("/account/password").text


def test_number_of_queries_does_not_grow(world, make_user, count_queries):
    people, _incident, _unrelated = world
    y = people["y"]

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            access_export.collect(y)
        return counter.count

    before = queries()
    for n in range(3):
        colleague = make_user()
        services.save_report(
            y,
            f"more-{n}",
            services.ReportData(
                occurred_at=datetime(2026, 3, 1 + n, tzinfo=UTC),
                channel=Channel.PHONE,
                types=[IncidentType.PHYSICAL],
                description="More.",
                affected_ids=[y.id, colleague.id],
            ),
            submit=True,
        )
    assert queries() == before
    assert len(access_export.collect(y)["incidents"]) == 4


def test_json_is_plain_data(world):
    people, _incident, _unrelated = world
    data = access_export.collect(people["y"])
    assert json.loads(json.dumps(data)) == data
    stamps = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]+)"', json.dumps(data))
    assert stamps and all(s.endswith("+00:00") for s in stamps)


def test_files_add_no_queries_however_many(world, count_queries):
    """The files of every incident are read in one query (joined with who added and removed
    them), whether there are none or many."""
    from PIL import Image

    from incidents.services.evidence import Upload, add_files, remove_file

    people, incident, _unrelated = world
    y = people["y"]

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            access_export.collect(y)
        return counter.count

    def png(n: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (3, 3), (n, 0, 0)).save(out, format="PNG")
        return out.getvalue()

    before = queries()
    added = add_files(people["x"], incident, [Upload(f"p{n}.png", png(n)) for n in range(3)])
    remove_file(people["boss"], added[0], "Not this one")
    assert queries() == before
    assert len(access_export.collect(y)["incidents"][0]["files"]) == 3
