"""The form of the register of locations: a location's name and its channel."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from incidents.forms import strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.i18n import lazy_ngettext
from incidents.labels import CHANNEL_LABELS
from incidents.models import LOCATION_NAME_MAX, Channel


class LocationForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Enter the location's name.")),
            Length(
                max=LOCATION_NAME_MAX,
                message=lazy_ngettext(
                    "Keep the name under %(num)s character.",
                    "Keep the name under %(num)s characters.",
                    LOCATION_NAME_MAX,
                ),
            ),
        ],
        filters=[strip_filter],
        description=_l(
            "As staff know it, for example “Interview room 2”. It is the poster's title and "
            "is filled in as the location of what is logged there."
        ),
    )
    channel = SelectField(
        _l("Where or how?"),
        choices=[SelectChoice(c.value, label) for c, label in CHANNEL_LABELS.items()],
        validators=[DataRequired(message=_l("Choose where or how it happened."))],
        validate_choice=True,
        description=_l("Filled in on the quick log; the employee may change it."),
    )

    def values(self) -> dict[str, Any]:
        """The location's name and channel, for the service."""
        return {"name": self.name.data or "", "channel": Channel(self.channel.data)}
