"""What the SCIM endpoint serves, as scim2-models models: the attributes the app keeps, no more.

The published schemas (GET /Schemas) list exactly these, so a client that reads them (and
scim2-tester) knows what comes back. Attributes a directory sends beyond them (name.givenName,
emails, title, ...) are accepted and left out (the policy's `unknown=ignore`): the account's
e-mail address is its userName, its name the displayName.

Tolerances for Microsoft Entra ID (POLICY and `entra_patch`): op names in any case, booleans
as strings ("False"), a remove whose value says which members, a filtered path that matches
nothing (`emails[type eq "work"].value`), and the manager sent as a bare id.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import URN as Urn
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_RESULTS = 200  # the most resources one list answers with
DEFAULT_COUNT = 100


class Manager(ComplexAttribute):
    """The person's manager: the id of another User."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Required.false] = Field(  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class EnterpriseUser(Extension):
    """The enterprise extension: the employee number, and the manager (which sets the team's
    manager in the app)."""

    __schema__ = Urn(ENTERPRISE)

    employee_number: str | None = None
    manager: Manager | None = None


class User(Resource[Any]):
    """An account: userName is the e-mail address, displayName the name colleagues see,
    active whether it may sign in (deactivated accounts are kept, never deleted)."""

    __schema__ = Urn("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    display_name: Annotated[str | None, Required.true] = None
    active: bool | None = None


class Member(ComplexAttribute):
    """A member of a group: a User (groups do not nest here)."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[Any]):
    """A team: its members are the people in it (a person is in one team)."""

    __schema__ = Urn("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[Member] | None = None


UserResource: Any = User[EnterpriseUser]  # type: ignore[misc]

POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A token an administrator makes on the page /admin/scim",
            primary=True,
        )
    ],
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[ResourceType.from_resource(UserResource), ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)


def entra_patch(payload: Any) -> Any:
    """Entra ID sends the manager as a bare id (`"value": "<id>"`); the schema has it as a
    complex attribute `{"value": "<id>"}`. An empty id removes the manager."""
    if not isinstance(payload, dict):
        return payload
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return payload
    fixed = []
    for operation in operations:
        if isinstance(operation, dict):
            operation = dict(operation)
            path = operation.get("path")
            if isinstance(path, str) and _is_manager(path):
                operation["value"] = _manager_value(operation.get("value"))
            elif path is None and isinstance(operation.get("value"), dict):
                operation["value"] = _fix_manager_keys(operation["value"])
        fixed.append(operation)
    return {**payload, "Operations": fixed}


def entra_resource(payload: Any) -> Any:
    """A User sent whole (POST, PUT) with the manager as a bare id, as in `entra_patch`; one
    without a displayName gets it from name (formatted, or the given and family names)."""
    if not isinstance(payload, dict):
        return payload
    fixed = _fix_manager_keys(payload)
    if not any(key.lower() == "displayname" and value for key, value in fixed.items()):
        name = _name_from(fixed.get("name"))
        if name:
            fixed["displayName"] = name
    return fixed


def _name_from(name: Any) -> str:
    if not isinstance(name, dict):
        return ""
    formatted = name.get("formatted")
    if isinstance(formatted, str) and formatted.strip():
        return formatted.strip()
    parts = [name.get(key) for key in ("givenName", "familyName")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def _is_manager(path: str) -> bool:
    lowered = path.strip().lower()
    return lowered in {"manager", f"{ENTERPRISE.lower()}:manager"}


def _manager_value(value: Any) -> Any:
    if isinstance(value, str):
        return {"value": value} if value.strip() else None
    return value


def _fix_manager_keys(values: dict[str, Any]) -> dict[str, Any]:
    fixed = dict(values)
    for key, value in values.items():
        if _is_manager(key):
            fixed[key] = _manager_value(value)
        elif key.lower() == ENTERPRISE.lower() and isinstance(value, dict):
            fixed[key] = {
                name: _manager_value(item) if name.lower() == "manager" else item
                for name, item in value.items()
            }
    return fixed
