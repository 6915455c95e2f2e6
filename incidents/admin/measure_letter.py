"""What the organisation writes in the notice letter of a measure: its name, address and
contact, how to object (in Dutch and in English) and who signs."""

from __future__ import annotations

from dataclasses import asdict

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from incidents.admin import bp
from incidents.forms import MaxLength, show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError
from incidents.services import measure_letter as letters
from incidents.services.measure_letter import LIMITS, LetterSettings


def _validators(part: str, required: bool = False) -> list[object]:
    return [DataRequired(), MaxLength(LIMITS[part])] if required else [MaxLength(LIMITS[part])]


class MeasureLetterForm(FlaskForm):
    """One field per part of `LetterSettings`."""

    org_name = StringField(
        _l("Name of the organisation"),
        validators=_validators("org_name", required=True),
        filters=[strip_filter],
        render_kw={"autocomplete": "organization"},
    )
    address = TextAreaField(
        _l("Postal address"),
        validators=_validators("address", required=True),
        filters=[strip_filter],
        description=_l(
            "Street and number, postcode and town, one per line. Objections are sent here."
        ),
        render_kw={"rows": 4},
    )
    contact = StringField(
        _l("Contact"),
        validators=_validators("contact"),
        filters=[strip_filter],
        description=_l("A phone number or e-mail address for questions, on one line."),
        render_kw={"autocomplete": "off"},
    )
    objection_nl = TextAreaField(
        _l("How to object, in Dutch"),
        validators=_validators("objection_nl", required=True),
        filters=[strip_filter],
        description=_l(
            "Within how many weeks, in writing, to which address. A blank line starts a new "
            "paragraph."
        ),
        render_kw={"rows": 6, "lang": "nl"},
    )
    objection_en = TextAreaField(
        _l("How to object, in English"),
        validators=_validators("objection_en", required=True),
        filters=[strip_filter],
        render_kw={"rows": 6, "lang": "en"},
    )
    signatory = StringField(
        _l("Signed by"),
        validators=_validators("signatory"),
        filters=[strip_filter],
        description=_l(
            "A function, such as “the mayor and aldermen”, never a person's name. Empty: the "
            "organisation's name."
        ),
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField(_l("Save"))

    def letter_settings(self) -> LetterSettings:
        return LetterSettings(**{part: self[part].data or "" for part in letters.PARTS})


@bp.route("/measure-letter", methods=["GET", "POST"], endpoint="measure_letter")
@roles(Role.ADMIN)
def measure_letter_page() -> ResponseReturnValue:
    if request.method == "POST":
        form = MeasureLetterForm()
    else:
        form = MeasureLetterForm(data=asdict(letters.letter_settings()))
    if form.validate_on_submit():
        try:
            changed = letters.set_letter_settings(current_user, form.letter_settings())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(
                _("The notice letter was saved.") if changed else _("Nothing was changed."),
                "success",
            )
            return redirect(url_for("admin.measure_letter"))
    return render_template("admin/measure_letter.html", form=form)
