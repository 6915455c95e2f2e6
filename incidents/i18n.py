"""Language and time zone: which the user sees, and the switch between languages."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, current_app, has_request_context, session
from flask_babel import gettext, ngettext
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


class LazyPlural(LazyString):
    """`lazy_ngettext`'s result: as `LazyText`, for a text with a count (`%(num)s`)."""

    def __init__(self, singular: str, plural: str, num: int, **variables: Any) -> None:
        super().__init__(ngettext, singular, plural, num, **variables)
        self.singular = singular
        self.plural = plural
        self.num = num
        self.variables = variables

    def __html__(self) -> str:
        # ngettext fills in its parameters itself: give it escaped ones (num is a number).
        escaped = {name: escape(value) for name, value in self.variables.items()}
        return str(ngettext(self.singular, self.plural, self.num, **escaped))


def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> LazyPlural:
    """Flask-Babel's `ngettext`, made when used, with the parameters escaped when rendered as
    HTML: for a lazy text with a count (`%(num)s` is the count, in singular and plural)."""
    return LazyPlural(singular, plural, num, **variables)


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


# One way to write a moment per language, never with seconds (issue 19): Dutch 31-12-2026 17:05,
# English as in Britain 31/12/2026 17:05 (day first, 24-hour clock; never the US 12/31/26, 5:05 PM).
# strftime patterns with numbers only, so formatting a moment is one strftime call: a list of steps
# formats a hundred of them. Other languages get the English form.
DATE_PATTERNS = {"nl": "%d-%m-%Y", "en": "%d/%m/%Y"}
TIME_PATTERN = "%H:%M"
# The names Flask-Babel and Babel give their formats: all of them mean "the" format now.
NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})


def _date_pattern(language: str) -> str:
    return DATE_PATTERNS.get(language, DATE_PATTERNS["en"])


@functools.lru_cache(maxsize=64)
def _babel_pattern(pattern: str) -> babel_dates.DateTimePattern:
    """A Babel pattern other than the named ones ("MMMM yyyy": a month by name), parsed once."""
    return babel_dates.parse_pattern(pattern)


@functools.lru_cache(maxsize=8)
def _babel_locale(language: str) -> Locale:
    return Locale.parse(language)


def _language_and_zone() -> tuple[str, Any]:
    """The user's language and the organisation's time zone, as Flask-Babel chose them (it
    keeps both on the request or app context, and `force_locale` changes the language)."""
    from flask_babel import get_locale, get_timezone

    locale = get_locale()
    return (locale.language if locale else "nl"), get_timezone()


def _local(value: datetime, zone: Any) -> datetime:
    if value.tzinfo is None:  # as Flask-Babel: a naive moment is in UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def _custom(value: datetime | date | time, pattern: str, language: str) -> str:
    return str(_babel_pattern(pattern).apply(value, _babel_locale(language)))


def format_moment(value: datetime | None, format: str | None = None) -> str:
    """A moment as the user reads it: "31-12-2026 17:05" in Dutch, "31/12/2026 17:05" in
    English, in the organisation's time zone; never seconds. The `datetimeformat` filter.

    `format`: the named formats ("short", "medium", ...) all give this one form, so a page,
    a mail and a PDF read the same; any other value is a Babel pattern (such as "d MMMM yyyy
    HH:mm") for the rare text that names the month."""
    if value is None:
        return ""
    language, zone = _language_and_zone()
    local = _local(value, zone)
    if format is None or format in NAMED_FORMATS:
        return local.strftime(f"{_date_pattern(language)} {TIME_PATTERN}")
    return _custom(local, format, language)


def format_day(value: date | datetime | None, format: str | None = None) -> str:
    """A day: "31-12-2026" in Dutch, "31/12/2026" in English (the `dateformat` filter). A
    moment (`datetime`) gives its day in the organisation's time zone. `format` as for
    `format_moment` ("MMMM yyyy": "december 2026")."""
    if value is None:
        return ""
    language, zone = _language_and_zone()
    if isinstance(value, datetime):
        value = _local(value, zone).date()
    if format is None or format in NAMED_FORMATS:
        return value.strftime(_date_pattern(language))
    return _custom(value, format, language)


def format_clock(value: datetime | time | None, format: str | None = None) -> str:
    """A time of day, "17:05" in every language, never seconds (the `timeformat` filter). A
    moment (`datetime`) is shown in the organisation's time zone."""
    if value is None:
        return ""
    language, zone = _language_and_zone()
    if isinstance(value, datetime):
        value = _local(value, zone)
    if format is None or format in NAMED_FORMATS:
        return value.strftime(TIME_PATTERN)
    return _custom(value, format, language)


def lower_first(text: str) -> str:
    """A label inside a sentence: "Physical violence" -> "physical violence"; an acronym at
    the start ("VPT ...") stays as it is."""
    text = str(text)
    if len(text) > 1 and text[0].isupper() and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def format_size(size: int) -> str:
    """The `filesize` filter: "850 kB", "2,4 MB" in the user's language (1 kB = 1,000 bytes, as
    file managers show it)."""
    from flask_babel import format_decimal

    if size < 1000:
        return str(ngettext("%(num)s byte", "%(num)s bytes", size))
    if size < 1_000_000:
        return str(gettext("%(size)s kB", size=format_decimal(round(size / 1000))))
    return str(gettext("%(size)s MB", size=format_decimal(round(size / 1_000_000, 1))))


def init_app(app: Flask) -> None:
    """Our date filters and the current locale for templates."""
    from flask_babel import get_locale

    # In place of Flask-Babel's own filters (registered by babel.init_app, before this).
    app.jinja_env.filters["datetimeformat"] = format_moment
    app.jinja_env.filters["dateformat"] = format_day
    app.jinja_env.filters["timeformat"] = format_clock
    app.jinja_env.filters["lower_first"] = lower_first
    app.jinja_env.filters["filesize"] = format_size

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        locale = get_locale()
        return {"current_locale": locale.language if locale else "nl"}
