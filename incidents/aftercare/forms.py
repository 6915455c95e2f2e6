"""Forms to record a step's outcome, to correct it later, and to hand a step over."""

from __future__ import annotations

from datetime import date, datetime

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from incidents import queries
from incidents.bounds import EARLIEST_DAY, INT_MAX, MEASURE_MAX_YEARS, latest_measure_end
from incidents.extensions import org_zone
from incidents.forms import DateBetween, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.labels import OUTCOME_LABELS
from incidents.models import AftercareStep
from incidents.services.aftercare import (
    NOTE_MAX,
    POLICE_REFERENCE_MAX,
    StepResult,
    outcome_rules,
)
from incidents.services.corrections import REASON_MAX as CORRECTION_REASON_MAX
from incidents.services.corrections import correctable_outcomes


def _today() -> date:
    """Today in the organisation's time zone (the one the step's dates are in)."""
    return datetime.now(org_zone()).date()


EARLIEST = _l("Enter a date from 1 January 1990 on.")


class StepForm(FlaskForm):
    # The number of attempts the manager saw: a stale form changes nothing. Tampered with
    # (not a number, or one no column holds): the form says so instead of failing.
    attempts = IntegerField(
        widget=HiddenField.widget,
        validators=[
            NumberRange(
                min=0,
                max=INT_MAX,
                message=_l("This form is out of date. Open the step again and record it anew."),
            )
        ],
    )
    outcomes = SelectMultipleField(_l("Outcome"), validate_choice=False)
    held_on = DateField(
        _l("Date"),
        validators=[
            Optional(),
            DateBetween(EARLIEST_DAY, _today, EARLIEST, _l("The date cannot be in the future.")),
        ],
    )
    reference = StringField(
        _l("Reference or report number"), validators=[Length(max=100)], filters=[strip_filter]
    )
    end_date = DateField(
        _l("End date of the measure"),
        validators=[
            Optional(),
            DateBetween(
                EARLIEST_DAY,
                lambda: latest_measure_end(_today()),
                EARLIEST,
                lazy_ngettext(
                    "A measure ends at most %(num)s year from today.",
                    "A measure ends at most %(num)s years from today.",
                    MEASURE_MAX_YEARS,
                ),
            ),
        ],
    )
    citizen_heard = BooleanField(_l("The citizen was heard before the decision"))
    reason = StringField(_l("Reason"), validators=[Length(max=200)], filters=[strip_filter])
    note = TextAreaField(
        _l("Short note"),
        validators=[Length(max=NOTE_MAX)],
        description=_l(
            "Who reads this: on a step of an employee's own aftercare, that employee reads "
            "it word for word (on their home page, their incident page and under My data); "
            "on a step about the incident as a whole, only managers do. Practical only: what "
            "was agreed, what help is offered. No medical details or diagnoses."
        ),
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
    )

    def __init__(self, *args: object, step: AftercareStep, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.rules = outcome_rules(step.kind)
        self.outcomes.choices = [SelectChoice(o, OUTCOME_LABELS[o]) for o in self.rules.choose]
        if self.attempts is not None and self.attempts.data is None:
            self.attempts.data = step.attempts

    def result(self) -> StepResult:
        return StepResult(
            outcomes=list(dict.fromkeys(self.outcomes.data or [])),
            note=self.note.data or "",
            held_on=self.held_on.data,
            reference=self.reference.data or "",
            end_date=self.end_date.data,
            citizen_heard=bool(self.citizen_heard.data),
            reason=self.reason.data or "",
        )


class StepCorrectionForm(StepForm):
    """The recording form, prefilled with what was recorded, and the reason for correcting."""

    attempts = None  # a recorded step has no attempts to guard
    # The step's revision the form was opened at: a correction saved meanwhile wins.
    revision = IntegerField(
        widget=HiddenField.widget,
        validators=[
            NumberRange(
                min=0,
                max=INT_MAX,
                message=_l("This form is out of date. Open the step again and correct it anew."),
            )
        ],
    )
    correction_reason = StringField(
        _l("Reason for the correction"),
        validators=[
            InputRequired(message=_l("Give the reason for the correction.")),
            Length(max=CORRECTION_REASON_MAX),
        ],
        filters=[strip_filter],
        description=_l("For example: the wrong outcome was chosen, or the date was mistyped."),
    )

    def __init__(self, *args: object, step: AftercareStep, **kwargs: object) -> None:
        if request.method == "GET":  # prefilled with what was recorded; a POST has its own
            kwargs.setdefault("data", _recorded(step))
        super().__init__(*args, step=step, **kwargs)
        choices = {o.value for o in correctable_outcomes(step)}
        self.outcomes.choices = [c for c in self.outcomes.choices if c.value in choices]
        if self.revision.data is None:
            self.revision.data = step.revision


def _recorded(step: AftercareStep) -> dict[str, object]:
    return {
        "outcomes": list(step.outcomes),
        "held_on": step.held_on,
        "reference": step.reference,
        "end_date": step.end_date,
        "citizen_heard": step.citizen_heard,
        "reason": step.reason,
        "note": step.note,
    }


class PoliceReferenceForm(FlaskForm):
    police_reference = StringField(
        _l("Report number"),
        validators=[Length(max=POLICE_REFERENCE_MAX)],
        filters=[strip_filter],
        description=_l("The number the police gave the report."),
    )


class HandForm(FlaskForm):
    owner = SelectField(_l("Hand to"), coerce=int, validate_choice=True)

    def __init__(self, *args: object, exclude_id: int | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.owner.choices = [
            SelectChoice(u.id, u.name) for u in queries.active_managers() if u.id != exclude_id
        ]


class PoliceOutcomeForm(FlaskForm):
    police_outcome = StringField(
        _l("Outcome of the police report"),
        validators=[Length(max=200)],
        filters=[strip_filter],
        description=_l("For example: suspect fined, case dismissed, still under investigation."),
    )
