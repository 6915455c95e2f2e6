"""Directory provisioning (SCIM): the bearer tokens the organisation's directory uses.

A new token is shown once, on the page that answers its creation (never redirected to, nor
kept in the session, so it is in no cookie and no later page); only its hash is stored.
Creating and revoking are in the audit trail.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from incidents.admin import bp
from incidents.forms import ConfirmForm, MaxLength, show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.models import Role
from incidents.scim import bp as scim_bp
from incidents.security import roles
from incidents.services import ServiceError, scim_tokens


class ScimTokenForm(FlaskForm):
    name = StringField(
        _l("Name of the token"),
        validators=[
            DataRequired(_l("Give the token a name.")),
            MaxLength(scim_tokens.NAME_MAX),
        ],
        filters=[strip_filter],
        description=_l("Which directory uses it, for example “Entra ID production”."),
    )


def _page(form: ScimTokenForm, new: scim_tokens.NewToken | None = None) -> ResponseReturnValue:
    return render_template(
        "admin/scim.html",
        form=form,
        new=new,
        tokens=scim_tokens.all_tokens(),
        tenant_url=str(current_app.config["BASE_URL"]).rstrip("/") + (scim_bp.url_prefix or ""),
    )


@bp.route("/scim", methods=["GET"])
@roles(Role.ADMIN)
def scim() -> ResponseReturnValue:
    return _page(ScimTokenForm())


@bp.route("/scim", methods=["POST"])
@roles(Role.ADMIN)
def create_scim_token() -> ResponseReturnValue:
    """Make a token and show it, this once: the answer is the page itself (no redirect)."""
    form = ScimTokenForm()
    if form.validate_on_submit():
        try:
            new = scim_tokens.create(current_user, form.name.data or "")
        except ServiceError as error:
            show_service_error(form, error)
        else:
            return _page(ScimTokenForm(formdata=None), new)
    return _page(form)


@bp.route("/scim/<int:token_id>/revoke", methods=["POST"])
@roles(Role.ADMIN)
def revoke_scim_token(token_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        token = scim_tokens.revoke(current_user, token_id)
    except LookupError:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(
            _("The token “%(name)s” was revoked: requests with it are refused.", name=token.name),
            "success",
        )
    return redirect(url_for("admin.scim"))
