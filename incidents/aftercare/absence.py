"""The form to mark oneself away: the day one is back, optional.

Kept beside `forms.py` (which the step forms fill) so the absence controls stay in one place:
this form, `views.absence`, `services.aftercare.set_absent` and `templates/aftercare/_absence.html`.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField
from wtforms.validators import Optional

from incidents.i18n import lazy_gettext as _l

# Where the form was sent from, to go back there: the page's name -> its endpoint.
RETURN_TO = {"home": "main.index", "inbox": "aftercare.inbox"}


class AbsenceForm(FlaskForm):
    """Away from today until the day one is back (empty: until one says so). The rules of
    the date are the service's (`aftercare.absence_errors`), shown next to the field."""

    back_on = DateField(
        _l("Back on (optional)"),
        validators=[Optional()],
        description=_l(
            "From this day on, new steps come to you again by themselves. Leave it empty to "
            "say so yourself when you are back."
        ),
    )
    return_to = HiddenField(default="inbox")

    def next_endpoint(self) -> str:
        return RETURN_TO.get(self.return_to.data or "", "aftercare.inbox")
