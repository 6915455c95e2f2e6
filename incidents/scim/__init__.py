"""The SCIM 2.0 endpoint (RFC 7643, RFC 7644) under /scim/v2: the organisation's directory
(Microsoft Entra ID, Okta, Keycloak ...) creates, changes and deactivates accounts and teams.

A bearer token made on /admin/scim is the credential, not a session: the endpoints are public
for the session guard, and `views.authenticate` refuses every request without a valid token.

The routes are registered here and their views (with scim2-models and its pydantic models,
16 MiB) are imported at a worker's first SCIM request: most workers never get one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from werkzeug.exceptions import HTTPException

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ROUTES = (  # rule, endpoint, the view in views.py
    ("/Users", "users", "users"),
    ("/Users/<user_id>", "user", "user"),
    ("/Groups", "groups", "groups"),
    ("/Groups/<team_id>", "group", "group"),
    ("/ServiceProviderConfig", "service_provider_config", "service_provider_config"),
    ("/Schemas", "schemas", "schema_list"),
    ("/Schemas/<path:schema_id>", "schema", "schema"),
    ("/ResourceTypes", "resource_types", "resource_types"),
    ("/ResourceTypes/<resource_type_id>", "resource_type", "resource_type"),
    ("/.search", "search", "search"),
)


def _view(name: str) -> Callable[..., Any]:
    """`views.<name>`, imported when it is first called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        from incidents.scim import views

        return getattr(views, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


bp.before_request(_view("authenticate"))
for _rule, _endpoint, _name in ROUTES:
    bp.add_url_rule(_rule, _endpoint, _view(_name), methods=METHODS)
# Anything else under /scim/v2 (once the token is checked): 404 as a SCIM error.
_unknown = _view("unknown")
bp.add_url_rule("/", "unknown", _unknown, defaults={"path": ""}, methods=METHODS)
bp.add_url_rule("/<path:path>", "unknown", _unknown, methods=METHODS)

# By code too: Flask looks for a handler of the code (the app's HTML pages, incidents/errors.py)
# before it looks for one of the class.
_http_error = _view("http_error")
bp.register_error_handler(HTTPException, _http_error)
for _code in (400, 403, 404, 405, 413, 429):
    bp.register_error_handler(_code, _http_error)
_unexpected = _view("unexpected_error")
bp.register_error_handler(500, _unexpected)
bp.register_error_handler(Exception, _unexpected)
