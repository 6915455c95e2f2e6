"""Language and time zone: which the user sees, and the switch between languages."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, session
from flask_login import current_user


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


def init_app(app: Flask) -> None:
    """Expose the current locale to templates."""
    from flask_babel import get_locale

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        locale = get_locale()
        return {"current_locale": locale.language if locale else "nl"}
