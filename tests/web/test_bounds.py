"""Bounds on what one request may ask: colleagues per report, body size, text length; and a
stale edit form refused with what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from incidents import services
from incidents.extensions import db
from incidents.models import Channel, Incident, IncidentType, Role
from incidents.reporting.forms import DESCRIPTION_MAX
from incidents.services import ReportData
from tests.conftest import form_errors, login


@pytest.fixture
def employee(make_user, make_team):
    return make_user(team=make_team("Income", manager=make_user(Role.MANAGER)), name="Eva")


def report(**overrides):
    data = {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "channel": "counter",
        "types": ["verbal"],
        "description": "He shouted.",
        "affected_self": "y",
        "perpetrator_known": "unknown",
        "submit": "Submit report",
    }
    data.update(overrides)
    return data


def test_thousands_of_colleague_ids_are_refused_before_any_query(app, client, employee):
    login(client, employee)
    too_many = [str(i) for i in range(1, 29_001)]  # as observed: over the body limit now
    assert client.post("/incidents/new", data={"witnesses": too_many}).status_code == 413
    ids = [str(i) for i in range(1, 15_001)]  # what still fits in a body
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.post(
            "/incidents/new?t=many-colleagues-padded-token",
            data=report(submission_token="many-colleagues-padded-token", witnesses=ids),
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    assert "witnesses" in form_errors(response.text)
    assert "at most 50 colleagues" in response.text or "maximaal 50 collega" in response.text
    assert not any(statement.count("?") + statement.count("%(") > 1000 for statement in statements)
    assert db.session.scalar(select(func.count(Incident.id))) == 0


def test_the_colleague_limit_is_configurable_and_counts_both_lists(app, employee, make_user):
    others = [make_user() for _ in range(4)]
    app.config["MAX_COLLEAGUES_PER_REPORT"] = 3
    try:
        data = ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="x",
            affected_ids=[employee.id, others[0].id],
            witness_ids=[others[1].id, others[2].id],
        )
        with pytest.raises(services.InvalidInput) as refused:
            services.save_report(employee, "limit-padded-token-0001", data, submit=True)
        assert set(refused.value.errors) == {"witnesses"}
        data.witness_ids = [others[1].id]
        services.save_report(employee, "limit-padded-token-0002", data, submit=True)
    finally:
        app.config["MAX_COLLEAGUES_PER_REPORT"] = 50


def test_a_description_over_its_limit_is_refused_and_not_echoed_whole(client, employee):
    login(client, employee)
    long_text = "A" * (DESCRIPTION_MAX * 20)  # 80,000 characters: under the body limit
    response = client.post(
        "/incidents/new?t=long-description-padded-token",
        data=report(submission_token="long-description-padded-token", description=long_text),
    )
    assert response.status_code == 200
    assert "description" in form_errors(response.text)
    assert "A" * DESCRIPTION_MAX in response.text
    assert "A" * (DESCRIPTION_MAX + 1) not in response.text
    assert "80.000" in response.text  # how long it was, in the user's language (Dutch)
    assert db.session.scalar(select(func.count(Incident.id))) == 0


def test_a_body_over_the_limit_is_refused_but_the_csv_upload_may_be_larger(app, make_user):
    hr = login(app.test_client(), make_user(Role.HR))
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert hr.post("/incidents/quick", data={"note": big}).status_code == 413
    content = b"month,team,channel,count\n" + b"2025-03,Income,counter,1\n" * 20_000
    assert len(content) > app.config["MAX_CONTENT_LENGTH"]
    from io import BytesIO

    upload = hr.post(
        "/hr/conversations/upload",
        data={"file": (BytesIO(content), "counts.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200  # read and judged by its own rules, not refused as a body


def test_a_stale_edit_form_is_refused_with_what_changed(app, employee, make_user):
    colleague = make_user(name="Colin Colleague")
    incident = services.save_report(
        employee,
        "stale-page-padded-token-01",
        ReportData(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="First words.",
            affected_ids=[employee.id, colleague.id],
        ),
        submit=True,
    )
    mine, theirs = login(app.test_client(), employee), login(app.test_client(), colleague)
    form_mine = mine.get(f"/incidents/{incident.id}/edit").text
    assert 'name="version" type="hidden" value="2"' in form_mine or 'value="2"' in form_mine
    saved = theirs.post(
        f"/incidents/{incident.id}/edit",
        data=report(
            affected_self="y",
            affected=[str(colleague.id)],
            description="Colin's correction.",
            location="Counter 4",
            version="2",
        ),
    )
    assert saved.status_code == 302
    stale = mine.post(
        f"/incidents/{incident.id}/edit",
        data=report(affected=[str(colleague.id)], description="Eva's late words.", version="2"),
    )
    assert stale.status_code == 200
    assert "Colin Colleague" in stale.text and "Beschrijving" in stale.text  # who and what
    assert "Colin&#39;s correction." in stale.text  # the form shows the report as it is now
    db.session.expire_all()
    stored = db.session.get(Incident, incident.id)
    assert stored is not None
    assert stored.description == "Colin's correction." and stored.version == 3
    # A form without a version (not made by this app) is refused the same way.
    assert (
        mine.post(
            f"/incidents/{incident.id}/edit", data=report(description="No version.")
        ).status_code
        == 200
    )
    db.session.expire_all()
    assert db.session.get_one(Incident, incident.id).description == "Colin's correction."
