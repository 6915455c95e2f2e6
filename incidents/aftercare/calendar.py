"""The manager's calendar feed of open aftercare deadlines (iCalendar).

Calendar programs fetch the feed without a login: its address holds a secret token
(see incidents/services/calendar.py), which the manager can renew from the inbox. A feed
travels to other companies' servers, so it says only which kind of step is due when, with a
link to the step: never who it is about, nor anything of the incident. Its links start with
BASE_URL, never with the Host header of the request that fetched it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from icalendar import Calendar, Event, vDuration

from incidents import queries
from incidents.aftercare import bp
from incidents.extensions import current_protocol
from incidents.forms import ConfirmForm
from incidents.links import external_url, site_host
from incidents.models import AftercareStep, Role, User, utcnow
from incidents.security import roles
from incidents.services import ServiceError
from incidents.services.calendar import renew_calendar_token, user_by_calendar_token

PRODID = "-//incidents//Aftercare deadlines//EN"
EVENT_LENGTH = timedelta(minutes=15)
# Ask calendar programs to fetch the feed again every hour (Outlook and Apple read these).
REFRESH = timedelta(hours=1)

# The inbox shows the feed's address as calendar programs will fetch it: under BASE_URL.
bp.add_app_template_global(external_url)


def _language(user: User) -> str:
    """The manager's own language, else the organisation's default."""
    if user.locale in current_app.config["LANGUAGES"]:
        return str(user.locale)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _event(step: AftercareStep, title: str, now: datetime, host: str) -> Event:
    link = external_url("aftercare.step", step_id=step.id)
    event = Event()
    event.add("uid", f"step-{step.id}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", step.due_at)
    event.add("duration", EVENT_LENGTH)
    event.add("summary", _("Overdue: %(title)s", title=title) if step.is_overdue(now) else title)
    event.add("url", link)
    event.add("description", link)
    return event


def build_feed(user: User, now: datetime) -> bytes:
    """The iCalendar text of `user`'s open steps (owned or deputised), in their language."""
    steps = queries.open_steps(user, now)
    language = _language(user)
    titles = {d.id: d.title(language) for d in current_protocol().steps}
    host = site_host()
    with force_locale(language):
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", _("Aftercare deadlines"))
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())
        for step in steps:
            title = titles.get(step.definition_id, step.kind)
            calendar.add_component(_event(step, title, now, host))
    return calendar.to_ical()


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str) -> ResponseReturnValue:
    """The feed at the secret address (public: the token is the key). Unknown: 404."""
    user = user_by_calendar_token(token)
    if user is None:
        abort(404)
    response = Response(build_feed(user, utcnow()), mimetype="text/calendar")
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/calendar/renew", methods=["POST"])
@roles(Role.MANAGER)
def renew_calendar() -> ResponseReturnValue:
    """Make a new secret address for my calendar feed; the old one stops working."""
    form = ConfirmForm()
    if form.validate_on_submit():
        had_address = current_user.calendar_token is not None
        try:
            renew_calendar_token(current_user)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(
                _("Your calendar feed has a new address. The old address no longer works.")
                if had_address
                else _("Your calendar feed address is ready. Add it to your calendar."),
                "success",
            )
    return redirect(url_for("aftercare.inbox"))
