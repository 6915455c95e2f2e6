"""Aftercare owners: the aftercare coordinator, and where aftercare would have no owner.

People without a team, teams without an active manager or deputy, and open steps nobody owns
are listed as warnings; choosing the coordinator gives them the waiting steps at once.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from incidents.admin import bp
from incidents.admin.forms import NONE, _manager_choices, _user
from incidents.forms import show_service_error
from incidents.i18n import lazy_gettext as _l
from incidents.labels import ROLE_LABELS
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError, ownership


class CoordinatorForm(FlaskForm):
    coordinator = SelectField(
        _l("Aftercare coordinator"),
        coerce=int,
        validate_choice=True,
        description=_l(
            "A manager who runs the aftercare of people without a team, or whose team has no "
            "active manager or deputy (and no manager above)."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.coordinator.choices = _manager_choices()


@bp.route("/aftercare-owners", methods=["GET", "POST"])
@roles(Role.ADMIN)
def aftercare_owners() -> ResponseReturnValue:
    gaps = ownership.gaps()
    form = CoordinatorForm(data={"coordinator": gaps.coordinator.id if gaps.coordinator else NONE})
    if form.validate_on_submit():
        try:
            given = ownership.set_coordinator(current_user, _user(form.coordinator.data))
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(_("The aftercare coordinator was saved."), "success")
            if given:
                flash(
                    ngettext(
                        "%(num)s waiting step was given to the coordinator.",
                        "%(num)s waiting steps were given to the coordinator.",
                        given,
                    ),
                    "success",
                )
            return redirect(url_for("admin.aftercare_owners"))
    return render_template("admin/ownership.html", form=form, gaps=gaps, role_labels=ROLE_LABELS)
