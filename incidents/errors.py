"""Error pages: 400 (also for a missing or expired form token), 403, 404, 405, 429, 500, and 503
when the database does not answer."""

from __future__ import annotations

import contextlib
import sqlite3

from flask import Flask, current_app, g, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from incidents.extensions import db

# PostgreSQL's codes for a server that is not there for us: class 08 (connection exception),
# too many connections, and shutting down, crashed or still starting (57P01-57P03).
_UNAVAILABLE_STATES = frozenset({"53300", "57P01", "57P02", "57P03"})
# SQLite: the file cannot be opened, or another writer held it past the busy timeout.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 14})  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN


def _page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("errors/error.html", status=status, title=title, message=message), status


def database_unavailable(error: DBAPIError) -> bool:
    """True when the database did not answer: no connection could be made, or it broke.

    Other database errors (a constraint, a lock that timed out, a serialisation failure) come
    from a database that did answer; they stay a 500."""
    if error.connection_invalidated:  # SQLAlchemy recognised a lost connection
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    cause = error.orig
    if isinstance(cause, sqlite3.Error):
        return (getattr(cause, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_UNAVAILABLE
    state = getattr(cause, "sqlstate", None)
    if state:  # an answer from the PostgreSQL server, with its error code
        return state.startswith("08") or state in _UNAVAILABLE_STATES
    # The driver's own error, without a server's code: connecting failed, or the line broke.
    return True


def unavailable_page(error: DBAPIError | PoolTimeout) -> ResponseReturnValue:
    """503 with Retry-After, rendered without the database: the session is rolled back, the
    user is treated as anonymous (loading them, or reading attributes the rollback expired,
    would query again), and the language comes from the session or the browser."""
    current_app.logger.warning("database unavailable: %s", getattr(error, "orig", error))
    with contextlib.suppress(SQLAlchemyError):  # a broken connection may refuse even that
        db.session.rollback()
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    languages = current_app.config["LANGUAGES"]
    locale = session.get("locale")
    if locale not in languages:
        locale = request.accept_languages.best_match(languages)
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        page = render_template(
            "errors/error.html",
            status=503,
            title=_("Briefly unavailable"),
            message=_(
                "The service is briefly unavailable. Nothing was saved; please try again in a moment."
            ),
        )
    return page, 503, {"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])}


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return _page(
            400,
            _("The form has expired"),
            _(
                "For your safety, forms are valid for a limited time. Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(400)
    def bad_request(error: HTTPException) -> ResponseReturnValue:
        return _page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(error: HTTPException) -> ResponseReturnValue:
        return _page(403, _("No access"), _("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(error: HTTPException) -> ResponseReturnValue:
        return _page(
            404, _("Page not found"), _("This page does not exist, or you may not see it.")
        )

    @app.errorhandler(405)
    def method_not_allowed(error: HTTPException) -> ResponseReturnValue:
        return _page(405, _("Not allowed"), _("This action is not possible here."))

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> ResponseReturnValue:
        return _page(
            413,
            _("Too large"),
            _(
                "What you sent is too large. Shorten the text, or send a smaller file "
                "(at most 2 MB)."
            ),
        )

    @app.errorhandler(429)
    def too_many_requests(error: HTTPException) -> ResponseReturnValue:
        if request.endpoint == "auth.login":
            message = _(
                "Too many login attempts. Wait 15 minutes and try again, or ask your administrator."
            )
        else:
            message = _("Too many requests. Wait a moment and try again.")
        return _page(429, _("Too many attempts"), message)

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> ResponseReturnValue:
        if not database_unavailable(error):
            raise error  # Flask logs it and answers with the 500 page
        return unavailable_page(error)

    @app.errorhandler(PoolTimeout)
    def pool_exhausted(error: PoolTimeout) -> ResponseReturnValue:
        return unavailable_page(error)  # every connection busy: as good as no answer

    @app.errorhandler(500)
    def internal_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        return _page(
            500,
            _("Something went wrong"),
            _("The error has been logged. Nothing was saved; please try again later."),
        )
