"""An input sweep over the app's forms: long text, unicode, control characters, HTML and script,
SQL-like text. Whatever is sent: no 500, and what comes back is escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents import services
from incidents.models import Channel, IncidentType, Role
from incidents.services import ReportData
from tests.conftest import login

NASTY = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
    st.sampled_from(
        [
            '<script>alert("x")</script>',
            "<img src=x onerror=alert(1)>",
            "'; DROP TABLE incident; --",
            "\x00\x01\x02\x1b[31m",
            "\u202e\u0000\ufeff",
            "Robert'); DELETE FROM user WHERE ('1'='1",
            "%(name)s {{ 7*7 }} {% raw %}",
        ]
    ),
)


def forms(ids):
    """(role, url, fields that take free text, fixed fields)."""
    step, incident, team, user = ids["step"], ids["incident"], ids["team"], ids["user"]
    return [
        (None, "/login", ["email", "password"], {}),
        (Role.EMPLOYEE, "/account/password", ["current", "new", "repeat"], {}),
        (
            Role.ADMIN,
            "/admin/users/new",
            ["name", "email", "password"],
            {"role": "employee", "team": "0"},
        ),
        (
            Role.ADMIN,
            f"/admin/users/{user}/edit",
            ["name", "email"],
            {"role": "employee", "team": "0"},
        ),
        (
            Role.ADMIN,
            "/admin/teams/new",
            ["name_nl", "name_en"],
            {"parent": "0", "manager": "0", "deputy": "0"},
        ),
        (
            Role.ADMIN,
            f"/admin/teams/{team}/edit",
            ["name_nl", "name_en"],
            {"parent": "0", "manager": "0", "deputy": "0"},
        ),
        (
            Role.EMPLOYEE,
            "/incidents/new",
            [
                "description",
                "location",
                "outside_witnesses",
                "perpetrator_name",
                "perpetrator_reference",
                "occurred_at",
            ],
            {
                "channel": "counter",
                "types": "verbal",
                "affected_self": "y",
                "submission_token": "sweep-token-0000000001",
            },
        ),
        (
            Role.EMPLOYEE,
            "/incidents/quick",
            ["note", "type", "channel"],
            {"submission_token": "sweep-token-0000000002"},
        ),
        (
            Role.MANAGER,
            f"/aftercare/steps/{step}",
            ["note", "reason", "reference", "held_on"],
            {"outcomes": "held", "attempts": "0"},
        ),
        (Role.HR, "/hr/conversations?month=2026-01", ["month"], {}),
        (None, "/language", ["locale", "next"], {}),
        (
            Role.EMPLOYEE,
            f"/incidents/{incident}/edit",
            ["description"],
            {"channel": "counter", "types": "verbal"},
        ),
    ]


@pytest.fixture
def world(app, make_user, make_team):
    boss = make_user(Role.MANAGER)
    team = make_team("Sweep", manager=boss)
    employee = make_user(Role.EMPLOYEE, team=team)
    incident = services.save_report(
        employee,
        "sweep-base-token-000001",
        ReportData(
            occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="base",
            affected_ids=[employee.id],
        ),
        submit=True,
    )
    users = {
        Role.EMPLOYEE: employee,
        Role.MANAGER: boss,
        Role.ADMIN: make_user(Role.ADMIN),
        Role.HR: make_user(Role.HR),
    }
    ids = {
        "step": incident.steps[0].id,
        "incident": incident.id,
        "team": team.id,
        "user": employee.id,
    }
    return users, ids


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=NASTY)
def test_no_input_gives_a_500_and_everything_comes_back_escaped(app, world, text):
    users, ids = world
    for role, url, fields, fixed in forms(ids):
        client = app.test_client()
        if role is not None:
            login(client, users[role])
        data = {**fixed, **dict.fromkeys(fields, text)}
        response = client.post(url, data=data)
        assert response.status_code < 500, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert not re.search(r"<script>alert|<img src=x onerror", body), url


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=2000), name=NASTY)
def test_any_uploaded_file_gets_an_answer_not_a_500(app, world, content, name):
    import io

    users, _ids = world
    client = login(app.test_client(), users[Role.HR])
    response = client.post(
        "/hr/conversations/upload",
        data={"file": (io.BytesIO(content), (name or "x")[:100] + ".csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    assert not re.search(r"<script>alert|<img src=x onerror", response.get_data(as_text=True))
