"""The "What happens now" page: what follows a report, and whom to call (for every role)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from incidents.labels import HELP_CONTACT_LABELS
from incidents.main import bp
from incidents.security import ALL_ROLES, roles
from incidents.services import help_contacts


@bp.route("/help", endpoint="help")
@roles(*ALL_ROLES)
def help_page() -> ResponseReturnValue:
    contacts = [
        (HELP_CONTACT_LABELS[kind], contact)
        for kind, contact in help_contacts.help_contacts().items()
        if not contact.is_empty
    ]
    return render_template("main/help.html", contacts=contacts)
