"""Provisioning from the directory (SCIM 2.0): conformance checked by scim2-tester against the
live endpoint, the shapes Microsoft Entra ID sends, managers and teams, tokens, bad input.

scim2-tester runs every check it has against a real server on a loopback port (a scim2-client
over HTTP); the checks left out are listed in EXCLUDED with the reason.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from scim2_client import BaseSyncSCIMClient, RequestNetworkException
from scim2_tester import Status, check_server
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from incidents.extensions import db
from incidents.models import (
    AccountSource,
    AuditAction,
    AuditEvent,
    Role,
    ScimToken,
    Team,
    User,
    UserSession,
)
from incidents.services import scim_tokens
from tests.conftest import login

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture
def token(app: Flask, make_user: Callable[..., User]) -> str:
    """The secret of a token an admin made."""
    admin = make_user(Role.ADMIN)
    return scim_tokens.create(admin, "Entra ID").secret


class Scim:
    """The test client as a directory: JSON bodies, the bearer token, the answer's JSON."""

    def __init__(self, app: Flask, secret: str) -> None:
        self.client = app.test_client()
        self.secret = secret

    def __call__(
        self, method: str, path: str, body: Any = None, *, raw: str | None = None, **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.secret}"} | kw.pop("headers", {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.client.open(
            "/scim/v2" + path,
            method=method,
            data=data,
            headers=headers,
            content_type="application/scim+json",
            **kw,
        )
        # 501 is the one server error a request may get: POST /.search is not offered
        assert response.status_code < 500 or response.status_code == 501, (
            method,
            path,
            response.get_data(as_text=True),
        )
        if response.status_code != 204:
            assert response.mimetype == "application/scim+json", response.get_data(as_text=True)
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self("GET", path, **kw)

    def post(self, path: str, body: Any) -> Any:
        return self("POST", path, body)

    def patch(self, path: str, *operations: dict[str, Any]) -> Any:
        return self("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})


@pytest.fixture
def scim(app: Flask, token: str) -> Scim:
    return Scim(app, token)


def new_user(scim: Scim, user_name: str, **attributes: Any) -> dict[str, Any]:
    body = {"schemas": [CORE_USER, ENTERPRISE], "userName": user_name, "active": True}
    body.setdefault("displayName", user_name.split("@")[0].title())
    body.update(attributes)
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def new_group(scim: Scim, name: str, *member_ids: str, **attributes: Any) -> dict[str, Any]:
    body = {"schemas": [CORE_GROUP], "displayName": name} | attributes
    if member_ids:
        body["members"] = [{"value": member_id} for member_id in member_ids]
    response = scim.post("/Groups", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def account(user_id: str | int) -> User:
    db.session.expire_all()
    user = db.session.get(User, int(user_id))
    assert user is not None
    return user


def team_of(group_id: str | int) -> Team:
    db.session.expire_all()
    team = db.session.get(Team, int(group_id))
    assert team is not None
    return team


def is_error(response: Any, status: int, scim_type: str | None = None) -> bool:
    body = response.json
    return (
        response.status_code == status
        and body["schemas"] == [ERROR]
        and body["status"] == str(status)
        and (scim_type is None or body.get("scimType") == scim_type)
    )


# --- scim2-tester against the live endpoint ------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_scim(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, in a thread; BASE_URL is its address (the
    resources' locations start with it). Yields the SCIM base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setitem(app.config, "BASE_URL", base)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield base + "/scim/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class HttpScimClient(BaseSyncSCIMClient):
    """A scim2-client engine over `requests` (the app's own HTTP library): real HTTP to the
    live server, the bearer token on every request."""

    def __init__(self, base_url: str, secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {secret}"

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = urlsplit(self.base_url)
        url = urlsplit(endpoint if "://" in endpoint else self.base_url + endpoint)
        return (url.scheme, url.netloc) == (base.scheme, base.netloc) and (
            url.path.startswith(base.path) and ".." not in url.path.split("/")
        )

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        target = url if "://" in url else self.base_url + url
        try:
            return self.http.request(method, target, timeout=30, **kwargs)
        except requests.RequestException as error:
            raise RequestNetworkException() from error


# Checks whose failure is a choice of the app, not a fault: (check title, resource type,
# attribute path or None for the whole check) -> why.
EXCLUDED = {
    ("object_deletion", "User", None): (
        "DELETE deactivates an account and keeps it (its aftercare history and audit trail "
        "refer to it), so GET still finds it, with active false. RFC 7644 §3.6 would have "
        "it answer 404, but then the directory could no longer match a returning employee "
        "to their account by userName, and would POST a duplicate that the unique e-mail "
        "address refuses."
    ),
    ("check_remove_attribute", "User", "active"): (
        "An account is always active or not: removing active leaves it as it is."
    ),
}


def _excluded(result: Any) -> bool:
    path = result.data.get("urn") if isinstance(result.data, dict) else None
    return (result.title, result.resource_type, path) in EXCLUDED or (
        (result.title, result.resource_type, None) in EXCLUDED
    )


def test_scim2_tester_checks_pass(app: Flask, live_scim: str, token: str) -> None:
    client = HttpScimClient(live_scim, token)
    results = check_server(client)
    failed = [
        result
        for result in results
        if result.status in (Status.ERROR, Status.CRITICAL) and not _excluded(result)
    ]
    assert not failed, "\n".join(
        f"{r.title} {r.resource_type or ''} {r.reason}"[:800] for r in failed
    )
    passed = {(r.title, r.resource_type) for r in results if r.status is Status.SUCCESS}
    # The checks ran for real: discovery, and the whole life of both resource types.
    for title in ("service_provider_config_endpoint", "query_all_schemas", "random_url"):
        assert (title, None) in passed, title
    for resource_type in ("User", "Group"):
        for title in (
            "object_creation",
            "object_query",
            "object_query_without_id",
            "object_replacement",
            "check_add_attribute",
            "check_replace_attribute",
        ):
            assert (title, resource_type) in passed, (title, resource_type)
    assert ("object_deletion", "Group") in passed


# --- The token -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", "Basic dXNlcjpwYXNz", "bearer scim_" + "x" * 43],
    ids=["missing", "empty", "no-token", "wrong", "basic", "guessed"],
)
def test_a_missing_or_wrong_token_is_401(app, token, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    for path in ("/Users", "/Groups", "/ServiceProviderConfig", "/Users/1", "/nothing"):
        response = app.test_client().get("/scim/v2" + path, headers=headers)
        assert is_error(response, 401), path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = app.test_client().open(
        "/scim/v2/Users", method="POST", headers=headers, json={"userName": "x@example.test"}
    )
    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(User)) == 1  # the admin only


def test_a_revoked_token_is_401_and_the_bearer_scheme_is_case_insensitive(
    app, make_user, scim, token
):
    assert scim.get("/Users", headers={"Authorization": f"bearer {token}"}).status_code == 200
    row = db.session.scalar(select(ScimToken))
    assert row is not None and row.last_used_at is not None
    admin = make_user(Role.ADMIN)
    scim_tokens.revoke(admin, row.id)
    response = scim.get("/Users")
    assert is_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- Users ---------------------------------------------------------------------------------


def test_create_read_and_find_a_user(scim):
    created = new_user(
        scim,
        "Jan.Jansen@Example.Test",
        displayName="Jan Jansen",
        externalId="0a1b-2c3d",
        **{ENTERPRISE: {"employeeNumber": "E-123"}},
    )
    user = account(created["id"])
    assert (user.email, user.name, user.source) == (
        "jan.jansen@example.test",
        "Jan Jansen",
        AccountSource.SCIM,
    )
    assert (user.role, user.external_id, user.employee_number) == (
        Role.EMPLOYEE,
        "0a1b-2c3d",
        "E-123",
    )
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{user.id}")
    assert scim.get(f"/Users/{user.id}").json["userName"] == "jan.jansen@example.test"
    for query in (
        'userName eq "JAN.JANSEN@example.test"',
        'externalId eq "0a1b-2c3d"',
        f'{ENTERPRISE}:employeeNumber eq "E-123"',
        'userName eq "nobody@example.test" or externalId eq "0a1b-2c3d"',
        'externalId eq "0a1b-2c3d" and active eq true',
    ):
        found = scim.get("/Users", query_string={"filter": query}).json
        assert [r["id"] for r in found["Resources"]] == [created["id"]], query
        assert found["totalResults"] == 1
    assert (
        scim.get("/Users", query_string={"filter": 'externalId eq "0A1B-2C3D"'}).json[
            "totalResults"
        ]
        == 0
    )  # externalId is case-exact
    # Entra ID's "test connection": a filter that finds nobody is an empty list.
    empty = scim.get("/Users", query_string={"filter": 'userName eq "9f2c@none.test"'}).json
    assert (empty["totalResults"], empty["Resources"]) == (0, [])


def test_a_name_without_display_name_and_unknown_attributes_are_accepted(scim):
    created = new_user(
        scim,
        "piet@example.test",
        displayName=None,
        name={"givenName": "Piet", "familyName": "Pieters"},
        emails=[{"value": "p.pieters@example.test", "type": "work", "primary": True}],
        title="Baliemedewerker",
    )
    assert created["displayName"] == "Piet Pieters"
    # userName is the e-mail address: the emails attribute is not kept
    assert account(created["id"]).email == "piet@example.test"
    assert "emails" not in created and "title" not in created


def test_paging_with_start_index_and_count(scim):
    ids = [new_user(scim, f"p{n}@example.test")["id"] for n in range(5)]
    page = scim.get("/Users", query_string={"startIndex": "2", "count": "2"}).json
    everyone = scim.get("/Users").json
    assert everyone["totalResults"] == 6  # with the admin who made the token
    assert page["totalResults"] == 6 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][1:3]]
    assert ids[-1] in [r["id"] for r in everyone["Resources"]]
    assert scim.get("/Users", query_string={"count": "0"}).json["Resources"] == []
    assert scim.get("/Users", query_string={"count": "-3"}).json["itemsPerPage"] == 0
    assert scim.get("/Users", query_string={"startIndex": "-1"}).json["startIndex"] == 1
    assert scim.get("/Users", query_string={"startIndex": "99"}).json["Resources"] == []
    huge = scim.get("/Users", query_string={"count": "99999999999999"})
    assert is_error(huge, 400, "invalidValue")
    assert is_error(scim.get("/Users", query_string={"count": "ten"}), 400, "invalidValue")


def test_attributes_and_excluded_attributes(scim):
    created = new_user(scim, "a@example.test", externalId="x-1")
    only = scim.get(f"/Users/{created['id']}", query_string={"attributes": "userName"}).json
    assert only["userName"] == "a@example.test" and "displayName" not in only and only["id"]
    less = scim.get(
        "/Users",
        query_string={"excludedAttributes": "displayName", "filter": 'externalId eq "x-1"'},
    ).json["Resources"][0]
    assert "displayName" not in less and less["userName"] == "a@example.test"


@pytest.mark.parametrize(
    "query",
    [
        'userName sw "j"',
        'emails.value eq "a@example.test"',
        'title eq "x"',
        "userName eq",
        'userName eq "a" and',
        "(((((",
        'not (userName eq "a")',
        "userName pr",
        'members[value eq "1"]',
        "x" * 2000,
        "(" * 500 + 'userName eq "a"' + ")" * 500,
    ],
)
def test_an_unsupported_or_bad_filter_is_400_invalid_filter(scim, query):
    for resource in ("/Users", "/Groups"):
        response = scim.get(resource, query_string={"filter": query})
        assert is_error(response, 400, "invalidFilter"), (resource, query, response.json)


def test_a_filter_with_many_alternatives_is_refused_before_it_multiplies(scim):
    terms = " and ".join(f'(userName eq "{n}" or externalId eq "{n}")' for n in range(8))
    assert is_error(scim.get("/Users", query_string={"filter": terms}), 400, "invalidFilter")


def test_a_taken_user_name_or_external_id_is_409_uniqueness(scim, make_user):
    make_user(Role.EMPLOYEE, email="taken@example.test")
    body = {"schemas": [CORE_USER], "userName": "Taken@Example.test", "displayName": "T"}
    assert is_error(scim.post("/Users", body), 409, "uniqueness")
    first = new_user(scim, "one@example.test", externalId="ext-1")
    second = new_user(scim, "two@example.test")
    body = {
        "schemas": [CORE_USER],
        "userName": "three@example.test",
        "displayName": "T",
        "externalId": "ext-1",
    }
    assert is_error(scim.post("/Users", body), 409, "uniqueness")
    response = scim.patch(
        f"/Users/{second['id']}", {"op": "replace", "path": "userName", "value": "one@example.test"}
    )
    assert is_error(response, 409, "uniqueness")
    assert account(second["id"]).email == "two@example.test"
    assert account(first["id"]).external_id == "ext-1"


# --- Entra ID's PATCH ---------------------------------------------------------------------


def test_entra_patch_shapes(scim, app):
    created = new_user(scim, "e@example.test", displayName="Eva")
    path = f"/Users/{created['id']}"
    user = account(created["id"])
    login(app.test_client(), user)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1

    response = scim.patch(path, {"op": "Replace", "path": "active", "value": "False"})
    assert response.status_code == 200 and response.json["active"] is False
    assert account(created["id"]).active is False
    # a deactivation ends every session of the account at once
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0

    response = scim.patch(path, {"op": "replace", "value": {"active": True}})
    assert response.json["active"] is True and account(created["id"]).active

    response = scim.patch(
        path,
        {"op": "Replace", "path": "displayName", "value": "Eva de Vries"},
        {"op": "Add", "path": "name.givenName", "value": "Eva"},
        {"op": "Replace", "path": "name.familyName", "value": "de Vries"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "eva@example.test"},
        {"op": "Add", "path": "externalId", "value": "entra-object-1"},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "4711"},
    )
    assert response.status_code == 200, response.json
    user = account(created["id"])
    assert (user.name, user.email, user.external_id, user.employee_number) == (
        "Eva de Vries",
        "e@example.test",
        "entra-object-1",
        "4711",
    )
    # a replace without a path, its keys attribute paths (Entra ID sends these too)
    response = scim.patch(
        path, {"op": "replace", "value": {"displayName": "Eva V.", "name.givenName": "E"}}
    )
    assert response.status_code == 200 and account(created["id"]).name == "Eva V."


def test_delete_deactivates_and_keeps_the_account(scim, app):
    created = new_user(scim, "leaver@example.test")
    login(app.test_client(), account(created["id"]))
    response = scim("DELETE", f"/Users/{created['id']}")
    assert response.status_code == 204
    user = account(created["id"])
    assert user.active is False
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
    assert scim.get(f"/Users/{created['id']}").json["active"] is False
    assert scim("DELETE", f"/Users/{created['id']}").status_code == 204  # again: no change
    actions = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "user", AuditEvent.object_id == user.id
        )
    ).all()
    assert actions.count(AuditAction.USER_DEACTIVATE) == 1
    assert AuditAction.SCIM_REQUEST in actions
    # and the directory may bring the person back
    response = scim.patch(
        f"/Users/{created['id']}", {"op": "Replace", "path": "active", "value": "True"}
    )
    assert response.json["active"] is True


# --- Managers ------------------------------------------------------------------------------


def manager_patch(manager_id: str) -> dict[str, Any]:
    return {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager_id}


def test_the_manager_becomes_the_manager_of_the_persons_team(scim):
    person = new_user(scim, "worker@example.test")
    boss = new_user(scim, "boss@example.test")
    group = new_group(scim, "Burgerzaken", person["id"])
    response = scim.patch(f"/Users/{person['id']}", manager_patch(boss["id"]))
    assert response.status_code == 200, response.json
    assert response.json[ENTERPRISE]["manager"]["value"] == boss["id"]
    team = team_of(group["id"])
    assert team.manager_id == int(boss["id"])
    assert account(boss["id"]).role is Role.MANAGER  # an employee became a manager
    # A new manager for someone in the team: the team's manager changes, audited.
    other = new_user(scim, "other.boss@example.test")
    scim.patch(f"/Users/{person['id']}", manager_patch(other["id"]))
    assert team_of(group["id"]).manager_id == int(other["id"])
    changes = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.TEAM_UPDATE, AuditEvent.object_id == team.id
        )
    ).all()
    assert [event.details["fields"] for event in changes] == [["manager_id"], ["manager_id"]]
    roles = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.USER_TEAM_ROLE)
    ).all()
    assert {(e.object_id, e.details["change"]) for e in roles} >= {
        (int(boss["id"]), "removed"),
        (int(other["id"]), "added"),
    }
    # Removing the manager of someone in a directory group leaves the team's manager.
    scim.patch(f"/Users/{person['id']}", {"op": "Remove", "path": f"{ENTERPRISE}:manager"})
    assert team_of(group["id"]).manager_id == int(other["id"])


def test_someone_without_a_team_joins_the_team_their_manager_runs(scim):
    boss = new_user(scim, "chief@example.test", displayName="Chief")
    person = new_user(scim, "new@example.test", **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    team = account(person["id"]).team
    assert team is not None and team.manager_id == int(boss["id"]) and team.name_nl == "Team Chief"
    # a second report joins the same team; the manager as a bare id (Entra ID)
    second = new_user(scim, "second@example.test", **{ENTERPRISE: {"manager": boss["id"]}})
    assert account(second["id"]).team_id == team.id
    assert scim.get(f"/Users/{second['id']}").json[ENTERPRISE]["manager"]["value"] == boss["id"]
    # removing the manager: out of the team that was made for them
    scim.patch(f"/Users/{second['id']}", {"op": "Remove", "path": f"{ENTERPRISE}:manager"})
    assert account(second["id"]).team_id is None
    assert ENTERPRISE not in scim.get(f"/Users/{second['id']}").json
    # a change of manager moves the person to the new manager's team
    other = new_user(scim, "other@example.test", displayName="Other")
    scim.patch(f"/Users/{person['id']}", manager_patch(other["id"]))
    moved = account(person["id"]).team
    assert moved is not None and moved.manager_id == int(other["id"]) and moved.id != team.id
    # a made-up team is not the directory's: no externalId, and a group joined from it takes
    # the manager along when it has none
    assert "externalId" not in scim.get(f"/Groups/{moved.id}").json
    group = new_group(scim, "Vergunningen", person["id"])
    assert team_of(group["id"]).manager_id == int(other["id"])


def test_the_manager_of_someone_who_runs_a_team_is_the_manager_above(scim):
    lead = new_user(scim, "lead@example.test")
    member = new_user(scim, "member@example.test")
    head = new_user(scim, "head@example.test")
    group = new_group(scim, "Team Noord", lead["id"], member["id"])
    scim.patch(f"/Users/{member['id']}", manager_patch(lead["id"]))
    assert team_of(group["id"]).manager_id == int(lead["id"])
    scim.patch(f"/Users/{lead['id']}", manager_patch(head["id"]))
    team = team_of(group["id"])
    assert team.manager_id == int(lead["id"])  # unchanged: the lead still runs it
    assert team.parent is not None and team.parent.manager_id == int(head["id"])
    above = team.manager_above()
    assert above is not None and above.id == int(head["id"])  # escalation goes there
    assert scim.get(f"/Users/{lead['id']}").json[ENTERPRISE]["manager"]["value"] == head["id"]


def test_a_manager_the_app_cannot_make_a_team_manager_changes_nothing(scim, make_user):
    hr = make_user(Role.HR)
    person = new_user(scim, "p@example.test", displayName="Before")
    group = new_group(scim, "Team", person["id"])
    response = scim.patch(
        f"/Users/{person['id']}",
        {"op": "Replace", "path": "displayName", "value": "After"},
        manager_patch(str(hr.id)),
    )
    assert is_error(response, 400, "invalidValue") and "hr role" in response.json["detail"]
    # one transaction: the name did not change either
    assert account(person["id"]).name == "Before"
    assert team_of(group["id"]).manager_id is None
    for bad in ("999999", "abc", person["id"]):
        response = scim.patch(f"/Users/{person['id']}", manager_patch(bad))
        assert is_error(response, 400, "invalidValue"), bad


# --- Groups --------------------------------------------------------------------------------


def test_group_members_as_entra_id_sends_them(scim):
    ann, bob, cor = (new_user(scim, f"{n}@example.test")["id"] for n in ("ann", "bob", "cor"))
    group = new_group(scim, "Publiekszaken", externalId="grp-1")
    path = f"/Groups/{group['id']}"
    response = scim.patch(
        path, {"op": "Add", "path": "members", "value": [{"value": ann}, {"value": bob}]}
    )
    assert response.status_code == 200, response.json
    assert {account(i).team_id for i in (ann, bob)} == {int(group["id"])}
    scim.patch(path, {"op": "Remove", "path": f'members[value eq "{ann}"]'})
    assert account(ann).team_id is None and account(bob).team_id == int(group["id"])
    scim.patch(path, {"op": "Remove", "path": "members", "value": [{"value": bob}]})
    assert account(bob).team_id is None
    scim.patch(path, {"op": "Replace", "path": "displayName", "value": "Publiek"})
    team = team_of(group["id"])
    assert (team.name_nl, team.name_en) == ("Publiek", "Publiek")
    # PUT replaces the members; a person is in one team, so joining this one leaves the other
    other = new_group(scim, "Other", cor)
    body = {
        "schemas": [CORE_GROUP],
        "displayName": "Publiek",
        "externalId": "grp-1",
        "members": [{"value": cor}],
    }
    assert scim("PUT", path, body).status_code == 200
    assert account(cor).team_id == int(group["id"])
    assert "members" not in scim.get(f"/Groups/{other['id']}").json
    members = scim.get(path).json["members"]
    assert members == [{"value": cor, "$ref": members[0]["$ref"], "type": "User"}]
    assert (
        scim.get(path, query_string={"excludedAttributes": "members"}).json.get("members") is None
    )
    found = scim.get("/Groups", query_string={"filter": 'displayName eq "publiek"'}).json
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    found = scim.get("/Groups", query_string={"filter": 'externalId eq "grp-1"'}).json
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    for bad in ([{"value": "424242"}], [{"value": "x"}], [{"value": ann, "type": "Group"}]):
        response = scim.patch(path, {"op": "Add", "path": "members", "value": bad})
        assert is_error(response, 400, "invalidValue"), bad


def test_deleting_a_group_deactivates_the_team_and_its_members_leave_it(scim):
    person = new_user(scim, "m@example.test")["id"]
    group = new_group(scim, "Weg", person, externalId="gone-1")
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    assert team_of(group["id"]).active is False and account(person).team_id is None
    assert is_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert scim.get("/Groups").json["totalResults"] == 0
    # the directory sends the group again: the same team, active again
    again = new_group(scim, "Weg", person, externalId="gone-1")
    assert again["id"] == group["id"] and team_of(group["id"]).active
    assert is_error(
        scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "X", "externalId": "gone-1"}),
        409,
        "uniqueness",
    )


# --- Never a 500 ---------------------------------------------------------------------------

BAD_BODIES = [
    "",
    "{",
    "[]",
    '"text"',
    "null",
    "1e999",
    "{" * 50 + "}" * 50,
    '{"schemas": "x"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 5, "displayName": []}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a b@x", "displayName": "A"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "'
    + "a" * 300
    + '", "displayName": "A"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n@x", "displayName": "'
    + "n" * 500
    + '"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n\\u0000@x\\ud800", "displayName": "\\u0000"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n@x", "displayName": "N", "active": "maybe"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n@x", "displayName": "N", "externalId": "'
    + "e" * 300
    + '"}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n@x", "displayName": "N", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "99999999999999999999"}}}',
    '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": "-1"}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "frob", "path": "active"}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "id", "value": "9"}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "[[", "value": 1}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": null}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "displayName", "value": ["x"]}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": 5}]}',
    '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "all"}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_json_is_a_scim_400_never_a_500(scim, body):
    user = new_user(scim, "target@example.test")["id"]
    group = new_group(scim, "Target", user)["id"]
    for method, path in (
        ("POST", "/Users"),
        ("PUT", f"/Users/{user}"),
        ("PATCH", f"/Users/{user}"),
        ("POST", "/Groups"),
        ("PUT", f"/Groups/{group}"),
        ("PATCH", f"/Groups/{group}"),
    ):
        response = scim(method, path, raw=body)
        assert response.status_code in (400, 409), (method, path, response.json)
        assert response.json["schemas"] == [ERROR]
    assert account(user).email == "target@example.test" and account(user).team_id == int(group)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/Users/abc"),
        ("GET", "/Users/0"),
        ("GET", "/Users/99999999999999999999"),
        ("DELETE", "/Users/424242"),
        ("PATCH", "/Groups/424242"),
        ("GET", "/Groups/%00"),
        ("GET", "/Schemas/urn:nope"),
        ("GET", "/ResourceTypes/Nope"),
        ("GET", "/Users/1/more"),
        ("GET", "/"),
    ],
)
def test_unknown_resources_are_scim_404s(scim, method, path):
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "externalId", "value": "x"}],
    }
    assert is_error(scim(method, path, body if method == "PATCH" else None), 404)


def test_wrong_methods_and_discovery_filters(scim):
    response = scim("POST", "/Users/1", {})
    assert is_error(response, 405) and "GET" in response.headers["Allow"]
    assert is_error(scim("DELETE", "/Users"), 405)
    assert is_error(scim("POST", "/.search", {}), 501)
    assert is_error(scim.get("/Schemas", query_string={"filter": 'id eq "x"'}), 403)
    response = scim("POST", "/Users", raw="{" + '"x": "' + "a" * 300_000 + '"}')
    assert is_error(response, 413)


def test_discovery_describes_what_is_kept(scim):
    names = {
        s["id"]: [a["name"] for a in s["attributes"]]
        for s in scim.get("/Schemas").json["Resources"]
    }
    assert names == {
        CORE_USER: ["userName", "displayName", "active"],
        ENTERPRISE: ["employeeNumber", "manager"],
        CORE_GROUP: ["displayName", "members"],
    }
    config = scim.get("/ServiceProviderConfig").json
    assert config["patch"]["supported"] and config["filter"]["supported"]
    assert not config["bulk"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("/ResourceTypes").json["Resources"]
    assert {(t["name"], t["endpoint"]) for t in types} == {("User", "/Users"), ("Group", "/Groups")}


# --- The admin page ------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_kept(login_as, app):
    admin = login_as(Role.ADMIN)
    admin.post("/language", data={"locale": "en", "next": "/admin/scim"})
    page = admin.get("/admin/scim").text
    assert "/scim/v2" in page and "No token has been made yet" in page
    response = admin.post("/admin/scim", data={"name": "Entra ID productie"})
    assert response.status_code == 200
    secret = response.text.split('<code id="scim-secret">')[1].split("</code>")[0]
    assert secret.startswith("scim_") and len(secret) > 40
    row = db.session.scalar(select(ScimToken))
    assert row is not None and row.name == "Entra ID productie"
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = json.dumps([[str(v) for v in r] for r in db.session.execute(select(ScimToken)).all()])
    assert secret not in stored
    # never again: not on the page, not in the session cookie
    assert secret not in admin.get("/admin/scim").text
    with admin.session_transaction() as session:
        assert secret not in json.dumps(dict(session), default=str)
    # the token works, and after revoking it does not
    assert Scim(app, secret).get("/Users").status_code == 200
    response = admin.post(f"/admin/scim/{row.id}/revoke", follow_redirects=True)
    assert "revoked" in response.text
    assert Scim(app, secret).get("/Users").status_code == 401
    assert admin.post(f"/admin/scim/{row.id}/revoke").status_code == 302  # already: a message
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "scimtoken")
    ).all()
    assert sorted(actions) == [AuditAction.SCIM_TOKEN_CREATE, AuditAction.SCIM_TOKEN_REVOKE]


def test_a_token_needs_a_name(login_as):
    admin = login_as(Role.ADMIN)
    response = admin.post("/admin/scim", data={"name": "  "})
    assert response.status_code == 200 and 'id="scim-secret"' not in response.text
    assert db.session.scalar(select(func.count()).select_from(ScimToken)) == 0
    assert admin.post("/admin/scim/424242/revoke").status_code == 404


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_admins_see_the_scim_page(login_as, role):
    client = login_as(role)
    expected = 200 if role is Role.ADMIN else 403
    assert client.get("/admin/scim").status_code == expected
    assert client.post("/admin/scim", data={"name": "x"}).status_code == expected
    assert ('href="/admin/scim"' in client.get("/").text) is (role is Role.ADMIN)
    if role is not Role.ADMIN:
        assert db.session.scalar(select(func.count()).select_from(ScimToken)) == 0


def test_the_scim_endpoint_ignores_a_session_and_needs_no_csrf_token(login_as, app, token):
    admin = login_as(Role.ADMIN)  # a logged-in admin's cookie is no SCIM credential
    assert is_error(admin.get("/scim/v2/Users"), 401)
    response = app.test_client().open(
        "/scim/v2/Users",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
        json={"schemas": [CORE_USER], "userName": "nocsrf@example.test", "displayName": "N"},
    )
    assert response.status_code == 201


def test_the_same_person_sent_twice_at_once_is_made_once(app, live_scim, token):
    """Entra ID sends requests in parallel: two creations of one person race, released
    together; one is made, the other is told 409 (never a 500, never two accounts)."""
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def create(n: int) -> None:
        body = {"schemas": [CORE_USER], "userName": "twice@example.test", "displayName": f"T{n}"}
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            barrier.wait(timeout=10)
            statuses.append(http.post(live_scim + "/Users", json=body, timeout=30).status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 409, 409, 409]
    db.session.expire_all()
    made = db.session.scalar(
        select(func.count()).select_from(User).where(User.email == "twice@example.test")
    )
    assert made == 1


def test_members_with_a_display_name_as_entra_id_sends_them(scim):
    person = new_user(scim, "shown@example.test", displayName="Shown")["id"]
    group = new_group(scim, "Met naam")
    response = scim.patch(
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"value": person, "display": "Shown"}]},
    )
    assert response.status_code == 200 and account(person).team_id == int(group["id"])
    response = scim.patch(
        f"/Groups/{group['id']}", {"op": "Replace", "path": "members", "value": []}
    )
    assert response.status_code == 200 and account(person).team_id is None


def test_a_bad_attributes_argument_is_refused_before_anything_changes(scim):
    body = {"schemas": [CORE_USER], "userName": "first@example.test", "displayName": "F"}
    response = scim("POST", "/Users", body, query_string={"attributes": "user Name"})
    assert is_error(response, 400)
    assert (
        scim.get("/Users", query_string={"filter": 'userName eq "first@example.test"'}).json[
            "totalResults"
        ]
        == 0
    )
