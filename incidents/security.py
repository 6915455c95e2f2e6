"""Access control, request hygiene and response headers.

Deny by default: `guard` runs before every request. Public endpoints are listed in
`PUBLIC_ENDPOINTS`; every other view must declare its roles with `@roles(...)`, or nobody
may enter it. Object-level checks (who may see which incident) live beside the objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from flask import Flask, Request, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response

from incidents.models import Role
from incidents.services import two_factor

# The calendar feed is opened by calendar programs without a login: its address holds a
# secret token that the manager can renew (see incidents/aftercare/calendar.py).
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "auth.set_language",
        "main.healthz",
        "main.readyz",
        "aftercare.calendar_feed",
        "auth.reset_password",  # the link an administrator sent is the credential
        "auth.oidc_login",  # single sign-on: off to the provider ...
        "auth.oidc_callback",  # ... and back, with the provider's answer
        "auth.two_factor_login",  # the second step of a login: nobody is logged in yet
        # The directory's SCIM API: no session, a bearer token that its blueprint checks
        # before every request (incidents/scim/views.py).
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
        # The alarm provider's webhook: no session, every request signed with HMAC-SHA256
        # and checked by its view before anything else (incidents/api/views.py).
        "api.alarms_webhook",
        # The installable web app: the browser fetches its manifest without a cookie and
        # checks its service worker for updates when nobody is signed in (a redirect to the
        # login would fail that check). Both are the same for everyone, like the static
        # files (incidents/main/webapp.py).
        "main.manifest",
        "main.service_worker",
    }
)
# A password account whose role requires two-factor sign-in but who has not set it up yet
# may open only these besides the public endpoints: setting it up, and logging out.
TWO_FACTOR_SETUP_ENDPOINTS = frozenset(
    {
        "auth.logout",
        "auth.two_factor",
        "auth.two_factor_qr",
        "auth.two_factor_start",
        "auth.two_factor_confirm",
    }
)
ALL_ROLES = frozenset(Role)

F = TypeVar("F", bound=Callable[..., Any])


def roles(*allowed: Role) -> Callable[[F], F]:
    """Declare which roles may enter a view. A view without this is closed to everyone."""

    def decorate(view: F) -> F:
        view.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return decorate


def allowed_roles(endpoint: str) -> frozenset[Role]:
    """The roles a view declared; empty when it declared none (then nobody may enter)."""
    view = current_app.view_functions.get(endpoint)
    return frozenset(getattr(view, "allowed_roles", frozenset()))


def guard() -> ResponseReturnValue | None:
    """Before every request: public endpoints pass, others need a login and a declared role."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    # Loading the user checks the session on the server (auth.views.load_user): ended,
    # idle or too old, and the browser is anonymous again.
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in allowed_roles(endpoint):
        abort(403)
    return None


def require_two_factor() -> ResponseReturnValue | None:
    """Before every request, after `guard`: a logged-in user whose role requires two-factor
    sign-in (TWO_FACTOR_ROLES) and who has not set it up is sent to set it up. Accounts of the
    organisation's OpenID provider rely on its own MFA."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint in TWO_FACTOR_SETUP_ENDPOINTS:
        return None
    if not current_user.is_authenticated or not two_factor.must_set_up(current_user):
        return None
    flash(_("Your role requires two-factor sign-in. Set it up to continue."), "info")
    return redirect(url_for("auth.two_factor"))


def session_ended() -> None:
    """The cookie names a session the server no longer has (logged out, idle, too old, a
    password change, a deactivation, ended from another browser): forget it here and say so."""
    for key in ("_user_id", "_fresh", "_id"):
        session.pop(key, None)
    flash(_("Your session has ended. Please log in again."), "info")


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths are followed after login. A control character (CR or LF
    would split the Location header) makes the target unsafe: the caller goes home instead."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    joined = urlsplit(urljoin(request.host_url, target))
    return joined.netloc == urlsplit(request.host_url).netloc and joined.scheme in {"http", "https"}


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    """After every request: CSP, framing, sniffing, referrer and caching headers."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Pages carry personal data: never keep them in shared or browser caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


# Control characters never belong in text typed by a person; NUL even breaks PostgreSQL.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


class CleanRequest(Request):
    """A request whose form fields and query arguments carry no control characters."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.form = ImmutableMultiDict(
            [(key, value.translate(_CONTROL)) for key, value in self.form.items(multi=True)]
        )

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        raw = super().args
        return ImmutableMultiDict(
            [(key, value.translate(_CONTROL)) for key, value in raw.items(multi=True)]
        )


# Room for the form around an uploaded file (the CSRF token, the boundaries).
UPLOAD_ROOM = 64 * 1024


def accepts_file(max_bytes: int | Callable[[Any], int]) -> Callable[[F], F]:
    """Declare that a view takes files of at most `max_bytes` together (a number, or a
    function of the app's config): its request body may then be larger than
    MAX_CONTENT_LENGTH (see `allow_file_upload`)."""

    def decorate(view: F) -> F:
        view.max_file_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorate


def allow_file_upload() -> None:
    """Before every request, ahead of the CSRF check that reads the body: a view that accepts
    files may be sent more than MAX_CONTENT_LENGTH in a multipart body (up to twice the files'
    limit plus room for the form, so a file just over it is refused next to its field rather
    than by a bare 413); its other fields, and any other body, keep the usual limit."""
    view = current_app.view_functions.get(request.endpoint or "")
    max_bytes = getattr(view, "max_file_bytes", None)
    if callable(max_bytes):
        max_bytes = max_bytes(current_app.config)
    if max_bytes is not None and request.mimetype == "multipart/form-data":
        request.max_content_length = 2 * max_bytes + UPLOAD_ROOM
        # The fields beside the files stay as small as any form's.
        request.max_form_memory_size = current_app.config["MAX_CONTENT_LENGTH"]


def init_app(app: Flask) -> None:
    """Install the guard and the response headers."""
    app.request_class = CleanRequest
    app.before_request(allow_file_upload)
    app.before_request(guard)
    app.before_request(require_two_factor)
    app.after_request(set_security_headers)
