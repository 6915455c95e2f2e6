"""The right of access: everything the app holds about me, as a page, as a JSON download,
and as a ZIP holding that JSON and the files (evidence) it lists.

All views collect the same data (`incidents.privacy.access_export`) and are audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from incidents.auth import bp
from incidents.evidence.storage import StorageError
from incidents.i18n import format_moment
from incidents.labels import (
    ACCOUNT_FIELD_LABELS,
    ACTOR_LABELS,
    AGGRAVATING_LABELS,
    AUDIT_ACTION_LABELS,
    AUDIT_OBJECT_LABELS,
    CHANNEL_LABELS,
    FIELD_LABELS,
    HISTORY_ACTIONS,
    PERSON_ROLE_LABELS,
    ROLE_LABELS,
    STEP_FIELD_LABELS,
    TEAM_ROLE_CHANGE_LABELS,
    TYPE_LABELS,
    YOUR_ROLE_LABELS,
    step_labels,
)
from incidents.models import Channel, IncidentType, PersonRole, Role
from incidents.notify import TEXTS
from incidents.privacy import access_export
from incidents.security import ALL_ROLES, roles
from incidents.services import audit_log


def _when(value: str | None) -> str:
    """An ISO moment from the export, in the organisation's time and the user's language."""
    return format_moment(datetime.fromisoformat(value)) if value else "\N{EN DASH}"


@bp.route("/account/data")
@roles(*ALL_ROLES)
def my_data() -> ResponseReturnValue:
    locale = get_locale()
    user = current_user._get_current_object()  # the model, not the proxy: audit names its type
    data = access_export.collect(user, locale.language if locale else None)
    audit_log.record_export(user, "html")
    return render_template(
        "auth/my_data.html",
        data=data,
        when=_when,
        labels={
            "channels": {c.value: CHANNEL_LABELS[c] for c in Channel},
            "types": {t.value: TYPE_LABELS[t] for t in IncidentType},
            "roles": {r.value: ROLE_LABELS[r] for r in Role},
            "your_roles": YOUR_ROLE_LABELS,
            "person_roles": {r.value: PERSON_ROLE_LABELS[r] for r in PersonRole},
            "facts": AGGRAVATING_LABELS,
            "fields": {**STEP_FIELD_LABELS, **FIELD_LABELS},  # a correction names a step's
            "history": HISTORY_ACTIONS,
            "audit": AUDIT_ACTION_LABELS,
            "who": ACTOR_LABELS,
            "about": AUDIT_OBJECT_LABELS,
            "mails": {kind: texts[0] for kind, texts in TEXTS.items()},
            "steps": step_labels(),
            "account_fields": ACCOUNT_FIELD_LABELS,
            "team_roles": TEAM_ROLE_CHANGE_LABELS,
        },
        language=locale.language if locale else "nl",
    )


@bp.route("/account/data.json")
@roles(*ALL_ROLES)
def my_data_json() -> ResponseReturnValue:
    user = current_user._get_current_object()  # the model, not the proxy
    data = access_export.collect(user)
    audit_log.record_export(user, "json")
    filename = f"my-data-{data['generated_at'][:10]}.json"
    return Response(
        access_export.as_json(data),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/account/data.zip")
@roles(*ALL_ROLES)
def my_data_zip() -> ResponseReturnValue:
    """The JSON export with the files still held on the incidents it lists in full."""
    user = current_user._get_current_object()  # the model, not the proxy
    try:
        data, body = access_export.archive(user)
    except StorageError as error:
        current_app.logger.error("evidence store: %s", error)
        flash(
            _("The files cannot be read right now. Try again later, or download the JSON."), "error"
        )
        return redirect(url_for("auth.my_data"))
    audit_log.record_export(user, "zip")
    filename = f"my-data-{data['generated_at'][:10]}.zip"
    return Response(
        body,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
