"""Error pages: 400 (also for a missing or expired form token), 403, 404, 405, 429 and 500."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from incidents.extensions import db


def _page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("errors/error.html", status=status, title=title, message=message), status


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
            413, _("Too large"), _("What you sent is too large. Files may be at most 2 MB.")
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

    @app.errorhandler(500)
    def internal_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        return _page(
            500,
            _("Something went wrong"),
            _("The error has been logged. Nothing was saved; please try again later."),
        )
