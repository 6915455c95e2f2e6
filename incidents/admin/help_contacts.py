"""The contacts on the "What happens now" help page: whom employees can call after an incident."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, Form, StringField, SubmitField, TextAreaField
from wtforms.validators import ValidationError

from incidents.admin import bp
from incidents.forms import MaxLength, show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.labels import HELP_CONTACT_LABELS
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError, help_contacts
from incidents.services.help_contacts import (
    LIMITS,
    PARTS,
    Contact,
    ContactKind,
    field_name,
    is_phone,
    phone_message,
)

PART_LABELS = {
    "name": _l("Name"),
    "phone": _l("Phone number"),
    "address": _l("E-mail or address"),
    "text": _l("More information"),
}
PART_HINTS = {
    "text": _l("For example opening hours, or when to call. Shown as you type it."),
}


def _phone(form: Form, field: Field) -> None:
    if field.data and not is_phone(field.data):
        raise ValidationError(phone_message())


class HelpContactsForm(FlaskForm):
    """One field per part of each contact (`victim_support_phone`, ...)."""

    submit = SubmitField(_l("Save"))

    @classmethod
    def for_contacts(cls, contacts: dict[ContactKind, Contact]) -> HelpContactsForm:
        return cls(
            data={
                field_name(kind, part): getattr(contact, part)
                for kind, contact in contacts.items()
                for part in PARTS
            }
        )

    def contacts(self) -> dict[ContactKind, Contact]:
        return {
            kind: Contact(**{part: self[field_name(kind, part)].data or "" for part in PARTS})
            for kind in ContactKind
        }

    def fields_of(self, kind: ContactKind) -> list[Field]:
        return [self[field_name(kind, part)] for part in PARTS]


for _kind in ContactKind:
    for _part in PARTS:
        _field_class = TextAreaField if _part == "text" else StringField
        _validators: list[object] = [MaxLength(LIMITS[_part])]
        if _part == "phone":
            _validators.append(_phone)
        setattr(
            HelpContactsForm,
            field_name(_kind, _part),
            _field_class(
                PART_LABELS[_part],
                validators=_validators,
                filters=[strip_filter],
                description=PART_HINTS.get(_part, ""),
                render_kw={"rows": 3} if _part == "text" else {"autocomplete": "off"},
            ),
        )


@bp.route("/help-contacts", methods=["GET", "POST"], endpoint="help_contacts")
@roles(Role.ADMIN)
def help_contacts_page() -> ResponseReturnValue:
    if request.method == "POST":
        form = HelpContactsForm()
    else:
        form = HelpContactsForm.for_contacts(help_contacts.help_contacts())
    if form.validate_on_submit():
        try:
            changed = help_contacts.set_help_contacts(current_user, form.contacts())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(
                _("The contacts were saved.") if changed else _("Nothing was changed."), "success"
            )
            return redirect(url_for("admin.help_contacts"))
    return render_template(
        "admin/help_contacts.html", form=form, kinds=list(ContactKind), labels=HELP_CONTACT_LABELS
    )
