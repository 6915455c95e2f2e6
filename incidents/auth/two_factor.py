"""Two-factor sign-in: the code after the password, and the user's own set-up page.

`/login/two-factor` is public: the login waiting for its code (`incidents.auth.pending`) is the
key, and nobody is logged in until the code is right. `/account/two-factor` sets it up (a QR
code and the secret written out, then a first code), shows the recovery codes once, makes new
ones and switches it off where the role allows."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from incidents.auth import bp, pending
from incidents.auth.forms_two_factor import (
    CodeForm,
    ConfirmSetupForm,
    RecoveryCodeForm,
    RegenerateForm,
    SwitchOffForm,
)
from incidents.auth.views import begin_session
from incidents.forms import ConfirmForm, show_service_error
from incidents.security import ALL_ROLES, is_safe_next, roles
from incidents.services import ServiceError, audit_log, two_factor


def _login_expired() -> ResponseReturnValue:
    pending.clear()
    flash(_("Your login has expired. Log in again."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor_login() -> ResponseReturnValue:
    """The second step of a login: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    waiting = pending.current()
    user = two_factor.user_for_login(waiting.user_id) if waiting else None
    if waiting is None or user is None:
        return _login_expired()
    code_form, recovery_form = CodeForm(), RecoveryCodeForm()
    form, field = (
        (recovery_form, recovery_form.recovery_code)
        if "recovery_code" in request.form
        else (code_form, code_form.code)
    )
    if form.validate_on_submit():
        check = two_factor.verify(user, field.data or "")
        if check.outcome is two_factor.Outcome.WAIT:
            page = render_template(
                "auth/two_factor_login.html",
                form=code_form,
                recovery_form=recovery_form,
                refusal=two_factor.wait_message(check.wait_seconds),
            )
            return page, 429, {"Retry-After": str(check.wait_seconds)}
        if check.accepted:
            begin_session(user)  # and the waiting login is gone with the old session
            audit_log.record_login(user)
            if check.outcome is two_factor.Outcome.RECOVERY_CODE:
                flash(
                    ngettext(
                        "You logged in with a recovery code. %(num)s recovery code left.",
                        "You logged in with a recovery code. %(num)s recovery codes left.",
                        check.recovery_codes_left,
                    ),
                    "info",
                )
            target = waiting.next
            return redirect(target if is_safe_next(target) else url_for("main.index"))
        waiting.tries += 1
        if waiting.tries >= pending.CODE_TRIES:
            pending.clear()
            flash(_("Too many wrong codes. Log in again."), "error")
            return redirect(url_for("auth.login"))
        pending.save(waiting)
        field.errors = [two_factor.wrong_code_message()]
    return render_template(
        "auth/two_factor_login.html", form=code_form, recovery_form=recovery_form
    )


# --- The user's own page -------------------------------------------------------------------


def _page(
    *,
    confirm_form: ConfirmSetupForm | None = None,
    regenerate_form: RegenerateForm | None = None,
    off_form: SwitchOffForm | None = None,
) -> ResponseReturnValue:
    user = current_user._get_current_object()
    return render_template(
        "auth/two_factor.html",
        status=two_factor.status(user),
        secret=two_factor.secret_for_entry(user),
        confirm_form=confirm_form or ConfirmSetupForm(formdata=None),
        regenerate_form=regenerate_form or RegenerateForm(formdata=None),
        off_form=off_form or SwitchOffForm(formdata=None),
    )


def _codes_page(codes: list[str]) -> ResponseReturnValue:
    """The recovery codes, shown this once (the page is never cached: no-store)."""
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/account/two-factor", endpoint="two_factor")
@roles(*ALL_ROLES)
def two_factor_page() -> ResponseReturnValue:
    return _page()


@bp.route("/account/two-factor/qr.svg")
@roles(*ALL_ROLES)
def two_factor_qr() -> ResponseReturnValue:
    """The QR code of the secret being set up; 404 when none is (a confirmed secret is never
    shown again)."""
    svg = two_factor.qr_svg(current_user._get_current_object())
    if svg is None:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/account/two-factor/start", methods=["POST"])
@roles(*ALL_ROLES)
def two_factor_start() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        two_factor.enrol(current_user._get_current_object())
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(url_for("auth.two_factor"))


@bp.route("/account/two-factor/confirm", methods=["POST"])
@roles(*ALL_ROLES)
def two_factor_confirm() -> ResponseReturnValue:
    form = ConfirmSetupForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm(
                current_user._get_current_object(),
                form.code.data or "",
                keep_session=session.get("_user_id", ""),
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Two-factor sign-in is on. Your other sessions have been ended."), "success")
            return _codes_page(codes)
    return _page(confirm_form=form)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@roles(*ALL_ROLES)
def two_factor_recovery_codes() -> ResponseReturnValue:
    form = RegenerateForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.new_recovery_codes(
                current_user._get_current_object(), form.regenerate_code.data or ""
            )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("New recovery codes made. The old ones no longer work."), "success")
            return _codes_page(codes)
    return _page(regenerate_form=form)


@bp.route("/account/two-factor/off", methods=["POST"])
@roles(*ALL_ROLES)
def two_factor_off() -> ResponseReturnValue:
    form = SwitchOffForm()
    if form.validate_on_submit():
        try:
            two_factor.switch_off(current_user._get_current_object(), form.off_code.data or "")
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("auth.two_factor"))
    return _page(off_form=form)
