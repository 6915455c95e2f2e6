"""Single sign-on views: the login page's button and the provider's callback.

The protocol is `incidents.auth.oidc_client`, the accounts `incidents.services.single_sign_on`.
Both routes are public (the person is not logged in yet) and answer 404 while single sign-on
is not set up (OIDC_ISSUER). A refusal shows the login page with its message, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from incidents.auth import bp, oidc_client
from incidents.auth.forms import LoginForm
from incidents.auth.views import begin_session
from incidents.extensions import limiter
from incidents.security import CONTENT_SECURITY_POLICY, is_safe_next
from incidents.services import single_sign_on
from incidents.services.single_sign_on import Refusal


@dataclass(frozen=True)
class LoginChoices:
    """What the login page offers: single sign-on (with the provider's name for the button,
    or ""), and whether the password form is only for break-glass accounts."""

    single_sign_on: bool
    name: str
    break_glass_only: bool


@bp.app_context_processor
def _login_choices() -> dict[str, Any]:
    configured = oidc_client.configured()
    return {
        "login_choices": LoginChoices(
            single_sign_on=configured,
            name=(oidc_client.button_label() or "") if configured else "",
            break_glass_only=configured and not current_app.config["PASSWORD_LOGIN"],
        )
    }


@bp.after_app_request
def _allow_forms_to_the_provider(response: Response) -> Response:
    """After every request, before the security headers are set (incidents.security): with
    single sign-on on, the Content-Security-Policy's `form-action` also allows the provider,
    since browsers hold the redirect that follows a form (the button, the logout) to the
    page's `form-action`."""
    if oidc_client.configured() and "Content-Security-Policy" not in response.headers:
        allowed = " ".join(["'self'", *oidc_client.provider_origins()])
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action {allowed}"
        )
    return response


def refusal_message(refusal: Refusal, email: str = "") -> str:
    """What the person is told, in their language, for each reason a sign-in was refused."""
    if refusal is Refusal.ACCESS_DENIED:
        return _("Single sign-on was cancelled or not allowed. You have not been logged in.")
    if refusal is Refusal.STATE:
        return _(
            "This sign-in could not be completed: it took too long, or it was started in "
            "another window. Please try again."
        )
    if refusal in (Refusal.SIGNATURE, Refusal.EXPIRED, Refusal.NONCE, Refusal.CLAIMS):
        return _(
            "The sign-in could not be verified, so you have not been logged in. Please try "
            "again; if this keeps happening, tell the administrator."
        )
    if refusal in (Refusal.MISSING_CLAIM, Refusal.EMAIL_UNVERIFIED):
        return _(
            "The sign-in service did not give a verified e-mail address, so your account "
            "cannot be found. Ask the administrator."
        )
    if refusal is Refusal.UNKNOWN_USER:
        return _(
            "There is no account for %(email)s in this application. Ask the administrator "
            "to add you.",
            email=email,
        )
    if refusal is Refusal.DEACTIVATED:
        return _("Your account has been deactivated. Ask the administrator if this is a mistake.")
    if refusal is Refusal.SUBJECT_MISMATCH:
        return _(
            "The account with this e-mail address belongs to someone else at the sign-in "
            "service. Ask the administrator."
        )
    return _(
        "The sign-in service could not complete single sign-on. Please try again later; if "
        "this keeps happening, tell the administrator."
    )


def _refused(result: single_sign_on.SignOn) -> ResponseReturnValue:
    """The login page with the refusal. Shown here rather than flashed after a redirect: the
    message may hold the address signed in with, and the session cookie never does."""
    g.login_refused = True
    message = refusal_message(result.refusal or Refusal.PROVIDER_ERROR, result.email)
    # 200, as for a wrong password: the page is the login page, to try again.
    return render_template("auth/login.html", form=LoginForm(), refusal=message)


def _counted(response: Response) -> bool:
    """The flood cap counts refused callbacks only."""
    return bool(g.get("login_refused"))


@bp.route("/login/oidc", methods=["POST"])
def oidc_login() -> ResponseReturnValue:
    """The button: off to the provider, coming back to the callback."""
    if not oidc_client.configured():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    target = request.form.get("next", "")
    try:
        return oidc_client.authorization_redirect(target if is_safe_next(target) else "")
    except oidc_client.SignOnFailed as failure:
        return _refused(single_sign_on.refuse(failure.refusal))


@bp.route("/login/oidc/callback")
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    key_func=lambda: "oidc:" + (get_remote_address() or ""),
    deduct_when=_counted,
)
def oidc_callback() -> ResponseReturnValue:
    """The provider sends the browser back here: check its answer, find the account, and
    begin a session (nothing from before survives it)."""
    if not oidc_client.configured():
        abort(404)
    try:
        identity = oidc_client.verified_identity(request.args)
    except oidc_client.SignOnFailed as failure:
        return _refused(single_sign_on.refuse(failure.refusal))
    result = single_sign_on.sign_in(identity)
    if result.user is None:
        return _refused(result)
    begin_session(result.user)
    oidc_client.remember_id_token(identity.id_token)
    return redirect(identity.next if is_safe_next(identity.next) else url_for("main.index"))
