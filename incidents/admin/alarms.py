"""Alarm buttons: the webhook's address, its secrets and the last events with their result.

The secrets are settings (ALARM_WEBHOOK_SECRET), never shown: the page says how many are valid
and how to rotate them.
"""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue

from incidents import queries
from incidents.admin import bp
from incidents.models import Role
from incidents.security import roles
from incidents.services import alarms


@bp.route("/alarms")
@roles(Role.ADMIN)
def alarms_page() -> ResponseReturnValue:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return render_template(
        "admin/alarms.html",
        endpoint=base + url_for("api.alarms_webhook"),
        secret_count=len(alarms.secrets_of(current_app.config["ALARM_WEBHOOK_SECRET"])),
        max_age=current_app.config["ALARM_MAX_AGE_SECONDS"],
        new_secret=alarms.new_secret(),
        lines=queries.recent_alarms(),
        results=queries.AlarmResult,
    )
