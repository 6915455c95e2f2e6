"""Language and time zone: which the user sees, and the switch between languages."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from babel import dates as babel_dates
from flask import Flask, current_app, g, has_request_context, session
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape


class LazyText(LazyString):
    """A translation made when it is used, whose parameters stay text.

    Flask-Babel's `lazy_gettext` gives a LazyString whose `__html__` returns the whole string
    as it is: Jinja and WTForms (labels, descriptions, attributes) take it for safe markup,
    parameters included, so a team or person's name in it would be rendered as HTML
    (flask-babel issues 121 and 224). As HTML this one is what `_()` gives in a template: the
    translation, with each parameter escaped. As `str`, the plain text: use `str()` before
    putting one in CSV or JSON."""

    def __init__(self, string: str, **variables: Any) -> None:
        super().__init__(gettext, string, **variables)
        self.string = string
        self.variables = variables

    def __html__(self) -> str:
        # The translation is ours (the catalogue), like a template's; the parameters are not.
        translated = str(gettext(self.string))
        if not self.variables:
            return translated
        return translated % {name: escape(value) for name, value in self.variables.items()}


def lazy_gettext(string: str, **variables: Any) -> LazyText:
    """Flask-Babel's `lazy_gettext` with the parameters escaped when rendered as HTML: use
    this one (as `_l`), so nothing from a user is ever marked safe."""
    return LazyText(string, **variables)


def select_locale() -> str:
    """The user's chosen language, else the one chosen this session, else the default."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command line: the organisation's default
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    """Times are shown in the organisation's time zone."""
    return str(current_app.config["ORG_TIMEZONE"])


@functools.lru_cache(maxsize=16)
def _moment_patterns(locale: str, format: str) -> tuple[str, Any, Any]:
    """Babel's patterns for a locale and a named format ("short", "medium"), parsed once."""
    name: Any = format
    return (
        str(babel_dates.get_datetime_format(name, locale=locale)).replace("'", ""),
        babel_dates.parse_pattern(babel_dates.get_date_format(name, locale=locale)),
        babel_dates.parse_pattern(babel_dates.get_time_format(name, locale=locale)),
    )


def format_moment(value: datetime | None, format: str = "medium") -> str:
    """The `datetimeformat` filter: what Flask-Babel's gives (Babel's format_datetime in the
    user's locale and the organisation's zone), with the locale, zone and patterns looked up
    once instead of once a call: a list of steps formats a hundred moments."""
    if value is None:
        return ""
    from flask_babel import get_locale, get_timezone

    found = g.get("_moment_format") if has_request_context() else None
    if found is None:
        found = (str(get_locale() or "nl"), get_timezone())
        if has_request_context():
            g._moment_format = found
    locale, zone = found
    whole, date_pattern, time_pattern = _moment_patterns(locale, format)
    local = value.astimezone(zone)
    return whole.replace("{0}", time_pattern.apply(local, locale)).replace(
        "{1}", date_pattern.apply(local, locale)
    )


def format_size(size: int) -> str:
    """The `filesize` filter: "850 kB", "2,4 MB" in the user's language (1 kB = 1,000 bytes, as
    file managers show it)."""
    from flask_babel import format_decimal

    if size < 1000:
        return str(gettext("%(n)s bytes", n=format_decimal(size)))
    if size < 1_000_000:
        return str(gettext("%(n)s kB", n=format_decimal(round(size / 1000))))
    return str(gettext("%(n)s MB", n=format_decimal(round(size / 1_000_000, 1))))


def init_app(app: Flask) -> None:
    """Expose the current locale to templates."""
    from flask_babel import get_locale

    app.jinja_env.filters["datetimeformat"] = format_moment
    app.jinja_env.filters["filesize"] = format_size

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        locale = get_locale()
        return {"current_locale": locale.language if locale else "nl"}
