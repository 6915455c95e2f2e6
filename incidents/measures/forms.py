"""The register's forms. What the dates and texts must be is the service's rule
(`incidents.services.measures`): its messages are put next to these fields."""

from __future__ import annotations

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from incidents.forms import EmailAddress, RevisionForm, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.models import (
    CITIZEN_NAME_MAX,
    CITIZEN_REFERENCE_MAX,
    MEASURE_REASON_MAX,
    HeardHow,
    NoticeHow,
)
from incidents.services import measures

HEARD_HOW_LABELS = {
    HeardHow.IN_PERSON.value: _l("In a conversation"),
    HeardHow.PHONE.value: _l("By phone"),
    HeardHow.WRITING.value: _l("In writing"),
}
NOTICE_HOW_LABELS = {
    NoticeHow.POST.value: _l("By post"),
    NoticeHow.EMAIL.value: _l("By e-mail"),
    NoticeHow.HAND.value: _l("Handed over in person"),
}


def _kind_choices() -> list[SelectChoice]:
    """Each kind with how long it lasts: "Toegangsverbod (standaard 90 dagen, hoogstens 365
    dagen met één goedkeuring; de burger wordt eerst gehoord)"."""
    language = str(get_locale() or "nl")
    choices = []
    for kind in measures.kinds():
        parts = [
            ngettext("%(num)s day by default", "%(num)s days by default", kind.default_days),
            ngettext(
                "at most %(num)s day with one approval",
                "at most %(num)s days with one approval",
                kind.max_days,
            ),
        ]
        heard = "; " + _("the citizen is heard first") if kind.hearing else ""
        choices.append(SelectChoice(kind.id, f"{kind.title(language)} ({', '.join(parts)}{heard})"))
    return choices


class ProposeForm(FlaskForm):
    kind = RadioField(
        _l("Kind of measure"), validators=[InputRequired(_l("Choose a kind of measure."))]
    )
    citizen_name = StringField(
        _l("Name of the citizen"),
        validators=[InputRequired(_l("Enter the citizen's name.")), Length(max=CITIZEN_NAME_MAX)],
        filters=[strip_filter],
        description=_l(
            "The name only. Never health data, a diagnosis, convictions or a citizen service "
            "number (BSN): the register may not hold them."
        ),
        render_kw={"autocomplete": "off"},
    )
    citizen_reference = StringField(
        _l("Client reference (optional)"),
        validators=[Length(max=CITIZEN_REFERENCE_MAX)],
        filters=[strip_filter],
        description=_l("The organisation's own client or case number, never the BSN."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    incidents = StringField(
        _l("Incidents it rests on"),
        validators=[InputRequired(_l("Name at least one incident the measure rests on."))],
        filters=[strip_filter],
        description=_l("Incident numbers, separated by commas, for example 2026-0142, 2026-0150."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            InputRequired(_l("Give the reason in a sentence.")),
            Length(max=MEASURE_REASON_MAX),
        ],
        filters=[strip_filter],
        description=lazy_ngettext(
            "In one sentence, what happened that calls for the measure: the citizen reads it "
            "in the notice letter. At most %(num)s character.",
            "In one sentence, what happened that calls for the measure: the citizen reads it "
            "in the notice letter. At most %(num)s characters.",
            MEASURE_REASON_MAX,
        ),
        render_kw={"rows": 3},
    )
    starts_on = DateField(_l("Start date"), validators=[Optional()])
    ends_on = DateField(
        _l("End date"),
        validators=[Optional()],
        description=_l(
            "Every measure ends. Longer than the kind's maximum needs a second approval."
        ),
    )
    contact_person = StringField(
        _l("Contact person's e-mail address"),
        validators=[Optional(), Length(max=254), EmailAddress()],
        filters=[strip_filter],
        description=_l("Only for a named contact person: the employee the citizen deals with."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"},
    )
    step = HiddenField()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = _kind_choices()


def _reason_field(label: object, *, rows: int, **kwargs: object) -> TextAreaField:
    """A required reason of a sentence (its length is the service's rule, `reason_message`)."""
    return TextAreaField(
        label,
        validators=[
            InputRequired(_l("Give the reason in a sentence.")),
            Length(max=MEASURE_REASON_MAX),
        ],
        filters=[strip_filter],
        render_kw={"rows": rows},
        **kwargs,
    )


class ExtendForm(RevisionForm):
    ends_on = DateField(
        _l("New end date"),
        validators=[Optional()],
        description=_l("The extension starts the day after the current end date."),
    )
    extension_reason = _reason_field(_l("Why it is extended"), rows=3)


class HearingForm(RevisionForm):
    heard_on = DateField(_l("Heard on"), validators=[Optional()])
    heard_how = RadioField(
        _l("How"),
        choices=[SelectChoice(value, label) for value, label in HEARD_HOW_LABELS.items()],
        validators=[Optional()],
    )
    not_heard_reason = TextAreaField(
        _l("Or: why the citizen could not be heard"),
        validators=[Length(max=MEASURE_REASON_MAX)],
        filters=[strip_filter],
        description=_l("For example: no address known, or the citizen did not respond."),
        render_kw={"rows": 2},
    )


class NoticeSentForm(RevisionForm):
    sent_on = DateField(_l("Sent on"), validators=[Optional()])
    sent_how = RadioField(
        _l("How"),
        choices=[SelectChoice(value, label) for value, label in NOTICE_HOW_LABELS.items()],
        validators=[Optional()],
    )


class CloseForm(RevisionForm):
    reason = _reason_field(_l("Reason"), rows=2)


class ApproveForm(RevisionForm):
    """Approve (or, with a reason, turn down) a proposal."""


__all__ = [
    "ApproveForm",
    "CloseForm",
    "ExtendForm",
    "HearingForm",
    "NoticeSentForm",
    "ProposeForm",
    "RevisionForm",
]
