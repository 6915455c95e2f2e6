"""Legal holds: stop retention for an incident until lifted.

The administrator sees incidents by number, date submitted and level only: never contents.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from incidents.admin import bp
from incidents.forms import IncidentNumber, show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError, numbers, retention

HOLD, LIFT = "hold", "lift"


class LegalHoldForm(FlaskForm):
    incident = StringField(
        _l("Incident number"),
        validators=[
            InputRequired(_l("Enter the incident's number, for example 2026-0142.")),
            Length(max=32, message=_l("Enter the incident's number, for example 2026-0142.")),
            IncidentNumber(_l("Enter the incident's number, for example 2026-0142.")),
        ],
        filters=[strip_filter],
        description=_l(
            "The number the privacy officer or lawyer gave you, for example 2026-0142. "
            "Not sure? Search for it below."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "numeric"},
    )
    action = RadioField(
        _l("Action"),
        choices=[
            SelectChoice(HOLD, _l("Place a legal hold")),
            SelectChoice(LIFT, _l("Lift the legal hold")),
        ],
        default=HOLD,
        validators=[DataRequired(_l("Choose an action."))],
    )
    reason = StringField(
        _l("Reason"),
        validators=[Length(max=retention.REASON_MAX)],
        filters=[strip_filter],
        description=lazy_ngettext(
            "Required when placing a hold: %(min)s to %(num)s character. For example the case "
            "or request that requires it. No personal data.",
            "Required when placing a hold: %(min)s to %(num)s characters. For example the case "
            "or request that requires it. No personal data.",
            retention.REASON_MAX,
            min=retention.REASON_MIN,
        ),
    )


def _page(form: LegalHoldForm) -> ResponseReturnValue:
    searched = (request.args.get("q") or "").strip()[:32]
    return render_template(
        "admin/legal_holds.html",
        form=form,
        searched=searched,
        found=retention.incidents_numbered(searched) if searched else [],
        found_limit=retention.SEARCH_LIMIT,
        held=retention.held_incidents(),
        runs=retention.recent_runs(),
    )


@bp.route("/legal-holds", methods=["GET"])
@roles(Role.ADMIN)
def legal_holds() -> ResponseReturnValue:
    """The form, with the incident chosen from a search (`?q=2026-01`, then `?incident=`)."""
    form = LegalHoldForm(formdata=None)
    chosen = numbers.parse(request.args.get("incident") or "")
    if chosen:
        form.incident.data = chosen
    return _page(form)


@bp.route("/legal-holds", methods=["POST"])
@roles(Role.ADMIN)
def set_legal_hold() -> ResponseReturnValue:
    form = LegalHoldForm()
    if form.validate_on_submit():
        hold = form.action.data == HOLD
        try:
            incident = retention.find_incident(form.incident.data)
            retention.set_legal_hold(current_user, incident, hold, form.reason.data or "")
        except ServiceError as error:
            show_service_error(form, error)
        else:
            message = (
                _("Incident %(number)s is on legal hold.", number=incident.number)
                if hold
                else _("The legal hold on incident %(number)s was lifted.", number=incident.number)
            )
            flash(message, "success")
            return redirect(url_for("admin.legal_holds"))
    return _page(form)
