"""The register of locations and their posters: list, add, rename, change the channel, archive
or restore; a printable poster per location with its QR code, and the QR code as an SVG file.

The QR code holds `/incidents/quick?at=<code>` under BASE_URL (never the Host of the admin's
request, which could be an internal name that phones cannot reach), and the code never changes.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from incidents import qr, queries
from incidents.admin import bp
from incidents.admin.forms_locations import LocationForm
from incidents.extensions import db
from incidents.forms import ConfirmForm, show_service_error
from incidents.i18n import select_locale
from incidents.labels import CHANNEL_LABELS
from incidents.links import external_url
from incidents.models import Location, Role
from incidents.security import roles
from incidents.services import ServiceError
from incidents.services import locations as location_service


def quick_log_url(location: Location) -> str:
    """The absolute address a location's QR code holds: the quick log with its code."""
    return external_url("reporting.quick", at=location.code)


@bp.route("/locations")
@roles(Role.ADMIN)
def locations() -> ResponseReturnValue:
    return render_template(
        "admin/locations.html", locations=queries.location_list(), channels=CHANNEL_LABELS
    )


@bp.route("/locations/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_location() -> ResponseReturnValue:
    form = LocationForm()
    if form.validate_on_submit():
        try:
            location = location_service.create_location(current_user, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("Location added. Print its poster below."), "success")
            return redirect(url_for("admin.location_poster", location_id=location.id))
    return render_template("admin/location_form.html", form=form, location=None)


@bp.route("/locations/<int:location_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit_location(location_id: int) -> ResponseReturnValue:
    location = db.get_or_404(Location, location_id)
    form = LocationForm(data={"name": location.name, "channel": location.channel.value})
    if form.validate_on_submit():
        try:
            changed = location_service.update_location(current_user, location, **form.values())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(
                _("Changes saved. Posters already printed keep working.")
                if changed
                else _("Nothing was changed."),
                "success",
            )
            return redirect(url_for("admin.locations"))
    return render_template("admin/location_form.html", form=form, location=location)


@bp.route("/locations/<int:location_id>/archive", methods=["POST"])
@roles(Role.ADMIN)
def set_location_archived(location_id: int) -> ResponseReturnValue:
    """Archive an active location, restore an archived one."""
    location = db.get_or_404(Location, location_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    archive = location.active
    try:
        location_service.set_location_archived(current_user, location, archive)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(
            _("Location archived: its posters no longer fill anything in.")
            if archive
            else _("Location restored: its posters work again."),
            "success",
        )
    return redirect(url_for("admin.locations"))


@bp.route("/locations/<int:location_id>")
@roles(Role.ADMIN)
def location_poster(location_id: int) -> ResponseReturnValue:
    """The poster to print (A4): the location, a line of invitation, the QR code and the
    address written out for those who type it."""
    location = db.get_or_404(Location, location_id)
    address = quick_log_url(location)
    languages = current_app.config["LANGUAGES"]
    language = request.args.get("lang", "")
    # `?lang=`: the poster in another language than the admin's own (the page is all in it).
    with force_locale(language if language in languages else select_locale()):
        return render_template(
            "admin/location_poster.html",
            location=location,
            address=address,
            code=qr.drawing(address),
            channels=CHANNEL_LABELS,
            languages=languages,
        )


@bp.route("/locations/<int:location_id>/qr.svg")
@roles(Role.ADMIN)
def location_qr(location_id: int) -> ResponseReturnValue:
    """The QR code alone, as an SVG file to download (for a print shop or a sign maker)."""
    location = db.get_or_404(Location, location_id)
    drawn = qr.svg_file(quick_log_url(location), title=location.code)
    return Response(
        drawn,
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="qr-{location.code}.svg"'},
    )
