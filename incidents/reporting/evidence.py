"""Evidence on the incident page: adding files, downloading them, choosing them for the police,
removing them.

Every route finds the incident through the same object-level check as the incident page, then
asks `access` whether the user may see or handle its files: anyone else gets 404, as if the
file did not exist. A download is always an attachment (`Content-Disposition: attachment`),
never sniffed, never cached, from the evidence store (not the static folder); an image shown on
the page is that same download in an <img>."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from incidents import access, services
from incidents.extensions import db
from incidents.forms import ConfirmForm, show_service_error
from incidents.models import Attachment
from incidents.reporting import bp
from incidents.reporting.forms import EvidenceForm, RemoveEvidenceForm, uploads
from incidents.reporting.views import REPORTERS, all_files_bytes, detail_page, incident_or_404
from incidents.security import accepts_file, roles
from incidents.services import ServiceError


def _attachment_or_404(incident_id: int, attachment_id: int) -> Attachment:
    """A file of an incident the user may see in full; 404 for anything else."""
    incident, _view = incident_or_404(incident_id)
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.incident_id != incident.id
        or not access.can_see_evidence(current_user, incident)
    ):
        abort(404)
    return attachment


def _to_files(incident_id: int) -> ResponseReturnValue:
    return redirect(url_for("reporting.detail", incident_id=incident_id) + "#evidence")


@bp.route("/<int:incident_id>/evidence", methods=["POST"])
@roles(*REPORTERS)
@accepts_file(all_files_bytes)
def add_evidence(incident_id: int) -> ResponseReturnValue:
    incident, view = incident_or_404(incident_id)
    if not access.can_add_evidence(current_user, incident):
        abort(404)
    form = EvidenceForm()
    if form.validate_on_submit():
        try:
            added = services.evidence.add_files(current_user, incident, uploads(form.files))
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            flash(ngettext("%(num)s file added.", "%(num)s files added.", len(added)), "success")
            return _to_files(incident_id)
    incident, view = incident_or_404(incident_id)
    return detail_page(incident, view, evidence_form=form), 400


def _download(attachment: Attachment, original: bool) -> ResponseReturnValue:
    try:
        data = services.evidence.read(current_user, attachment, original=original)
    except ServiceError:
        abort(404)
    response = send_file(
        io.BytesIO(data),
        mimetype=attachment.content_type if not original else "application/octet-stream",
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened anyway (a browser's viewer): nothing in it may run or fetch.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/<int:incident_id>/evidence/<int:attachment_id>")
@roles(*REPORTERS)
def evidence_file(incident_id: int, attachment_id: int) -> ResponseReturnValue:
    return _download(_attachment_or_404(incident_id, attachment_id), original=False)


@bp.route("/<int:incident_id>/evidence/<int:attachment_id>/original")
@roles(*REPORTERS)
def evidence_original(incident_id: int, attachment_id: int) -> ResponseReturnValue:
    """The upload as it was (with its metadata), kept only when the admin chose so: for the
    managers who hand evidence to the police."""
    attachment = _attachment_or_404(incident_id, attachment_id)
    if attachment.original_key is None or not access.can_manage_evidence(
        current_user, attachment.incident
    ):
        abort(404)
    return _download(attachment, original=True)


@bp.route("/<int:incident_id>/evidence/<int:attachment_id>/remove", methods=["POST"])
@roles(*REPORTERS)
def remove_evidence(incident_id: int, attachment_id: int) -> ResponseReturnValue:
    attachment = _attachment_or_404(incident_id, attachment_id)
    if not access.can_remove_evidence(current_user, attachment):
        abort(404)
    form = RemoveEvidenceForm(prefix=f"remove-{attachment_id}")
    if form.validate_on_submit():
        try:
            services.evidence.remove_file(current_user, attachment, form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            flash(_("The file was removed."), "success")
            return _to_files(incident_id)
    incident, view = incident_or_404(incident_id)
    return detail_page(incident, view, remove_form=form, removing=attachment_id), 400


@bp.route("/<int:incident_id>/evidence/<int:attachment_id>/police", methods=["POST"])
@roles(*REPORTERS)
def evidence_for_police(incident_id: int, attachment_id: int) -> ResponseReturnValue:
    attachment = _attachment_or_404(incident_id, attachment_id)
    if not access.can_manage_evidence(current_user, attachment.incident):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.evidence.choose_for_police(
            current_user, attachment, request.form.get("chosen") == "1"
        )
    except ServiceError as error:
        flash(error.message, "error")
    return _to_files(incident_id)
