"""Login, logout, language and password views."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from incidents import services
from incidents.auth import bp
from incidents.auth.forms import LoginForm, PasswordForm
from incidents.extensions import db, limiter, login_manager
from incidents.models import User
from incidents.security import (
    ALL_ROLES,
    burn_verification_time,
    is_safe_next,
    needs_rehash,
    roles,
    verify_password,
)
from incidents.services import audit_log


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    """Sessions carry the user's session token, which changes when access must end."""
    user = db.session.scalar(db.select(User).filter_by(session_token=session_token))
    return user if user is not None and user.active else None


def _login_failed(response: Response) -> bool:
    """Only failed attempts count toward the limits: success redirects, and a database that
    did not answer (503) judged no password."""
    return response.status_code not in (302, 503)


def _account_key() -> str:
    return "account:" + services.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    key_func=lambda: "address:" + (get_remote_address() or ""),
    methods=["POST"],
    deduct_when=_login_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = services.user_by_email(form.email.data or "")
        password = form.password.data or ""
        if user is None:
            burn_verification_time()
        elif user.active and verify_password(user.password_hash, password):
            if needs_rehash(user.password_hash):
                services.rehash_password(user, password)
            # A new session: nothing from before the login survives (no fixation).
            locale = session.get("locale")
            session.clear()
            if locale:
                session["locale"] = locale
            login_user(user)
            session.permanent = True
            audit_log.record_login(user)
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("main.index"))
        audit_log.record_failed_login(user)
        form.password.errors = [_("The e-mail address or password is incorrect.")]
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@roles(*ALL_ROLES)
def logout() -> ResponseReturnValue:
    audit_log.record_logout(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "success")
    return redirect(url_for("auth.login"))


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
            services.set_password(current_user, current_user, form.new.data or "")
            # The password change ended every session, this one included: start a new one.
            login_user(current_user._get_current_object())
            flash(
                _("Your password has been changed. Other sessions have been logged out."), "success"
            )
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
