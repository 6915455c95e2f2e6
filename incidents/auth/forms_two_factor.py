"""Forms of two-factor sign-in: a code at login, and the codes that confirm a change.

Each form names its field differently, so two forms on one page never share an id."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from incidents.forms import strip_filter
from incidents.i18n import lazy_gettext as _l

# A code from the app: digits on a phone's keyboard, filled in by the phone when it can.
APP_CODE = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "autocapitalize": "off",
    "spellcheck": "false",
}
# A code from the app or a recovery code (letters too).
ANY_CODE = {"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}


def _code_field(label: Any, render_kw: dict[str, str], description: Any = "") -> StringField:
    return StringField(
        label,
        description=description,
        validators=[DataRequired(), Length(max=64)],
        filters=[strip_filter],
        render_kw=render_kw,
    )


class CodeForm(FlaskForm):
    """The second step of a login: the code from the app."""

    code = _code_field(
        _l("Code from your app"),
        APP_CODE,
        _l("The 6 digits your authenticator app shows now."),
    )


class RecoveryCodeForm(FlaskForm):
    """The second step of a login without the phone: a recovery code."""

    recovery_code = _code_field(
        _l("Recovery code"),
        ANY_CODE,
        _l("One of the recovery codes you saved when you set up two-factor sign-in."),
    )


class ConfirmSetupForm(FlaskForm):
    """The first code from the app puts two-factor sign-in in force."""

    code = _code_field(
        _l("Code from your app"),
        APP_CODE,
        _l("After scanning, your app shows a code of 6 digits. Type it here."),
    )


class RegenerateForm(FlaskForm):
    """New recovery codes, after a code."""

    regenerate_code = _code_field(
        _l("A code from your app, or a recovery code"),
        ANY_CODE,
    )


class SwitchOffForm(FlaskForm):
    """Two-factor sign-in off, after a code."""

    off_code = _code_field(
        _l("A code from your app, or a recovery code"),
        ANY_CODE,
    )
