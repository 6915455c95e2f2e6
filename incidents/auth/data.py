"""The right of access: everything the app holds about me, as a page and as a JSON download.

Both views collect the same data (`incidents.privacy.access_export`) and are audited.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import Response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from incidents.auth import bp
from incidents.i18n import lazy_gettext as _l
from incidents.labels import (
    AGGRAVATING_LABELS,
    CHANNEL_LABELS,
    FIELD_LABELS,
    HISTORY_ACTIONS,
    PERSON_ROLE_LABELS,
    ROLE_LABELS,
    TYPE_LABELS,
    step_labels,
)
from incidents.models import Channel, IncidentType, PersonRole, Role
from incidents.notify import TEXTS
from incidents.privacy import access_export
from incidents.security import ALL_ROLES, roles

# Audit actions as the page names them; an unknown action is shown as recorded.
AUDIT_ACTIONS = {
    "privacy.access_export": _l("downloaded or viewed this overview"),
    "incident.view": _l("viewed the incident"),
    "incident.view_edit": _l("opened the incident to add information"),
    "step.view": _l("viewed an aftercare step"),
    "auth.login": _l("logged in"),
    "auth.logout": _l("logged out"),
    "auth.login_failed": _l("a failed login attempt"),
    "incident.draft": _l("saved a draft"),
    "incident.submit": _l("submitted the report"),
    "incident.update": _l("added information"),
    "incident.level": _l("changed the level"),
    "step.complete": _l("recorded an aftercare step"),
    "step.attempt": _l("recorded an attempt to reach you"),
    "step.hand": _l("handed an aftercare step to another manager"),
    "user.create": _l("created the account"),
    "user.update": _l("changed the account"),
    "user.password": _l("changed the password"),
    "user.activate": _l("activated the account"),
    "user.deactivate": _l("deactivated the account"),
    "user.calendar_renew": _l("renewed the calendar address"),
    "user.absent": _l("reported absence"),
    "user.present": _l("reported being back"),
    "user.team_role": _l("changed whom a team has as manager or deputy"),
    "user.password_link": _l("sent you a link to set your password"),
    "user.password_set": _l("set the password through a link"),
    "auth.session_end": _l("ended a session"),
}

# What an administrator changed on the account (shown beside the action).
ACCOUNT_FIELDS = {
    "email": _l("e-mail address"),
    "name": _l("name"),
    "role": _l("role"),
    "team_id": _l("team"),
}
TEAM_ROLES = {
    ("manager", "added"): _l("you became manager of %(team)s"),
    ("manager", "removed"): _l("you are no longer manager of %(team)s"),
    ("deputy", "added"): _l("you became deputy of %(team)s"),
    ("deputy", "removed"): _l("you are no longer deputy of %(team)s"),
}

WHO = {
    access_export.YOU: _l("You"),
    access_export.SYSTEM: _l("The system"),
    **{role.value: label for role, label in ROLE_LABELS.items()},
}

ABOUT = {
    "incident": _l("Incident"),
    "aftercare_step": _l("Aftercare step"),
    "account": _l("Your account"),
}

YOUR_ROLES = {
    "reporter": _l("Reporter"),
    **{role.value: label for role, label in PERSON_ROLE_LABELS.items()},
}


def _when(value: str | None) -> str:
    """An ISO moment from the export, in the organisation's time and the user's language."""
    return format_datetime(datetime.fromisoformat(value), "short") if value else "\N{EN DASH}"


@bp.route("/account/data")
@roles(*ALL_ROLES)
def my_data() -> ResponseReturnValue:
    locale = get_locale()
    user = current_user._get_current_object()  # the model, not the proxy: audit names its type
    data = access_export.export(user, "html", locale.language if locale else None)
    return render_template(
        "auth/my_data.html",
        data=data,
        when=_when,
        labels={
            "channels": {c.value: CHANNEL_LABELS[c] for c in Channel},
            "types": {t.value: TYPE_LABELS[t] for t in IncidentType},
            "roles": {r.value: ROLE_LABELS[r] for r in Role},
            "your_roles": YOUR_ROLES,
            "person_roles": {r.value: PERSON_ROLE_LABELS[r] for r in PersonRole},
            "facts": AGGRAVATING_LABELS,
            "fields": FIELD_LABELS,
            "history": HISTORY_ACTIONS,
            "audit": AUDIT_ACTIONS,
            "who": WHO,
            "about": ABOUT,
            "mails": {kind: texts[0] for kind, texts in TEXTS.items()},
            "steps": step_labels(),
            "account_fields": ACCOUNT_FIELDS,
            "team_roles": TEAM_ROLES,
        },
        language=locale.language if locale else "nl",
    )


@bp.route("/account/data.json")
@roles(*ALL_ROLES)
def my_data_json() -> ResponseReturnValue:
    data = access_export.export(current_user._get_current_object(), "json")
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    filename = f"my-data-{data['generated_at'][:10]}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
