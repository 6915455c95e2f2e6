"""Evidence settings: whether originals are kept for the police, and where files are stored."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from incidents.admin import bp
from incidents.i18n import lazy_gettext as _l
from incidents.models import Role
from incidents.security import roles
from incidents.services import evidence


class KeepOriginalsForm(FlaskForm):
    keep = BooleanField(
        _l("Keep originals for the police"),
        description=_l(
            "Photos are always stored and shown without their metadata (the place they were "
            "taken, the device). With this on, the upload as it was is kept as well, for the "
            "police only: the managers of the incident can download it. It may hold the GPS "
            "position of an employee's home."
        ),
    )
    submit = SubmitField(_l("Save"))


def _where(url: str) -> str:
    """Where the files are kept, without any secret in the address."""
    if url.startswith("s3://"):
        return _(
            "An S3-compatible object store (bucket %(bucket)s)",
            bucket=url[5:].split("/")[0].split("?")[0],
        )
    return _("A folder on the server, never served directly")


@bp.route("/evidence", methods=["GET", "POST"])
@roles(Role.ADMIN)
def evidence_settings() -> ResponseReturnValue:
    form = KeepOriginalsForm(data={"keep": evidence.keep_originals()})
    if form.validate_on_submit():
        evidence.set_keep_originals(current_user, bool(form.keep.data))
        flash(_("The evidence settings were saved."), "success")
        return redirect(url_for("admin.evidence_settings"))
    config = current_app.config
    return render_template(
        "admin/evidence.html",
        form=form,
        where=_where(config["EVIDENCE_STORAGE"]),
        max_files=config["EVIDENCE_MAX_FILES"],
        max_mb=config["EVIDENCE_MAX_BYTES"] // (1024 * 1024),
    )
