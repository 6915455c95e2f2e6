"""Legal holds: stop retention for an incident until lifted.

The administrator sees incidents by number, date submitted and level only: never contents.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from incidents.admin import bp
from incidents.bounds import INT_MAX
from incidents.forms import show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError, retention

HOLD, LIFT = "hold", "lift"


class LegalHoldForm(FlaskForm):
    incident = IntegerField(
        _l("Incident number"),
        validators=[
            InputRequired(_l("Enter the number of the incident.")),
            NumberRange(min=1, max=INT_MAX, message=_l("Enter the number of the incident.")),
        ],
        description=_l("The number the privacy officer or lawyer gave you."),
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
    return render_template(
        "admin/legal_holds.html",
        form=form,
        held=retention.held_incidents(),
        runs=retention.recent_runs(),
    )


@bp.route("/legal-holds", methods=["GET"])
@roles(Role.ADMIN)
def legal_holds() -> ResponseReturnValue:
    return _page(LegalHoldForm())


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
                _("Incident %(id)s is on legal hold.", id=incident.id)
                if hold
                else _("The legal hold on incident %(id)s was lifted.", id=incident.id)
            )
            flash(message, "success")
            return redirect(url_for("admin.legal_holds"))
    return _page(form)
