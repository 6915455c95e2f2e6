"""Forms for client conversation counts: the month, the grid of counts, and the CSV upload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, StringField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import MonthInput, NumberInput

from incidents.forms import CsvUploadForm, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.labels import CHANNEL_LABELS
from incidents.models import Channel, Team
from incidents.services import conversations as conversation_service
from incidents.services.conversations import CountKey, count_field


class MonthForm(FlaskForm):
    """Which month the grid shows. Sent with GET and changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    month = StringField(
        _l("Month"),
        description=_l("Year and month, for example 2025-03."),
        validators=[DataRequired(_l("Enter a month as YYYY-MM, for example 2025-03."))],
        widget=MonthInput(),
        filters=[strip_filter],
    )

    def validate_month(self, field: Field) -> None:
        month = conversation_service.parse_month(field.data or "")
        if month is None:
            raise ValidationError(_l("Enter a month as YYYY-MM, for example 2025-03."))
        problem = conversation_service.month_problem(month)
        if problem:
            raise ValidationError(problem)

    @property
    def chosen(self) -> date:
        """The month, once the form is valid."""
        month = conversation_service.parse_month(self.month.data or "")
        if month is None:
            raise ValueError("MonthForm.chosen used before the form was validated")
        return month


class CountField(Field):
    """A number of client conversations: empty (keep what is stored) or a whole number.

    The range is the service's to check, so its message appears next to the field too."""

    widget = NumberInput(step=1, min=0, max=conversation_service.MAX_COUNT)
    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if text:
            count = conversation_service.parse_count(text)
            if count is None:
                raise ValueError(_l("Enter a whole number, without dots or spaces, such as 1200."))
            self.data = count

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


@dataclass
class GridRow:
    """One team: its row header and a count field per channel."""

    team: Team
    cells: list[tuple[Channel, CountField]]


class CountsForm(FlaskForm):
    """One count per active team and channel for one month; fields are added per request."""

    grid: list[GridRow]
    keys: dict[str, CountKey]

    def counts(self) -> dict[CountKey, int | None]:
        """The typed counts by (team id, channel); None where a field was left empty."""
        return {key: self._fields[name].data for name, key in self.keys.items()}


def counts_form(
    teams: list[Team], stored: dict[CountKey, int], language: str, **kwargs: Any
) -> CountsForm:
    """The grid form for `teams` and every channel, prefilled with the `stored` counts
    (`formdata=None` shows them even in answer to another form's POST)."""

    class Grid(CountsForm):
        pass

    keys: dict[str, CountKey] = {}
    for team in teams:
        for channel in Channel:
            name = count_field(team.id, channel)
            keys[name] = (team.id, channel)
            label = _l(
                "Client conversations of %(team)s, %(channel)s",
                team=team.name(language),
                channel=CHANNEL_LABELS[channel],
            )
            setattr(Grid, name, CountField(label, render_kw={"inputmode": "numeric"}))
    form = Grid(data={name: stored.get(key) for name, key in keys.items()}, **kwargs)
    form.keys = keys
    form.grid = [
        GridRow(team, [(channel, form[count_field(team.id, channel)]) for channel in Channel])
        for team in teams
    ]
    return form


class UploadForm(CsvUploadForm):
    """A CSV file of counts."""

    file = FileField(
        _l("CSV file"),
        description=_l("In the format described below."),
        validators=[FileRequired(_l("Choose a CSV file to upload."))],
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )

    def max_bytes(self) -> int:
        return conversation_service.MAX_UPLOAD_BYTES

    def too_large_message(self) -> str:
        return conversation_service.too_large_message()
