"""The lookup at the counter: a front-office employee types a client reference or part of a
name and sees whether a measure is in force, until when and what it means at the counter.

The search is sent by POST only, so names never land in the address, the server's logs or the
browser's history; the page is not cached (`security`: no-store). Anyone without the
front-office permission gets 404, as if the page did not exist.
"""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from incidents import access
from incidents.forms import show_service_error, strip_filter
from incidents.i18n import lazy_gettext as _l
from incidents.measures import bp
from incidents.security import ALL_ROLES, roles
from incidents.services import ServiceError, measure_lookup


class LookupForm(FlaskForm):
    query = StringField(
        _l("Name or client reference"),
        filters=[strip_filter],
        description=_l(
            "The whole client reference, or at least three letters of the name. Case and "
            "accents do not matter."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
    )


@bp.route("/lookup", methods=["GET", "POST"])
@roles(*ALL_ROLES)
def lookup() -> ResponseReturnValue:
    """The search form; a valid search shows the measures in force today, and is recorded."""
    if not access.may_look_up(current_user):
        abort(404)
    form = LookupForm()
    result = None
    searched = None
    if form.validate_on_submit():
        text = form.query.data or ""
        try:
            result = measure_lookup.look_up(current_user, text, str(get_locale() or "nl"))
        except ServiceError as error:
            show_service_error(form, error)
        else:
            searched = text
    return render_template(
        "measures/lookup.html",
        form=form,
        result=result,
        searched=searched,
        matches_max=measure_lookup.MATCHES_MAX,
    )
