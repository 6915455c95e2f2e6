"""Route inventory and role matrix: every route is either public or states who may enter.

A new route without an entry in ROLE_MATRIX fails `test_every_route_is_in_the_matrix`. The
public endpoints are written out here, never imported from the code this checks: which routes
are public is found by requesting every one of them without a login.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Role
from tests.conftest import login

E, M, H, A = Role.EMPLOYEE, Role.MANAGER, Role.HR, Role.ADMIN
EVERYONE = frozenset(Role)

# What anyone may open without logging in: exactly these, no more.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "auth.set_language",
        "auth.reset_password",  # the link in the mail is the credential
        "auth.two_factor_login",  # the second step of a login: nobody is logged in yet
        "auth.oidc_login",  # single sign-on: the button on the login page
        "auth.oidc_callback",  # the provider's answer is checked there (state, ID token)
        "main.healthz",
        "main.readyz",
        "aftercare.calendar_feed",  # the secret token in the address is the key
        # The directory's SCIM API: a bearer token instead of a session (tests/web/test_scim.py).
        "scim.service_provider_config",
        "scim.schemas",
        "scim.schema",
        "scim.resource_types",
        "scim.resource_type",
        "scim.users",
        "scim.user",
        "scim.groups",
        "scim.group",
        "scim.search",
        "scim.unknown",
        "api.alarms_webhook",
        # The installable web app: the same for everyone, nothing personal in them.
        "main.manifest",
        "main.service_worker",
    }
)

# endpoint -> roles that may enter; the public endpoints are above.
ROLE_MATRIX: dict[str, frozenset[Role]] = {
    "main.index": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.change_password": EVERYONE,
    "auth.sessions": EVERYONE,
    "auth.two_factor": EVERYONE,
    "auth.two_factor_qr": EVERYONE,
    "auth.two_factor_start": EVERYONE,
    "auth.two_factor_confirm": EVERYONE,
    "auth.two_factor_recovery_codes": EVERYONE,
    "auth.two_factor_off": EVERYONE,
    "admin.reset_two_factor": frozenset({A}),
    "admin.users": frozenset({A}),
    "admin.new_user": frozenset({A}),
    "admin.edit_user": frozenset({A}),
    "admin.set_user_active": frozenset({A}),
    "admin.teams": frozenset({A}),
    "admin.new_team": frozenset({A}),
    "admin.edit_team": frozenset({A}),
    "admin.set_team_active": frozenset({A}),
    "admin.aftercare_owners": frozenset({A}),
    "admin.mail": frozenset({A}),
    "admin.retry_mail": frozenset({A}),
    "admin.send_password_link": frozenset({A}),
    "admin.org_import": frozenset({A}),
    "admin.org_import_upload": frozenset({A}),
    "admin.org_import_run": frozenset({A}),
    "admin.org_import_apply": frozenset({A}),
    "admin.org_import_csv": frozenset({A}),
    "admin.alarms_page": frozenset({A}),
    "admin.locations": frozenset({A}),
    "admin.new_location": frozenset({A}),
    "admin.edit_location": frozenset({A}),
    "admin.set_location_archived": frozenset({A}),
    "admin.location_poster": frozenset({A}),
    "admin.location_qr": frozenset({A}),
    "admin.scim": frozenset({A}),
    "admin.create_scim_token": frozenset({A}),
    "admin.revoke_scim_token": frozenset({A}),
    # Incident pages: every role reports and follows its own; object-level rules
    # (tests/web/test_visibility.py, test_ownership.py) decide which incidents.
    "reporting.new": EVERYONE,
    "reporting.colleagues": EVERYONE,
    "reporting.quick": EVERYONE,
    "reporting.mine": EVERYONE,
    "reporting.detail": EVERYONE,
    "reporting.edit": EVERYONE,
    "reporting.discard": EVERYONE,
    # Evidence: object-level rules in access.py (tests/web/test_evidence.py).
    "reporting.add_evidence": EVERYONE,
    "reporting.evidence_file": EVERYONE,
    "reporting.evidence_original": EVERYONE,
    "reporting.remove_evidence": EVERYONE,
    "reporting.evidence_for_police": EVERYONE,
    "reporting.police_bundle": EVERYONE,
    "admin.evidence_settings": frozenset({A}),
    # The page "What happens now" and the contacts an admin chooses for it.
    "main.help": EVERYONE,
    "admin.help_contacts": frozenset({A}),
    "admin.measure_letter": frozenset({A}),
    # Offline reporting: the shells a device keeps and the token for sending what it kept.
    "reporting.offline_report": EVERYONE,
    "reporting.offline_quick": EVERYONE,
    "reporting.offline_token": EVERYONE,
    # The register of measures: every role may reach it; access.py decides (managers and
    # security officers; tests/web/test_measures.py tries every role on every measure).
    "measures.register": EVERYONE,
    "measures.propose": EVERYONE,
    "measures.detail": EVERYONE,
    "measures.approve": EVERYONE,
    "measures.hearing": EVERYONE,
    "measures.notice_sent": EVERYONE,
    "measures.close": EVERYONE,
    "measures.extend": EVERYONE,
    "measures.notice_pdf": EVERYONE,
    # The lookup at the counter: the front-office flag decides (test_measure_lookup.py).
    "measures.lookup": EVERYONE,
    # Corrective actions: every role may reach them, access.py decides (the owner, those who
    # lead the team, HR, admins and the works council; tests/web/test_actions.py tries every
    # role on every action). Adding one is from a team evaluation: managers only.
    "actions.new": frozenset({M}),
    "actions.detail": EVERYONE,
    "actions.change": EVERYONE,
    "actions.close": EVERYONE,
    "actions.review": EVERYONE,
    "actions.cancel": EVERYONE,
    "actions.mine": EVERYONE,
    "actions.team": EVERYONE,
    "actions.overview": EVERYONE,
    "actions.overview_csv": EVERYONE,
    "aftercare.inbox": frozenset({M}),
    "aftercare.step": frozenset({M}),
    "aftercare.hand": frozenset({M}),
    "aftercare.absence": frozenset({M}),
    "aftercare.police_outcome": frozenset({M}),
    "aftercare.police_reference": frozenset({M}),
    "aftercare.correct": frozenset({M}),
    # Statistics: HR only (anonymised); conversation counts: HR and admins.
    "aftercare.renew_calendar": frozenset({M}),
    "admin.audit": frozenset({A}),
    "admin.audit_csv": frozenset({A}),
    "admin.legal_holds": frozenset({A}),
    "admin.set_legal_hold": frozenset({A}),
    "admin.privacy_overview": frozenset({A}),
    "auth.my_data": EVERYONE,
    "auth.my_data_json": EVERYONE,
    "auth.my_data_zip": EVERYONE,
    "hr.statistics": frozenset({H}),
    "hr.statistics_csv": frozenset({H}),
    "hr.report": frozenset({H}),
    "hr.report_pdf": frozenset({H}),
    "hr.conversations": frozenset({H, A}),
    "hr.conversations_upload": frozenset({H, A}),
    # Organisational measures: HR and admins record them, only HR sees their figures.
    "learning.measures": frozenset({H, A}),
    "learning.new": frozenset({H, A}),
    "learning.detail": frozenset({H, A}),
    "learning.edit": frozenset({H, A}),
    "learning.end": frozenset({H, A}),
    "learning.delete": frozenset({H, A}),
    "learning.comparison_csv": frozenset({H}),
}

# Routes about one object: an allowed role may still get 404 for an object that is not theirs.
OBJECT_ROUTES = {
    "reporting.detail",
    "reporting.edit",
    "reporting.discard",
    "reporting.add_evidence",
    "reporting.evidence_file",
    "reporting.evidence_original",
    "reporting.remove_evidence",
    "reporting.evidence_for_police",
    "reporting.police_bundle",
    "measures.register",  # only for managers and security officers: 404 for others
    "measures.propose",
    "measures.detail",
    "measures.approve",
    "measures.hearing",
    "measures.notice_sent",
    "measures.close",
    "measures.extend",
    "measures.notice_pdf",
    "measures.lookup",  # only with the front-office permission: 404 for others
    "actions.new",  # no team evaluation step with id 1: 404
    "actions.detail",
    "actions.change",
    "actions.close",
    "actions.review",
    "actions.cancel",
    "actions.team",  # only for those who lead the team, HR, admins and the works council
    "actions.overview",  # only HR, admins and the works council: 404 for others
    "actions.overview_csv",
    "aftercare.step",
    "aftercare.hand",
    "aftercare.police_outcome",
    "aftercare.police_reference",
    "aftercare.correct",
    "hr.statistics_csv",  # a table that does not exist: 404
    "admin.org_import_run",  # an import that does not exist: 404
    "admin.org_import_apply",
    "admin.org_import_csv",
    "auth.two_factor_qr",  # no secret being set up: 404
    "admin.revoke_scim_token",  # no token has been made: 404
    "admin.edit_location",  # no location has been made: 404
    "admin.set_location_archived",
    "admin.location_poster",
    "admin.location_qr",
    "learning.detail",  # no measure has been recorded: 404
    "learning.edit",
    "learning.end",
    "learning.delete",
    "learning.comparison_csv",
}


def routes(app):
    """(endpoint, method, url) for every rule, with ids of real objects filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else "POST"
        values: dict[str, Any] = {arg: 1 for arg in rule.arguments}
        if rule.endpoint == "static":
            values = {"filename": "css/app.css"}
        with app.test_request_context():
            from flask import url_for

            found.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return found


def test_every_route_is_in_the_matrix(app):
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    unlisted = endpoints - set(ROLE_MATRIX) - PUBLIC_ENDPOINTS
    assert not unlisted, f"routes without a role-matrix entry: {sorted(unlisted)}"
    stale = set(ROLE_MATRIX) - endpoints
    assert not stale, f"matrix entries without a route: {sorted(stale)}"


def test_exactly_the_public_endpoints_open_without_a_login(client, app):
    """Every route is requested without a login: all but the public ones send to the login."""
    let_through = set()
    for endpoint, method, url in routes(app):
        response = client.open(url, method=method)
        location = response.headers.get("Location", "")
        response.close()
        if response.status_code == 302 and location.startswith("/login?next="):
            continue
        let_through.add(endpoint)
    assert let_through == PUBLIC_ENDPOINTS


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_matrix(client, app, make_user, make_team, role):
    # Objects with id 1 exist, so allowed routes do not answer 404 for want of an object.
    user = make_user(role)
    make_team()
    login(client, user)
    for endpoint, method, url in routes(app):
        if endpoint in PUBLIC_ENDPOINTS or endpoint == "auth.logout":
            continue
        data: dict[str, str] = {}
        response = (
            client.open(url, method=method, data=data)
            if method == "GET"
            else client.post(url, data=data)
        )
        if role in ROLE_MATRIX[endpoint]:
            refused = (403,) if endpoint in OBJECT_ROUTES else (403, 404)
            assert response.status_code not in refused, (role, endpoint, response.status_code)
        else:
            assert response.status_code == 403, (role, endpoint, response.status_code)


def test_views_declare_the_roles_of_the_matrix(app):
    """The guard's declarations and the matrix agree exactly."""
    for endpoint, roles in ROLE_MATRIX.items():
        view = app.view_functions[endpoint]
        assert getattr(view, "allowed_roles", frozenset()) == roles, endpoint


def test_a_view_without_declared_roles_is_closed(app, make_user):
    from tests.conftest import make_app

    admin = make_user(Role.ADMIN)
    probe = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    probe.add_url_rule("/_undeclared_probe", "undeclared_probe", lambda: "open")
    client = probe.test_client()
    login(client, admin)
    assert client.get("/").status_code == 200
    assert client.get("/_undeclared_probe").status_code == 403
    with probe.app_context():
        from incidents.extensions import db

        db.engine.dispose()


def test_unknown_ids_answer_404(login_as):
    client = login_as(Role.ADMIN)
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.get("/admin/teams/999999/edit").status_code == 404
    assert client.post("/admin/users/999999/active").status_code == 404
    assert client.get("/admin/users/abc/edit").status_code == 404
    assert client.get("/no/such/page").status_code == 404
