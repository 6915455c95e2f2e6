"""The report form and the quick log."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from incidents import queries
from incidents.bounds import EARLIEST_DAY, EARLIEST_MOMENT, parse_int
from incidents.forms import DateBetween, MaxLength, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext, select_locale
from incidents.labels import AGGRAVATING_LABELS, CHANNEL_LABELS, TYPE_LABELS
from incidents.models import Channel, Incident, IncidentType, PerpetratorKnown, PersonRole, User
from incidents.services import ReportData
from incidents.services.evidence import Upload
from incidents.services.reporting import FUTURE_TOLERANCE

DESCRIPTION_MAX = 4000
QUICK_TYPES = (IncidentType.VERBAL, IncidentType.INTIMIDATION)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def org_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["ORG_TIMEZONE"])


def local_now() -> datetime:
    """Now, in the organisation's time zone, to the minute, without zone (for the form)."""
    return datetime.now(org_zone()).replace(second=0, microsecond=0, tzinfo=None)


def to_utc(local: datetime | None) -> datetime | None:
    """A time typed in the organisation's time zone, as an aware UTC moment."""
    return None if local is None else local.replace(tzinfo=org_zone()).astimezone(UTC)


def to_local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(org_zone()).replace(tzinfo=None)


class ColleagueField(SelectMultipleField):
    """Colleagues chosen by id, from a search rather than a list of everyone (15,000 staff
    would make a page of megabytes). The ids are checked by the service (active accounts
    only); `chosen` and `matches` are what the picker shows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)
        self.matches: list[queries.Colleague] = []
        self._chosen: list[queries.Colleague] | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self._chosen = None

    @property
    def ids(self) -> list[int]:
        """The chosen ids in their order, once each (an unreadable id makes the field invalid,
        see process_formdata)."""
        return [i for i in dict.fromkeys(self.data or []) if isinstance(i, int)]

    def chosen(self) -> list[queries.Colleague]:
        """The chosen colleagues with their names (one query, when the form is drawn)."""
        if self._chosen is None:
            # More than a report may name is refused by the service before any query; the
            # form shows the first ones again, so a list of thousands never reaches the
            # database either.
            shown = self.ids[: current_app.config["MAX_COLLEAGUES_PER_REPORT"]]
            self._chosen = queries.colleagues_by_id(shown, locale=select_locale())
        return self._chosen


# What a file field offers (a phone offers its camera for images); the server decides again
# from the content.
ACCEPT = "image/*,.heic,.heif,application/pdf,.pdf,text/plain,.txt,message/rfc822,.eml,.msg"


class ReportForm(FlaskForm):
    submission_token = HiddenField()
    version = HiddenField()  # of the stored report the form was filled in from
    occurred_at = DateTimeLocalField(
        _l("When did it happen?"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[
            Optional(),
            DateBetween(
                datetime.combine(EARLIEST_DAY, time()),
                lambda: local_now() + FUTURE_TOLERANCE,
                too_early=_l("Enter a date from 1 January 1990 on."),
                too_late=_l("The date and time cannot be in the future."),
            ),
        ],
    )
    channel = RadioField(
        _l("Where or how?"),
        choices=[SelectChoice(c.value, label) for c, label in CHANNEL_LABELS.items()],
        validators=[Optional()],
        validate_choice=True,
    )
    location = StringField(
        _l("Location"),
        validators=[Length(max=200)],
        filters=[strip_filter],
        description=_l("Optional, for example “interview room 2”."),
    )
    types = MultiCheckboxField(
        _l("What happened?"),
        choices=[SelectChoice(t.value, label) for t, label in TYPE_LABELS.items()],
        description=_l("Choose everything that applies."),
    )
    description = TextAreaField(
        _l("Short description"),
        validators=[MaxLength(DESCRIPTION_MAX)],
        description=_l(
            "What happened, in a few sentences. Do not write medical details or diagnoses: "
            "those belong with the occupational physician."
        ),
        render_kw={"rows": 5, "maxlength": DESCRIPTION_MAX},
    )
    aggravating = MultiCheckboxField(
        _l("Aggravating facts"),
        choices=[SelectChoice(name, label) for name, label in AGGRAVATING_LABELS.items()],
    )
    affected_self = BooleanField(_l("I was affected myself"), default=True)
    affected = ColleagueField(
        _l("Affected colleagues"),
        description=_l("Reporting for someone else? Search for them by name or team."),
    )
    witnesses = ColleagueField(
        _l("Colleagues who saw it"),
        description=_l("Each of them is offered aftercare of their own."),
    )
    # Without JavaScript: a search field per list and a button that shows the matches
    # (`find` holds which list the button belongs to).
    affected_q = StringField(
        _l("Find an affected colleague"),
        validators=[Length(max=queries.COLLEAGUE_QUERY_MAX)],
        filters=[strip_filter],
    )
    witnesses_q = StringField(
        _l("Find a colleague who saw it"),
        validators=[Length(max=queries.COLLEAGUE_QUERY_MAX)],
        filters=[strip_filter],
    )
    find = HiddenField()
    outside_witnesses = TextAreaField(
        _l("Other witnesses"),
        validators=[MaxLength(1000)],
        description=_l("Names only, one per line, for example residents who saw it."),
        render_kw={"rows": 2},
    )
    perpetrator_known = RadioField(
        _l("Is the perpetrator known?"),
        choices=[
            SelectChoice(PerpetratorKnown.UNKNOWN.value, _l("Unknown")),
            SelectChoice(PerpetratorKnown.KNOWN.value, _l("Known")),
        ],
        default=PerpetratorKnown.UNKNOWN.value,
        validate_choice=True,
    )
    perpetrator_name = StringField(
        _l("Perpetrator's name"),
        validators=[Length(max=200)],
        filters=[strip_filter],
        description=_l(
            "This is sensitive personal data: enter only what is needed to protect staff."
        ),
    )
    perpetrator_reference = StringField(
        _l("Client reference"), validators=[Length(max=100)], filters=[strip_filter]
    )
    files = MultipleFileField(
        _l("Photos or files"), render_kw={"accept": ACCEPT}
    )  # its description: `files_hint`
    police_called = BooleanField(_l("The police were called"))
    police_report_wanted = BooleanField(_l("I want a police report to be filed"))
    damage = BooleanField(_l("There is damage"))
    submit = SubmitField(_l("Submit report"))
    save_draft = SubmitField(_l("Save as draft"))

    def __init__(
        self, *args: object, reporter: User, editor: User | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        if editor is not None and editor.id != reporter.id:
            # incidents.i18n's `_l`: the name is escaped when the label is drawn.
            self.affected_self.label.text = _l(
                "%(name)s (who reported it) was affected", name=reporter.name
            )
        self.reporter = reporter
        self.files.description = files_hint()
        for name in ("occurred_at", "channel", "types", "description"):
            getattr(self, name).flags.required = True

    @classmethod
    def for_incident(cls, incident: Incident, editor: User) -> ReportForm:
        """A form filled in from a stored incident (for completing a draft or adding to it)."""
        affected = [p.user_id for p in incident.people_in(PersonRole.AFFECTED)]
        data = {
            "submission_token": incident.submission_token,
            "version": str(incident.version),
            "occurred_at": to_local(incident.occurred_at),
            "channel": incident.channel.value if incident.channel else None,
            "location": incident.location,
            "types": [t.value for t in incident.types],
            "description": incident.description,
            "aggravating": [name for name in AGGRAVATING_LABELS if getattr(incident, name)],
            "affected_self": incident.reporter_id in affected,
            "affected": [i for i in affected if i != incident.reporter_id],
            "witnesses": [p.user_id for p in incident.people_in(PersonRole.WITNESS)],
            "outside_witnesses": incident.outside_witnesses,
            "perpetrator_known": incident.perpetrator_known.value,
            "perpetrator_name": incident.perpetrator_name,
            "perpetrator_reference": incident.perpetrator_reference,
            "police_called": incident.police_called,
            "police_report_wanted": incident.police_report_wanted,
            "damage": incident.damage,
        }
        # formdata=None: filled in from the incident even when answering a POST.
        return cls(reporter=incident.reporter, editor=editor, data=data, formdata=None)

    # The optional parts of the form, folded on the page, with how many of their fields are
    # filled in (see `filled_in`).
    SECTIONS = {
        "people": ("affected", "witnesses", "outside_witnesses"),
        "files": ("files",),
        "details": (
            "location",
            "aggravating",
            "perpetrator_known",
            "perpetrator_name",
            "perpetrator_reference",
            "police_called",
            "police_report_wanted",
            "damage",
        ),
    }

    def filled_in(self, section: str) -> int:
        """How many fields of an optional section hold something other than their default."""
        filled = 0
        for name in self.SECTIONS[section]:
            value = getattr(self, name).data
            if name == "perpetrator_known":
                filled += value == PerpetratorKnown.KNOWN.value
            elif name == "files":
                filled += bool(uploads(self.files))
            elif isinstance(value, str):
                filled += bool(value.strip())
            else:
                filled += bool(value)
        return filled

    def section_open(self, section: str) -> bool:
        """A section is shown unfolded when one of its fields has an error or its search was
        used (no JavaScript)."""
        searched = self.searched_list()
        return any(
            getattr(self, name).errors or (searched is not None and searched.name == name)
            for name in self.SECTIONS[section]
        )

    def searched_list(self) -> ColleagueField | None:
        """The colleague list whose search button was pressed (no JavaScript), or None."""
        if self.find.data in ("affected", "witnesses"):
            field: ColleagueField = getattr(self, self.find.data)
            return field
        return None

    def show_matches(self, colleagues: ColleagueField) -> None:
        """Look up what was typed in the list's search field; the matches are shown as
        checkboxes next to the colleagues already chosen."""
        text = getattr(self, f"{colleagues.name}_q").data or ""
        exclude = [self.reporter.id, *(c.id for c in colleagues.chosen())]
        colleagues.matches = queries.colleague_search(text, exclude=exclude, locale=select_locale())

    def form_version(self) -> int:
        """The version the form was made from; 0 (never current) when it is missing."""
        return parse_int(self.version.data or "") or 0

    def report_data(self) -> ReportData:
        """What was filled in, for the service (times converted to UTC)."""
        affected = self.affected.ids
        if self.affected_self.data:
            affected.insert(0, self.reporter.id)
        facts = set(self.aggravating.data or [])
        return ReportData(
            occurred_at=to_utc(self.occurred_at.data),
            channel=Channel(self.channel.data) if self.channel.data else None,
            types=[IncidentType(t) for t in self.types.data or []],
            location=self.location.data or "",
            description=self.description.data or "",
            affected_ids=affected,
            witness_ids=self.witnesses.ids,
            outside_witnesses=self.outside_witnesses.data or "",
            perpetrator_known=PerpetratorKnown(self.perpetrator_known.data or "unknown"),
            perpetrator_name=self.perpetrator_name.data or "",
            perpetrator_reference=self.perpetrator_reference.data or "",
            police_called=bool(self.police_called.data),
            police_report_wanted=bool(self.police_report_wanted.data),
            damage=bool(self.damage.data),
            **{name: name in facts for name in AGGRAVATING_LABELS},
        )


class QuickWhen(enum.StrEnum):
    """When a quick log happened: the three choices of its form."""

    NOW = "now"
    EARLIER_TODAY = "today"
    YESTERDAY = "yesterday"


QUICK_WHEN_LABELS = {
    QuickWhen.NOW: _l("Just now"),
    QuickWhen.EARLIER_TODAY: _l("Earlier today"),
    QuickWhen.YESTERDAY: _l("Yesterday"),
}
# Without a time: "earlier today" is an hour ago (never before midnight), "yesterday" midday.
EARLIER_TODAY_WITHOUT_TIME = timedelta(hours=1)
YESTERDAY_WITHOUT_TIME = time(12, 0)


def quick_moment(when: QuickWhen, at: time | None, now: datetime) -> datetime | None:
    """When a quick log happened, as an aware moment in `now`'s time zone (the organisation's);
    None for "just now" (the service takes the moment it saves). Pure, and it checks nothing:
    `QuickLogForm` refuses a time with "just now" and a time still to come today."""
    if when == QuickWhen.NOW:
        return None
    day = now.date() if when == QuickWhen.EARLIER_TODAY else now.date() - timedelta(days=1)
    if at is not None:
        return datetime.combine(day, at.replace(second=0, microsecond=0), tzinfo=now.tzinfo)
    if when == QuickWhen.YESTERDAY:
        return datetime.combine(day, YESTERDAY_WITHOUT_TIME, tzinfo=now.tzinfo)
    midnight = datetime.combine(day, time(), tzinfo=now.tzinfo)
    # Counted on the UTC clock: an hour ago is an hour ago on the night the clocks change.
    hour_ago = (now.astimezone(UTC) - EARLIER_TODAY_WITHOUT_TIME).astimezone(now.tzinfo)
    return max(hour_ago, midnight).replace(second=0, microsecond=0)


class QuickLogForm(FlaskForm):
    submission_token = HiddenField()
    type = RadioField(
        _l("What happened?"),
        choices=[SelectChoice(t.value, TYPE_LABELS[t]) for t in QUICK_TYPES],
        validators=[InputRequired(message=_l("Choose what happened."))],
    )
    when = RadioField(
        _l("When did it happen?"),
        choices=[SelectChoice(w.value, label) for w, label in QUICK_WHEN_LABELS.items()],
        # A form sent without it (from before it was there) happened just now.
        default=QuickWhen.NOW.value,
        validate_choice=True,
    )
    time_of_day = TimeField(
        _l("At what time? (optional)"),
        validators=[Optional()],
        description=_l(
            "For earlier today or yesterday. Without a time: an hour ago, or yesterday at 12:00."
        ),
    )
    channel = RadioField(
        _l("Where or how?"),
        choices=[SelectChoice(c.value, label) for c, label in CHANNEL_LABELS.items()],
        validators=[InputRequired(message=_l("Choose where or how it happened."))],
    )
    location = StringField(
        _l("Location"),
        validators=[Length(max=200)],
        filters=[strip_filter],
        description=_l("Optional, for example “interview room 2”."),
    )
    note = StringField(
        _l("One line (optional)"),
        validators=[Length(max=200)],
        filters=[strip_filter],
        description=_l("No names or medical details."),
    )
    # Set by static/js/offline.js on a log kept on the device without a network: the moment it
    # was kept (ISO 8601). "Just now", "earlier today" and "yesterday" count from then, not
    # from when the network came back. Like any time a reporter types, it is theirs to give;
    # anything unreadable, before 1990 or ahead of the clock counts from now.
    kept_at = HiddenField()
    submit = SubmitField(_l("Log it"))

    def now(self) -> datetime:
        """The moment the answers count from, in the organisation's time zone."""
        now = datetime.now(org_zone())
        try:
            kept = datetime.fromisoformat((self.kept_at.data or "").strip())
        except ValueError:
            return now
        if kept.tzinfo is None or not EARLIEST_MOMENT <= kept <= now:
            return now
        return kept.astimezone(org_zone())

    def validate_time_of_day(self, field: TimeField) -> None:
        at: time | None = field.data
        if at is None or self.when.data not in set(QuickWhen):
            return
        when = QuickWhen(self.when.data)
        if when == QuickWhen.NOW:
            raise ValidationError(
                str(
                    _l("Leave the time empty for “just now”, or choose earlier today or yesterday.")
                )
            )
        now = self.now()
        moment = quick_moment(when, at, now)
        if moment is not None and moment > now + FUTURE_TOLERANCE:
            raise ValidationError(
                str(_l("That time is still to come today. Choose yesterday, or an earlier time."))
            )

    def occurred_at(self) -> datetime | None:
        """When it happened, in UTC; None for "just now" (the moment it is saved), or the
        moment a log kept offline was kept."""
        now = self.now()
        moment = quick_moment(QuickWhen(self.when.data), self.time_of_day.data, now)
        if moment is None and self.kept_at.data and now < datetime.now(org_zone()):
            moment = now.replace(second=0, microsecond=0)
        return None if moment is None else moment.astimezone(UTC)


def files_hint() -> Any:
    config = current_app.config
    return lazy_ngettext(
        "Photos, screenshots, PDF, text or e-mail files: at most %(num)s file, of %(mb)s MB. "
        "Photos are stored without their location and camera data. Without a network, files "
        "are not kept: add them to the incident later.",
        "Photos, screenshots, PDF, text or e-mail files: at most %(num)s files, of %(mb)s MB "
        "each. Photos are stored without their location and camera data. Without a network, "
        "files are not kept: add them to the incident later.",
        config["EVIDENCE_MAX_FILES"],
        mb=config["EVIDENCE_MAX_BYTES"] // (1024 * 1024),
    )


def uploads(field: MultipleFileField) -> list[Upload]:
    """The files chosen in a file field (a browser sends an empty part when none is)."""
    found = []
    for file in field.data or []:
        name = getattr(file, "filename", "") or ""
        if name:
            file.stream.seek(0)  # read again when asked again
            found.append(Upload(name=name, data=file.stream.read()))
    return found


class EvidenceForm(FlaskForm):
    """Files added to an incident from its page."""

    files = MultipleFileField(_l("Add photos or files"), render_kw={"accept": ACCEPT})
    submit = SubmitField(_l("Add"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.files.description = files_hint()


class RemoveEvidenceForm(FlaskForm):
    reason = StringField(
        _l("Why is it removed?"),
        validators=[InputRequired(), Length(max=200)],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Remove the file"))
