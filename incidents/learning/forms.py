"""The forms of organisational measures. What the fields must be is the service's rule
(`incidents.services.learning`): its messages are put next to these fields."""

from __future__ import annotations

from flask_babel import get_locale
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from incidents.extensions import db
from incidents.forms import RevisionForm, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.labels import CHANNEL_LABELS
from incidents.models import Channel, Location
from incidents.queries import team_list
from incidents.reporting.forms import MultiCheckboxField
from incidents.services import learning


class MeasureForm(RevisionForm):
    title = StringField(
        _l("Name of the measure"),
        validators=[InputRequired(message=_l("Give the measure a name."))],
        filters=[strip_filter],
        description=_l('For example "Mobile alarm buttons" or "Counter screen".'),
    )
    taken_on = DateField(
        _l("Date it came in"),
        validators=[InputRequired(message=_l("Enter the date the measure came in."))],
        description=_l(
            "A date ahead is allowed: the measure is announced, and compared once its windows"
            " have closed."
        ),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional()],
        filters=[strip_filter],
        description=_l("What changed, and why. No names of people."),
    )
    teams = MultiCheckboxField(
        _l("Teams"),
        coerce=int,
        validate_choice=False,
        description=_l("Leave empty for every team. A department includes its teams."),
    )
    channels = MultiCheckboxField(
        _l("Channels"),
        validate_choice=False,
        description=_l("Leave empty for every channel."),
    )
    locations = MultiCheckboxField(
        _l("Locations"),
        coerce=int,
        validate_choice=False,
        description=_l(
            "Leave empty for every place. Incidents count at a location when their place is"
            " one of the registered locations."
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        language = str(get_locale() or "nl")
        # Archived teams and locations stay choosable: a measure may be about what was.
        self.teams.choices = [(t.id, t.name(language)) for t in team_list()]
        self.channels.choices = [(c.value, str(CHANNEL_LABELS[c])) for c in Channel]
        self.locations.choices = [
            (loc.id, loc.name)
            for loc in db.session.scalars(
                db.select(Location).order_by(Location.archived_at.is_not(None), Location.name)
            )
        ]

    def data_in(self) -> learning.MeasureInput:
        return learning.MeasureInput(
            title=self.title.data or "",
            taken_on=self.taken_on.data,
            description=self.description.data or "",
            teams=list(self.teams.data or []),
            channels=list(self.channels.data or []),
            locations=list(self.locations.data or []),
        )


class EndForm(RevisionForm):
    ended_on = DateField(
        _l("Ended on"), validators=[InputRequired(message=_l("Enter the date the measure ended."))]
    )
    reason = StringField(
        _l("Why it ended"),
        validators=[InputRequired(message=_l("Say why in a few words."))],
        filters=[strip_filter],
    )


class DeleteForm(RevisionForm):
    """Delete a measure recorded by mistake (before any figures of it were shown)."""
