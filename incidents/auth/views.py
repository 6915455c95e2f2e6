"""Login, logout, sessions, language and password views."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from incidents import services
from incidents.auth import bp, pending
from incidents.auth.forms import LoginForm, PasswordForm
from incidents.extensions import limiter, login_manager
from incidents.models import User
from incidents.passwords import verify_password
from incidents.security import ALL_ROLES, is_safe_next, roles, session_ended
from incidents.services import audit_log, logins, sessions, two_factor


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The cookie holds only the opaque id of a session kept on the server: its user, while
    that session lives and the account is active."""
    live = sessions.find(token)
    if live is None or not live.user.active:
        session_ended()
        return None
    g.user_session_id = live.id
    return live.user


def begin_session(user: User) -> None:
    """A new session for `user` in this browser. Nothing from before survives but the language
    (no fixation); the cookie gets only the new session's opaque id and lasts as long as the
    browser runs (not permanent, no remember-me cookie)."""
    token = sessions.start(
        user, address=request.remote_addr or "", user_agent=request.user_agent.string
    )
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user)
    # Flask-Login stored the user's get_id() and a hash of address and browser: the cookie,
    # which anyone holding it can read, keeps neither.
    session["_user_id"] = token
    session.pop("_id", None)


def _password_refused(response: Response) -> bool:
    """The flood cap counts only passwords checked and found wrong: not an attempt refused
    while a delay runs, nor one a database that did not answer (503) could not judge."""
    return bool(g.get("login_refused"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    key_func=lambda: "address:" + (get_remote_address() or ""),
    methods=["POST"],
    deduct_when=_password_refused,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        result = logins.attempt(
            form.email.data or "", form.password.data or "", request.remote_addr or ""
        )
        if result.outcome is logins.Outcome.WAIT:
            refusal = ngettext(
                "Too many failed login attempts. Wait %(num)s second, then try again.",
                "Too many failed login attempts. Wait %(num)s seconds, then try again.",
                result.wait_seconds,
            )
            page = render_template("auth/login.html", form=form, refusal=refusal)
            return page, 429, {"Retry-After": str(result.wait_seconds)}
        if result.user is not None and two_factor.is_on(result.user):
            # Not logged in yet: the login waits for a code (incidents/auth/two_factor.py).
            pending.begin(result.user, form.next.data or "")
            return redirect(url_for("auth.two_factor_login"))
        if result.user is not None:
            begin_session(result.user)
            audit_log.record_login(result.user)
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("main.index"))
        g.login_refused = True
        form.password.errors = [_("The e-mail address or password is incorrect.")]
    return render_template("auth/login.html", form=form)


# What a logout deletes from the browser: its storage, that is the reports kept offline with
# their key (static/js/outbox.js), the service worker and its Cache Storage. Not "cache": every
# page is sent no-store, so the HTTP cache holds only the public static files, and clearing it
# makes Chrome's logout take seconds (Chromium issue 40233601; Rails dropped it for that).
CLEAR_SITE_DATA = '"storage"'


@bp.route("/logout", methods=["POST"])
@roles(*ALL_ROLES)
def logout() -> ResponseReturnValue:
    """End the session here; one that began at the organisation's provider ends there too
    (RP-initiated logout: the provider comes back to the login page)."""
    from incidents.auth import oidc_client

    audit_log.record_logout(current_user._get_current_object())
    sessions.end(session.get("_user_id", ""))
    id_token = oidc_client.take_id_token()  # before the session is cleared
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "success")
    response = redirect(oidc_client.logout_url(id_token) or url_for("auth.login"))
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def _session_id(value: str) -> int | None:
    """A session id from a form, or None (the column is a 32-bit integer)."""
    if value.isascii() and value.isdigit() and int(value) < 2**31:
        return int(value)
    return None


@bp.route("/account/sessions", methods=["GET", "POST"], endpoint="sessions")
@roles(*ALL_ROLES)
def my_sessions() -> ResponseReturnValue:
    """The user's sessions: when and where each began, last seen, and a button to end it."""
    user = current_user._get_current_object()
    if request.method == "POST":
        choice = request.form.get("end", "")
        if choice == "others":
            ended = sessions.end_others(user, session.get("_user_id", ""))
            flash(
                ngettext(
                    "%(num)s other session has been ended.",
                    "%(num)s other sessions have been ended.",
                    ended,
                ),
                "success",
            )
        else:
            session_id = _session_id(choice)
            if session_id is None or not sessions.end_one(user, session_id):
                abort(404)
            flash(_("The session has been ended."), "success")
        return redirect(url_for("auth.sessions"))
    return render_template(
        "auth/sessions.html", rows=sessions.of_user(user), current=g.get("user_session_id")
    )


@bp.route("/language", methods=["POST"])
def set_language() -> ResponseReturnValue:
    """Switch between the configured languages; public, so the login page can switch too."""
    locale = request.form.get("locale", "")
    target = request.form.get("next", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            services.set_locale(current_user, locale)
    return redirect(target if is_safe_next(target) else url_for("main.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles(*ALL_ROLES)
def change_password() -> ResponseReturnValue:
    form = PasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data or ""):
            form.current.errors = [_("This is not your current password.")]
        else:
            user = current_user._get_current_object()
            services.set_password(user, user, form.new.data or "")
            # The change ended every session of the user, this one too: begin a fresh one.
            begin_session(user)
            flash(
                _("Your password has been changed. Other sessions have been logged out."), "success"
            )
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
