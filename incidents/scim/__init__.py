"""The SCIM 2.0 endpoint (RFC 7643, RFC 7644) under /scim/v2: the organisation's directory
(Microsoft Entra ID, Okta, Keycloak ...) creates, changes and deactivates accounts and teams.

A bearer token made on /admin/scim is the credential, not a session: the endpoints are public
for the session guard, and `views.authenticate` refuses every request without a valid token.
"""

from flask import Blueprint

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

from incidents.scim import views  # noqa: E402, F401
