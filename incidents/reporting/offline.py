"""Offline reporting: the offline shells of the report form and the quick log, and a fresh
CSRF token for sending what a device kept while it had no network.

A shell is the form as it is drawn for anyone: no name, no counts in a menu, no CSRF token,
no flashed message, so the service worker may keep it in the browser's Cache Storage
(static/js/sw.js) and show it when the form cannot be fetched. static/js/offline.js gives each
report made on a shell a submission token of its own and keeps it, encrypted, until the
network is back; then it fetches a token from `offline_token` and posts the report to the
form's own address, where it is checked and stored like any other.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, make_response, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from incidents.i18n import select_locale
from incidents.reporting import bp
from incidents.reporting.forms import QuickLogForm, ReportForm
from incidents.reporting.views import LABELS, REPORTERS
from incidents.security import roles

NO_CSRF = {"csrf": False}


def _shell(template: str, **context: Any) -> ResponseReturnValue:
    # Links to the forms without a submission token of their own (`link_to` would give each
    # one): a shell is kept for an hour and shown to every report made offline.
    page = render_template(template, offline_shell=True, link_to=url_for, **context)
    response = make_response(page)
    # The worker fetches a shell again when the page's language differs from this.
    response.headers["Content-Language"] = select_locale()
    return response


@bp.route("/offline/report")
@roles(*REPORTERS)
def offline_report() -> ResponseReturnValue:
    """The report form's offline shell."""
    form = ReportForm(reporter=current_user, meta=NO_CSRF)
    return _shell("reporting/form.html", form=form, incident=None, labels=LABELS)


@bp.route("/offline/quick")
@roles(*REPORTERS)
def offline_quick() -> ResponseReturnValue:
    """The quick log's offline shell."""
    form = QuickLogForm(meta=NO_CSRF)
    return _shell("reporting/quick.html", form=form, labels=LABELS)


@bp.route("/offline/token")
@roles(*REPORTERS)
def offline_token() -> ResponseReturnValue:
    """A CSRF token of this session, and whose session it is: a device sends only the
    reports its current user made."""
    response = jsonify(csrf_token=generate_csrf(), user=str(current_user.id))
    response.headers["Cache-Control"] = "no-store"
    return response
