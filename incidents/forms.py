"""Form pieces shared by the blueprints."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import current_app, flash, request, url_for
from flask_babel import format_number, ngettext
from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField
from wtforms.validators import ValidationError

from incidents.bounds import parse_int
from incidents.i18n import LazyText
from incidents.i18n import lazy_gettext as _l
from incidents.services import numbers


class MinPasswordLength:
    """A password at least PASSWORD_MIN_LENGTH characters long (configurable)."""

    def __call__(self, form: Form, field: Field) -> None:
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if field.data and len(field.data) < minimum:
            raise ValidationError(
                ngettext(
                    "Use at least %(num)s character.", "Use at least %(num)s characters.", minimum
                )
            )


class MaxLength:
    """At most `maximum` characters. Longer text is refused and shown back cut to the limit,
    so a page never echoes a huge input whole; the message says so."""

    def __init__(self, maximum: int) -> None:
        self.max = maximum
        self.field_flags = {"maxlength": maximum}

    def __call__(self, form: Form, field: Field) -> None:
        text = field.data or ""
        if len(text) <= self.max:
            return
        field.data = text[: self.max]
        raise ValidationError(
            ngettext(
                "Keep it under %(max)s character: yours had %(length)s. Only the first "
                "%(max)s is shown here; shorten the text and send it again.",
                "Keep it under %(max)s characters: yours had %(length)s. Only the first "
                "%(max)s are shown here; shorten the text and send it again.",
                self.max,
                max=format_number(self.max),
                length=format_number(len(text)),
            )
        )


class IncidentNumber:
    """An incident's number as a person types it ("2026-142", "#2026-0142"), kept as stored
    ("2026-0142"); anything else is refused with `message`."""

    def __init__(self, message: LazyText) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        number = numbers.parse(field.data or "")
        if number is None:
            raise ValidationError(self.message)
        field.data = number


class DateBetween:
    """A date (or a date and time) from `earliest` to `latest()`, with a message next to the
    field otherwise. `latest` is a function: "today" moves. Far-off years are refused here,
    before any conversion between time zones could overflow."""

    def __init__(
        self,
        earliest: date,
        latest: Callable[[], date],
        too_early: str | LazyText,
        too_late: str | LazyText,
    ) -> None:
        self.earliest, self.latest = earliest, latest
        self.too_early, self.too_late = too_early, too_late

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if value is None:
            return
        if value < self.earliest:
            raise ValidationError(str(self.too_early))
        if value > self.latest():
            raise ValidationError(str(self.too_late))


def strip_filter(value: Any) -> Any:
    """Trim surrounding spaces from text input."""
    return value.strip() if isinstance(value, str) else value


class EmailAddress:
    """A syntactically valid e-mail address. In demo mode the reserved `.test` domain is
    allowed, so the demo accounts can be edited; deliverability is never checked (no network)."""

    def __call__(self, form: Form, field: Field) -> None:
        from email_validator import EmailNotValidError, validate_email

        if not field.data:
            return
        try:
            validate_email(
                field.data,
                check_deliverability=False,
                test_environment=bool(current_app.config["DEMO"]),
            )
        except EmailNotValidError as error:
            raise ValidationError(_l("Enter a valid e-mail address.")) from error


def show_service_error(form: Form, error: Any) -> None:
    """Put a service's refusal next to the fields it names; the rest goes to a flash message."""
    for name, message in error.errors.items():
        field = form._fields.get(name) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


class RevisionForm(FlaskForm):
    """A form about one record: the revision it was opened at, so a change made meanwhile is
    not undone by it (anything but a plain small number is no revision: -1)."""

    revision = HiddenField()

    def opened_at(self) -> int:
        value = self.revision.data or ""
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else -1


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


def fresh_form_url(endpoint: str, **values: Any) -> str:
    """The address of a report form with a new submission token (`t`): the token the form
    carries, so that a second submit finds the incident the first one made."""
    return url_for(endpoint, t=secrets.token_urlsafe(24), **values)


def page_cursor() -> int | None:
    """The `after` of a keyset-paginated list: the id of the last row of the page before;
    None for the first page, and for anything that is not an id. Whose row it is, is for the
    list to check (`incidents.access`)."""
    return parse_int(request.args.get("after", ""))


class CsvUploadForm(FlaskForm):
    """A CSV file, read at most `max_bytes` (+1) into `text` when it is not empty and UTF-8.
    Subclasses add the `file` field and say how large a file may be and what to say when it
    is larger."""

    text: str = ""

    def max_bytes(self) -> int:
        raise NotImplementedError

    def too_large_message(self) -> str:
        raise NotImplementedError

    def validate_file(self, field: Field) -> None:
        """At most `max_bytes`, not empty, UTF-8: then its text is kept in `text`."""
        limit = self.max_bytes()
        # Read one byte more than allowed: enough to know it is too large, never more.
        content = field.data.stream.read(limit + 1)
        if len(content) > limit:
            raise ValidationError(self.too_large_message())
        if not content.strip():
            raise ValidationError(_l("The file is empty."))
        try:
            self.text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(
                _l(
                    "The file is not UTF-8 text. In Excel, save it as "
                    "“CSV UTF-8 (comma delimited)”."
                )
            ) from error
