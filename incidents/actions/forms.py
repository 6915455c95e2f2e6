"""The forms of corrective actions. What the texts and dates must be is the service's rule
(`incidents.services.actions`): its messages are put next to these fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from incidents.forms import EmailAddress, RevisionForm, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.models import ACTION_NOTE_MAX, ACTION_WHAT_MAX, RISK_ITEM_MAX, ActionState

STATE_LABELS = {
    ActionState.OPEN.value: _l("Open"),
    ActionState.DONE.value: _l("Done, review to come"),
    ActionState.REVIEWED.value: _l("Reviewed"),
    ActionState.CANCELLED.value: _l("Cancelled"),
}
RESULT_LABELS = {
    "worked": _l("It worked"),
    "partly": _l("It worked in part"),
    "did_not_work": _l("It did not work"),
}


def _owner_field(label: object) -> StringField:
    return StringField(
        label,
        validators=[Optional(), Length(max=254), EmailAddress()],
        filters=[strip_filter],
        description=_l(
            "The e-mail address of whoever does it: a manager, HR, a facility colleague."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"},
    )


def _text_field(label: object, maximum: int, rows: int = 3, **kwargs: object) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Length(max=maximum)],
        filters=[strip_filter],
        render_kw={"rows": rows, "maxlength": maximum},
        **kwargs,
    )


class ActionForm(FlaskForm):
    what = _text_field(
        _l("What will change"),
        ACTION_WHAT_MAX,
        description=lazy_ngettext(
            "One or two sentences about the work or the place, never about a person: for "
            "example \u201ca second exit in interview room 2\u201d. At most %(num)s character.",
            "One or two sentences about the work or the place, never about a person: for "
            "example \u201ca second exit in interview room 2\u201d. At most %(num)s characters.",
            ACTION_WHAT_MAX,
        ),
    )
    owner = _owner_field(_l("Owner"))
    due_on = DateField(_l("Deadline"), validators=[Optional()])
    risk_item = StringField(
        _l("Item of the risk inventory (optional)"),
        validators=[Length(max=RISK_ITEM_MAX)],
        filters=[strip_filter],
        description=_l(
            "If the action belongs to an item of the risk inventory and plan of action "
            "(RI&E), for example \u201cRI&E 4.2\u201d."
        ),
        render_kw={"autocomplete": "off", "maxlength": RISK_ITEM_MAX},
    )


class ChangeForm(RevisionForm):
    owner = _owner_field(_l("Owner"))
    due_on = DateField(_l("Deadline"), validators=[Optional()])


class CloseForm(RevisionForm):
    done_on = DateField(_l("Done on"), validators=[Optional()])
    done_note = _text_field(
        _l("What was done"),
        ACTION_NOTE_MAX,
        description=_l("In a sentence or two; the works council reads it."),
    )


class ReviewForm(RevisionForm):
    review_result = RadioField(
        _l("Did it work?"),
        choices=[SelectChoice(value, label) for value, label in RESULT_LABELS.items()],
        validators=[Optional()],
    )
    review_note = _text_field(
        _l("What you found"),
        ACTION_NOTE_MAX,
        description=_l(
            "Required when it did not (fully) work: what did not, and what happens now."
        ),
    )


class CancelForm(RevisionForm):
    cancel_reason = _text_field(_l("Why it is no longer needed"), ACTION_NOTE_MAX, rows=2)
