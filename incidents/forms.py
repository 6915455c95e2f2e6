"""Form pieces shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import Field, Form
from wtforms.validators import ValidationError


class MinPasswordLength:
    """A password at least PASSWORD_MIN_LENGTH characters long (configurable)."""

    def __call__(self, form: Form, field: Field) -> None:
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if field.data and len(field.data) < minimum:
            raise ValidationError(_l("Use at least %(count)s characters.", count=minimum))


def strip_filter(value: Any) -> Any:
    """Trim surrounding spaces from text input."""
    return value.strip() if isinstance(value, str) else value
