"""The SCIM protocol: the bearer token, JSON in and out, filters, PATCH, errors (the routes
are registered in `incidents.scim`).

Every answer is SCIM JSON in English (RFC 7644 §3.12 errors included), never an HTML page and
never a 500 for anything a client sends. The changes themselves are services.provisioning's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    Meta,
    PatchOp,
    ResponseParameters,
    SCIMException,
    ScimFilter,
)
from scim2_models.path import AttrPath, CompareOperator, Comparison, LogicalExpr, LogicalOperator
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from incidents.bounds import INT_MAX, parse_int
from incidents.errors import database_unavailable
from incidents.extensions import db
from incidents.models import Team, User
from incidents.scim import METHODS, bp, schemas
from incidents.scim.schemas import ENTERPRISE, EnterpriseUser, Group, Manager, Member, UserResource
from incidents.services import ServiceError, provisioning, scim_tokens
from incidents.services.provisioning import Filter, Person, Unit

MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
FILTER_MAX = 1000  # characters: a longer filter is refused before it is parsed
NESTING_MAX = 16  # levels of objects and arrays in a request body

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


# --- Authentication and answers ------------------------------------------------------------


def authenticate() -> ResponseReturnValue | None:
    """Every request carries `Authorization: Bearer <token>`, a token made on /admin/scim
    that is not revoked; anything else is 401."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = scim_tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        return _error(
            401,
            "A valid bearer token is required: make one on /admin/scim.",
            headers={"WWW-Authenticate": 'Bearer realm="scim"'},
        )
    g.scim_token = token
    return None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE, headers=headers
    )
    return response


def _error(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return _json(error.model_dump(scim_ctx=Context.DEFAULT), status, headers)


def _scim_error(error: Error) -> Response:
    status = int(error.status or 400)
    return _json(error.model_dump(scim_ctx=Context.DEFAULT), status)


def endpoint(*methods: str) -> Callable[[F], F]:
    """A SCIM view answering `methods` (HEAD as GET; others 405), in English, whose errors
    become SCIM errors."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            method = "GET" if request.method == "HEAD" else request.method
            if method not in methods:
                return _error(
                    405,
                    f"{request.method} is not allowed on {request.path}",
                    headers={"Allow": ", ".join(methods)},
                )
            with force_locale("en"):
                try:
                    # Read before anything changes: a bad one must not follow a change.
                    g.scim_response = _response_parameters()
                    return view(**kwargs)
                except provisioning.NotFound:
                    return _error(404, f"{request.path} does not exist")
                except provisioning.Conflict as error:
                    return _error(409, error.message, "uniqueness")
                except ServiceError as error:
                    return _error(400, error.message, "invalidValue")
                except SCIMException as error:
                    return _scim_error(error.to_error())
                except ValidationError as error:
                    return _scim_error(Error.from_validation_errors(error)[0])

        return wrapped  # type: ignore[return-value]

    return decorate


def http_error(error: HTTPException) -> ResponseReturnValue:
    """413 (a body over MAX_CONTENT_LENGTH), 400 and the like, as SCIM errors."""
    status = error.code or 500
    return _error(status, error.description or error.name, "tooLarge" if status == 413 else None)


def unexpected_error(error: Exception) -> ResponseReturnValue:
    """A fault of ours (or a database that does not answer): a SCIM error, logged."""
    with contextlib.suppress(SQLAlchemyError):  # a broken connection may refuse even that
        db.session.rollback()
    if isinstance(error, PoolTimeout) or (
        isinstance(error, DBAPIError) and database_unavailable(error)
    ):
        current_app.logger.warning("scim: database unavailable: %s", error)
        return _error(503, "The service is briefly unavailable; try again in a moment.")
    current_app.logger.exception("scim: unexpected error")
    return _error(500, "An unexpected error occurred; nothing was changed.")


# --- Reading requests ----------------------------------------------------------------------

_CONTROL = dict.fromkeys([*range(32), 127])


def _payload() -> dict[str, Any]:
    """The request's JSON object, its text without control characters or lone surrogates."""
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as error:
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from error
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    _check_nesting(data)
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


def _check_nesting(data: Any) -> None:
    level = [data]
    for _ in range(NESTING_MAX):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise InvalidSyntaxException(detail="The body is nested too deeply.")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").translate(_CONTROL)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def _validated(model: Any, payload: Any, context: Context) -> Any:
    return model.model_validate(payload, scim_ctx=context, scim_policy=schemas.POLICY)


def _response_parameters() -> ResponseParameters:
    return ResponseParameters.model_validate(
        {
            "attributes": request.args.get("attributes") or None,
            "excludedAttributes": request.args.get("excludedAttributes") or None,
        }
    )


def _number(name: str, default: int, smallest: int) -> int:
    """startIndex and count: a whole number; below `smallest` counts as `smallest` (RFC 7644
    §3.4.2.4), anything else is refused."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    value = parse_int(text.removeprefix("-"), INT_MAX)
    if value is None:
        raise InvalidValueException(detail=f"{name} must be a whole number")
    return smallest if text.startswith("-") else max(value, smallest)


def _page() -> tuple[int, int]:
    start = _number("startIndex", 1, 1)
    count = min(_number("count", schemas.DEFAULT_COUNT, 0), schemas.MAX_RESULTS)
    return start, count


# Attribute names a filter may compare, by schema: (schema URN or None, lowercase name).
_FILTER_NAMES = {
    "id": "id",
    "username": "userName",
    "externalid": "externalId",
    "displayname": "displayName",
    "active": "active",
}
_DNF_MAX = 64  # conjunctions: `(a or b) and (c or d) and ...` multiplies out


def _filter(model: Any, allowed: frozenset[str], core_schema: str) -> Filter:
    """The `filter` argument as provisioning's `Filter`: `attribute eq value` comparisons
    joined by and/or, on the attributes a lookup needs (invalidFilter for anything else)."""
    text = request.args.get("filter", "").strip()
    if not text:
        return []
    if len(text) > FILTER_MAX:
        raise InvalidFilterException(detail="The filter is too long.")
    try:
        node = ScimFilter[model](text).ast
    except SCIMException:
        raise
    except (ValueError, TypeError, RecursionError) as error:
        raise InvalidFilterException(detail="The filter is not valid.") from error
    return _dnf(node, allowed, core_schema)


def _dnf(node: Any, allowed: frozenset[str], core_schema: str) -> list[list[provisioning.Match]]:
    if isinstance(node, Comparison):
        name = _filter_name(node.attr_path, allowed, core_schema)
        if node.op is not CompareOperator.eq:
            raise InvalidFilterException(detail=f"Only eq is supported (for {name}).")
        if not isinstance(node.value, str | bool):
            raise InvalidFilterException(detail=f"Compare {name} with a string.")
        return [[(name, node.value)]]
    if isinstance(node, LogicalExpr):
        parts = [_dnf(term, allowed, core_schema) for term in node.terms]
        if node.op is LogicalOperator.or_:
            result = [terms for part in parts for terms in part]
        else:
            result = [[]]
            for part in parts:
                result = [left + right for left in result for right in part]
                if len(result) > _DNF_MAX:
                    break
        if len(result) > _DNF_MAX:
            raise InvalidFilterException(detail="The filter is too complex.")
        return result
    supported = ", ".join(sorted(allowed))
    raise InvalidFilterException(detail=f"Supported: eq on {supported}, joined by and/or.")


def _filter_name(path: AttrPath, allowed: frozenset[str], core_schema: str) -> str:
    uri = (path.uri or "").lower()
    attr = path.attr.lower()
    name = None
    if path.sub_attr is None and uri in ("", core_schema.lower()):
        name = _FILTER_NAMES.get(attr)
    elif path.sub_attr is None and uri == ENTERPRISE.lower() and attr == "employeenumber":
        name = "employeeNumber"
    if name is None or name not in allowed:
        supported = ", ".join(sorted(allowed))
        raise InvalidFilterException(detail=f"Filtering on {path} is not supported: {supported}.")
    return name


def _base() -> str:
    """The endpoint's address as users reach it: BASE_URL, never the request's Host."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + (bp.url_prefix or "")


def _id_of(reference: str | None, what: str) -> int:
    number = parse_int((reference or "").strip())
    if number is None or number == 0:
        raise InvalidValueException(detail=f"{what}: {reference!r} is not the id of a user")
    return number


# --- Users -----------------------------------------------------------------------------------


def _user_resource(user_id: int, person: Person, user: User | None = None) -> Any:
    """The SCIM User for an account (as `person` describes it)."""
    base = _base()
    resource = UserResource(
        id=str(user_id),
        external_id=person.external_id,
        user_name=person.user_name,
        display_name=person.display_name,
        active=person.active,
        meta=Meta(
            resource_type="User",
            location=f"{base}/Users/{user_id}",
            created=user.created_at if user is not None else None,
        ),
    )
    if person.employee_number is not None or person.manager_id is not None:
        resource[EnterpriseUser] = EnterpriseUser(
            employee_number=person.employee_number,
            manager=Manager(
                value=str(person.manager_id), ref=cast(Any, f"{base}/Users/{person.manager_id}")
            )
            if person.manager_id is not None
            else None,
        )
    return resource


def _person(resource: Any, current: Person | None) -> Person:
    """What a SCIM User says of a person; a missing active keeps the account's (a new one is
    active)."""
    extension = resource[EnterpriseUser]
    manager = extension.manager if extension is not None else None
    return Person(
        user_name=resource.user_name or "",
        display_name=resource.display_name or "",
        active=resource.active
        if resource.active is not None
        else (current.active if current else True),
        external_id=resource.external_id or None,
        employee_number=(extension.employee_number or None) if extension is not None else None,
        manager_id=_id_of(manager.value, "manager") if manager is not None else None,
    )


def _user_answer(user: User, status: int = 200, context: Context | None = None) -> Response:
    resource = _user_resource(user.id, provisioning.person_of(user), user)
    body = resource.model_dump(
        scim_ctx=context or Context.RESOURCE_QUERY_RESPONSE,
        response_parameters=g.scim_response,
    )
    headers = {"Location": f"{_base()}/Users/{user.id}"} if status == 201 else None
    return _json(body, status, headers)


def _list(total: int, start: int, resources: Iterable[dict[str, Any]]) -> Response:
    items = list(resources)
    return _json(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


@endpoint("GET", "POST")
def users() -> ResponseReturnValue:
    """GET: the accounts, filtered (`userName eq "..."`, `externalId eq "..."`) and paged.
    POST: a new account."""
    if request.method == "POST":
        payload = _payload()
        resource = _validated(
            UserResource, schemas.entra_resource(payload), Context.RESOURCE_CREATION_REQUEST
        )
        user = provisioning.create_person(g.scim_token, _person(resource, None))
        return _user_answer(user, 201, Context.RESOURCE_CREATION_RESPONSE)
    matches = _filter(UserResource, provisioning.USER_FILTERS, str(schemas.User.__schema__))
    start, count = _page()
    parameters = g.scim_response
    total, page = provisioning.users(matches, start, count)
    return _list(
        total,
        start,
        (
            _user_resource(user.id, provisioning.person_of(user), user).model_dump(
                scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters
            )
            for user in page
        ),
    )


@endpoint("GET", "PUT", "PATCH", "DELETE")
def user(user_id: str) -> ResponseReturnValue:
    """One account: read, replace, patch (as Entra ID sends it), delete (= deactivate)."""
    token = g.scim_token
    if request.method == "DELETE":
        provisioning.deactivate_person(token, user_id)
        return Response(status=204)
    if request.method == "PUT":
        payload = _payload()
        resource = _validated(
            UserResource, schemas.entra_resource(payload), Context.RESOURCE_REPLACEMENT_REQUEST
        )
        changed = provisioning.change_person(
            token, user_id, lambda current: _person(resource, current)
        )
        return _user_answer(changed, context=Context.RESOURCE_REPLACEMENT_RESPONSE)
    if request.method == "PATCH":
        patch = _validated(
            PatchOp[UserResource],
            schemas.entra_patch(_payload()),
            Context.RESOURCE_PATCH_REQUEST,
        )

        def apply(current: Person) -> Person:
            resource = _user_resource(parse_int(user_id) or 0, current)
            patch.patch(resource, scim_policy=schemas.POLICY)
            return _person(resource, current)

        changed = provisioning.change_person(token, user_id, apply)
        return _user_answer(changed, context=Context.RESOURCE_PATCH_RESPONSE)
    return _user_answer(provisioning.find_user(user_id))


# --- Groups ----------------------------------------------------------------------------------


def _group_resource(team_id: int, unit: Unit) -> Any:
    base = _base()
    return Group(
        id=str(team_id),
        external_id=unit.external_id,
        display_name=unit.display_name,
        members=[
            Member(value=str(member_id), ref=cast(Any, f"{base}/Users/{member_id}"), type="User")
            for member_id in sorted(unit.member_ids)
        ]
        or None,
        meta=Meta(resource_type="Group", location=f"{base}/Groups/{team_id}"),
    )


def _unit(resource: Any) -> Unit:
    members = set()
    for member in resource.members or []:
        if member.type is not None and member.type.lower() != "user":
            raise InvalidValueException(detail="members: only users can be members (no groups)")
        members.add(_id_of(member.value, "members"))
    return Unit(
        display_name=(resource.display_name or "").strip(),
        external_id=resource.external_id or None,
        member_ids=frozenset(members),
    )


def _group_answer(team: Team, status: int = 200, context: Context | None = None) -> Response:
    body = _group_resource(team.id, provisioning.unit_of(team)).model_dump(
        scim_ctx=context or Context.RESOURCE_QUERY_RESPONSE,
        response_parameters=g.scim_response,
    )
    headers = {"Location": f"{_base()}/Groups/{team.id}"} if status == 201 else None
    return _json(body, status, headers)


@endpoint("GET", "POST")
def groups() -> ResponseReturnValue:
    """GET: the active teams, filtered (`displayName eq "..."`, `externalId eq "..."`) and
    paged. POST: a new team."""
    if request.method == "POST":
        resource = _validated(Group, _payload(), Context.RESOURCE_CREATION_REQUEST)
        team = provisioning.create_unit(g.scim_token, _unit(resource))
        return _group_answer(team, 201, Context.RESOURCE_CREATION_RESPONSE)
    matches = _filter(Group, provisioning.GROUP_FILTERS, str(Group.__schema__))
    start, count = _page()
    parameters = g.scim_response
    total, page = provisioning.teams(matches, start, count)
    return _list(
        total,
        start,
        (
            _group_resource(team.id, provisioning.unit_of(team)).model_dump(
                scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters
            )
            for team in page
        ),
    )


@endpoint("GET", "PUT", "PATCH", "DELETE")
def group(team_id: str) -> ResponseReturnValue:
    """One team: read, replace, patch (members added and removed as Entra ID sends them),
    delete (= deactivate, its members leave it)."""
    token = g.scim_token
    if request.method == "DELETE":
        provisioning.delete_unit(token, team_id)
        return Response(status=204)
    if request.method == "PUT":
        resource = _validated(Group, _payload(), Context.RESOURCE_REPLACEMENT_REQUEST)
        wanted = _unit(resource)
        changed = provisioning.change_unit(token, team_id, lambda _current: wanted)
        return _group_answer(changed, context=Context.RESOURCE_REPLACEMENT_RESPONSE)
    if request.method == "PATCH":
        patch = _validated(PatchOp[Group], _payload(), Context.RESOURCE_PATCH_REQUEST)

        def apply(current: Unit) -> Unit:
            resource = _group_resource(parse_int(team_id) or 0, current)
            patch.patch(resource, scim_policy=schemas.POLICY)
            return _unit(resource)

        changed = provisioning.change_unit(token, team_id, apply)
        return _group_answer(changed, context=Context.RESOURCE_PATCH_RESPONSE)
    return _group_answer(provisioning.find_team(team_id))


# --- Discovery -------------------------------------------------------------------------------


def _no_filter() -> None:
    """RFC 7644 §4: the discovery endpoints take no filter (403, so a client cannot think one
    was applied)."""
    if request.args.get("filter"):
        raise _Forbidden


class _Forbidden(SCIMException):
    status = 403
    _default_detail = "The discovery endpoints take no filter."


def _described(resource: Any, resource_type: str, location: str) -> dict[str, Any]:
    update: dict[str, Any] = {"meta": Meta(resource_type=resource_type, location=location)}
    if getattr(resource, "description", None):
        update["description"] = " ".join(resource.description.split())
    dumped: dict[str, Any] = resource.model_copy(update=update).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE
    )
    return dumped


def _schemas() -> list[dict[str, Any]]:
    return [
        _described(schema, "Schema", f"{_base()}/Schemas/{schema.id}")
        for schema in schemas.PROVIDER.schemas
    ]


def _resource_types() -> list[dict[str, Any]]:
    return [
        _described(resource_type, "ResourceType", f"{_base()}/ResourceTypes/{resource_type.id}")
        for resource_type in schemas.PROVIDER.resource_types
    ]


@endpoint("GET")
def service_provider_config() -> ResponseReturnValue:
    """What this endpoint supports: PATCH and filters; no bulk, sort, ETags or passwords."""
    return _json(
        _described(schemas.CONFIG, "ServiceProviderConfig", f"{_base()}/ServiceProviderConfig")
    )


@endpoint("GET")
def schema_list() -> ResponseReturnValue:
    _no_filter()
    found = _schemas()
    return _list(len(found), 1, found)


@endpoint("GET")
def schema(schema_id: str) -> ResponseReturnValue:
    for found in _schemas():
        if found["id"].lower() == schema_id.lower():
            return _json(found)
    raise provisioning.NotFound(schema_id)


@endpoint("GET")
def resource_types() -> ResponseReturnValue:
    _no_filter()
    found = _resource_types()
    return _list(len(found), 1, found)


@endpoint("GET")
def resource_type(resource_type_id: str) -> ResponseReturnValue:
    for found in _resource_types():
        if found["id"].lower() == resource_type_id.lower():
            return _json(found)
    raise provisioning.NotFound(resource_type_id)


@endpoint(*METHODS)
def search() -> ResponseReturnValue:
    """Searching several resource types at once (POST /.search) is not offered."""
    return _error(
        501 if request.method == "POST" else 405,
        "Searching several resource types at once is not supported: use GET /Users or "
        "/Groups with a filter.",
    )


@endpoint(*METHODS)
def unknown(path: str) -> ResponseReturnValue:
    """Anything else under /scim/v2 (once the token is checked): 404 as a SCIM error."""
    return _error(404, f"{request.path} does not exist")
