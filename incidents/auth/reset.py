"""Setting a password through the link an administrator had sent (public: the link is the
credential). The page never says whose account it is beyond the e-mail address."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from incidents.auth import bp
from incidents.auth.forms import SetPasswordForm
from incidents.services import ServiceError, password_reset, sessions


@bp.route("/account/reset/<secret>", methods=["GET", "POST"])
def reset_password(secret: str) -> ResponseReturnValue:
    reset = password_reset.find(secret)
    if reset is None:
        return render_template("auth/reset.html", form=None, email=None), 410
    if current_user.is_authenticated:
        # Whoever is logged in on this browser: the link is for its owner only.
        sessions.end(session.get("_user_id", ""))
        logout_user()
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.use(secret, form.new.data or "")
        except ServiceError as error:
            flash(error.message, "error")
            return render_template("auth/reset.html", form=None, email=None), 410
        flash(_("Your password has been set. Log in with it now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, email=reset.user.email)
