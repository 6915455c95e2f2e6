"""The audit trail: what is recorded (never contents), the privacy officer's search, and that
entries can only be added."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
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
from incidents.services import ReportData
from tests.conftest import PASSWORD, form_errors, login

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
ADDRESS = "127.0.0.1"  # the test client's address
DESCRIPTION = "Zebracrossing-umbrella-7731 thrown at the counter"
PERPETRATOR = "Quintijn Vermeulen-Oostergo"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org(make_user, make_team):
    boss = make_user(Role.MANAGER, name="Boss")
    income = make_team("Income", manager=boss)
    other = make_team("Enforcement", manager=make_user(Role.MANAGER, name="Other boss"))
    return {
        "boss": boss,
        "victim": make_user(name="Victim", team=income, email="victim@example.test"),
        "witness": make_user(name="Witness", team=other),
        "admin": make_user(Role.ADMIN, name="Ada Admin"),
        "hr": make_user(Role.HR, name="Hanna HR"),
    }


@pytest.fixture
def incident(org, frozen):
    return services.save_report(
        org["victim"],
        "audit-test-token-0001",
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            types=[IncidentType.PHYSICAL],
            description=DESCRIPTION,
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            perpetrator_known=PerpetratorKnown.KNOWN,
            perpetrator_name=PERPETRATOR,
        ),
        submit=True,
    )


def events(action=None):
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


def row_text(event: AuditEvent) -> str:
    return repr(
        (event.actor_id, event.action, event.object_type, event.object_id, event.details)
    ) + repr(event.address)


def client_of(app, user):
    return login(app.test_client(), user)


def post_login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


# What is recorded


def test_login_failed_logins_and_logout_are_recorded_without_what_was_typed(client, org):
    victim = org["victim"]
    post_login(client, "nobody-at-all@example.test", "a guessed secret")
    post_login(client, "victim@example.test", "wrong password typed")
    assert post_login(client, "victim@example.test", PASSWORD).status_code == 302
    assert client.post("/logout").status_code == 302

    unknown, wrong = events("auth.login_failed")
    assert (unknown.actor_id, unknown.object_id, unknown.details) == (
        None,
        None,
        {"account_exists": False},
    )
    assert (wrong.actor_id, wrong.object_type, wrong.object_id, wrong.details) == (
        None,
        "user",
        victim.id,
        {"account_exists": True},
    )
    for event in (unknown, wrong):
        assert event.address == ADDRESS
        for typed in ("nobody-at-all", "guessed secret", "victim@example", "wrong password"):
            assert typed not in row_text(event)

    (login_event,) = events("auth.login")
    (logout_event,) = events("auth.logout")
    for event in (login_event, logout_event):
        assert (event.actor_id, event.object_type, event.object_id, event.address) == (
            victim.id,
            "user",
            victim.id,
            ADDRESS,
        )
        assert PASSWORD not in row_text(event)


def test_incident_and_step_views_are_recorded(app, org, incident, frozen):
    victim, witness, boss = org["victim"], org["witness"], org["boss"]
    assert client_of(app, victim).get(f"/incidents/{incident.id}").status_code == 200
    assert client_of(app, witness).get(f"/incidents/{incident.id}").status_code == 200
    assert client_of(app, victim).get(f"/incidents/{incident.id}/edit").status_code == 200
    step = db.session.scalar(
        select(AftercareStep).where(AftercareStep.owner_id == boss.id).order_by(AftercareStep.id)
    )
    assert step is not None
    assert client_of(app, boss).get(f"/aftercare/steps/{step.id}").status_code == 200

    full, seen_by_witness = events("incident.view")
    assert (full.actor_id, full.details) == (victim.id, {"view": "full"})
    assert (seen_by_witness.actor_id, seen_by_witness.details) == (witness.id, {"view": "witness"})
    (edit,) = events("incident.view_edit")
    assert (edit.actor_id, edit.details) == (victim.id, {"view": "full"})
    for event in (full, seen_by_witness, edit):
        assert (event.object_type, event.object_id, event.address) == (
            "incident",
            incident.id,
            ADDRESS,
        )
    (step_view,) = events("step.view")
    assert (step_view.actor_id, step_view.object_type, step_view.object_id) == (
        boss.id,
        "aftercarestep",
        step.id,
    )
    assert (step_view.details, step_view.address) == ({"incident": incident.id}, ADDRESS)


def test_an_admin_change_and_an_export_are_recorded(app, org, frozen):
    admin = client_of(app, org["admin"])
    response = admin.post(
        "/admin/users/new",
        data={
            "name": "Nina New",
            "email": "nina@example.test",
            "role": "employee",
            "team": "0",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 302
    (created,) = [e for e in events("user.create") if e.actor_id is not None]
    assert (created.actor_id, created.object_type, created.address) == (
        org["admin"].id,
        "user",
        ADDRESS,
    )
    assert "nina" not in row_text(created).lower()

    assert client_of(app, org["hr"]).get("/hr/statistics?by=channel").status_code == 200
    (view,) = events("stats.view")
    assert (view.actor_id, view.address, view.details) == (org["hr"].id, ADDRESS, {"by": "channel"})


def sweep(app, org, incident):
    """Every kind of action once; yields after each, so a caller can look in between."""
    anonymous = app.test_client()
    post_login(anonymous, "victim@example.test", "wrong")
    yield
    post_login(anonymous, "victim@example.test", PASSWORD)
    yield
    victim = client_of(app, org["victim"])
    victim.get(f"/incidents/{incident.id}")
    yield
    victim.get(f"/incidents/{incident.id}/edit")
    yield
    client_of(app, org["witness"]).get(f"/incidents/{incident.id}")
    yield
    step = db.session.scalar(select(AftercareStep).where(AftercareStep.owner_id == org["boss"].id))
    assert step is not None
    client_of(app, org["boss"]).get(f"/aftercare/steps/{step.id}")
    yield
    client_of(app, org["hr"]).get("/hr/statistics?period=2025")
    yield
    admin = client_of(app, org["admin"])
    admin.post(f"/admin/users/{org['witness'].id}/active")
    yield
    admin.get("/admin/audit")
    admin.get(f"/admin/audit?object_type=incident&object_id={incident.id}")
    yield
    anonymous.post("/logout")
    yield


def test_entries_never_hold_contents(app, org, incident, frozen):
    for _ in sweep(app, org, incident):
        pass
    recorded = events()
    assert {e.action for e in recorded} >= {
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "incident.submit",
        "incident.view",
        "incident.view_edit",
        "step.view",
        "stats.view",
        "user.deactivate",
        "audit.view",
    }
    for event in recorded:
        text = row_text(event)
        for content in (DESCRIPTION, "Zebracrossing", PERPETRATOR, "Vermeulen"):
            assert content not in text


# Nothing can change or remove an entry


def test_no_route_changes_or_removes_audit_entries(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/audit")]
    assert rules, "the audit trail page exists"
    for rule in rules:
        assert not (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}, rule.rule


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_to_the_audit_page_is_refused(app, org, method):
    admin = client_of(app, org["admin"])
    before = len(events())
    assert getattr(admin, method)("/admin/audit").status_code == 405
    assert len(events()) == before


def test_entries_only_grow_across_a_sweep_of_actions(app, org, incident, frozen):
    seen: dict[int, str] = {}
    for _ in sweep(app, org, incident):
        db.session.expire_all()
        now = {e.id: row_text(e) for e in events()}
        assert all(now.get(i) == text for i, text in seen.items())  # nothing changed or gone
        assert len(now) >= len(seen)
        seen = now
    assert len(seen) > 10


# The privacy officer's search


def trail(org, count=3, **overrides):
    """`count` entries per person, by hand, one a day going back from NOW."""
    with services.transaction():
        for n in range(count):
            for who in (org["victim"], org["boss"]):
                event = services.audit(who, overrides.get("action", "incident.view"), who)
                event.at = NOW - timedelta(days=n)


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    # Reading the trail is recorded too; those entries are left out here.
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body, re.S) if "audit.view" not in r]


@pytest.fixture
def officer(app, org, frozen):
    return client_of(app, org["admin"])


def test_the_page_lists_entries_newest_first_with_their_columns(officer, org):
    with services.transaction():
        services.audit(org["victim"], AuditAction.AUTH_LOGIN, org["victim"]).address = "10.0.0.7"
        services.audit(None, AuditAction.RETENTION_RUN, None, deleted=2, note="<b>x</b>")
    page = officer.get("/admin/audit").text
    newest, oldest = rows(page)[:2]
    assert "system" in newest or "systeem" in newest
    assert "deleted=2 note=&lt;b&gt;x&lt;/b&gt;" in newest  # escaped, never markup
    assert "Victim" in oldest and "auth.login" in oldest and "10.0.0.7" in oldest
    assert f"user {org['victim'].id}" in oldest
    assert 'class="table-wrap" tabindex="0" role="region" aria-label=' in page
    assert "/admin/audit" in officer.get("/admin/users").text


def test_filters_by_person_action_object_and_period(officer, org, frozen):
    victim, boss = org["victim"], org["boss"]

    def shown(query):
        return rows(officer.get("/admin/audit?" + query).text)

    setting_up = len(shown(""))  # the accounts and teams of the fixture
    trail(org, count=3)
    with services.transaction():
        services.audit(org["boss"], AuditAction.AUTH_LOGOUT, org["boss"])
    assert len(shown("")) == setting_up + 7
    assert all("Victim" in r for r in shown(f"person={victim.id}"))
    assert len(shown(f"person={victim.id}")) == 3
    assert len(shown("action=auth.logout")) == 1
    assert len(shown("action=auth.*")) == 1
    assert len(shown("action=incident.view")) == 6
    # with the account creation and becoming a team manager
    assert len(shown(f"object_type=user&object_id={boss.id}")) == 6
    # Dates are days in the organisation's time zone, both ends included.
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    assert len(shown(f"since={yesterday}&until={yesterday}")) == 2
    assert len(shown(f"since={yesterday}&action=incident.view")) == 4
    assert len(shown(f"until={yesterday}&action=incident.view")) == 4
    with services.transaction():  # 23:30 UTC is already the next day in Amsterdam
        services.audit(boss, AuditAction.INCIDENT_VIEW_EDIT, boss).at = datetime(
            2026, 3, 7, 23, 30, tzinfo=UTC
        )
    assert len(shown("since=2026-03-08&until=2026-03-08&action=incident.view_edit")) == 1
    assert len(shown("since=2026-03-07&until=2026-03-07&action=incident.view_edit")) == 0
    assert len(shown(f"person={boss.id}&action=incident.view&since={yesterday}")) == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("person=abc", "person"),
        ("person=99999", "person"),
        ("action=drop table", "action"),
        ("object_type=%00", None),  # control characters are dropped from all input: an empty filter
        ("object_type=no-such-type", "object_type"),
        ("object_id=-1", "object_id"),
        ("object_id=1e999", "object_id"),
        ("object_id=99999999999999999999", "object_id"),
        ("since=2025-13-45", "since"),
        ("since=0001-01-01", "since"),
        ("until=9999-12-31", "until"),
        ("since=2026-03-10&until=2026-03-01", "until"),
        ("before=abc", None),
        ("before=-5", None),
        ("before=99999999999999999999", None),
    ],
)
def test_bad_filter_input_is_ignored_with_a_message(officer, org, frozen, query, field):
    trail(org, count=1)
    everything = len(rows(officer.get("/admin/audit").text))
    response = officer.get("/admin/audit?" + query)
    assert response.status_code == 200
    assert len(rows(response.text)) == everything  # the bad filter restricts nothing
    assert form_errors(response.text) == ([field] if field else [])


def next_page(html: str) -> str:
    """The page's link to the next (older) page."""
    found = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', html)
    assert found is not None, "no link to a next page"
    return found.group(1)


def test_keyset_paging_by_fifty(officer, org, frozen):
    trail(org, count=60)  # 120 entries
    first = officer.get("/admin/audit?action=incident.view").text
    assert len(rows(first)) == 50
    older = next_page(first)
    assert "action=incident.view" in older.replace("&amp;", "&")
    second = officer.get(older.replace("&amp;", "&")).text
    third_link = next_page(second)
    third = officer.get(third_link.replace("&amp;", "&")).text
    assert (len(rows(second)), len(rows(third))) == (50, 20)
    assert 'rel="next"' not in third
    ids = [int(i) for i in re.findall(r"before=(\d+)", older + third_link)]
    assert ids[0] > ids[1]


def test_the_page_runs_a_constant_number_of_queries(officer, org, make_user, count_queries):
    trail(org, count=1)
    with count_queries() as few:
        officer.get("/admin/audit")
    people = [make_user() for _ in range(10)]
    with services.transaction():
        for n in range(60):
            services.audit(people[n % 10], list(AuditAction)[n % 7], people[n % 10])
    with count_queries() as many:
        officer.get("/admin/audit")
    assert many.count == few.count


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR])
def test_only_admins_see_the_trail(app, make_user, role):
    assert client_of(app, make_user(role)).get("/admin/audit").status_code == 403
    assert app.test_client().get("/admin/audit").status_code == 302
