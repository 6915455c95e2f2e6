"""Outgoing mail: what waits, what failed for good, and trying a failed mail again.

The administrator sees who a mail was for, its kind and the server's answer: never what an
incident is about.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from incidents import notify, outbox
from incidents.admin import bp
from incidents.models import Role
from incidents.security import roles
from incidents.services import ServiceError

SHOWN = 200  # failed mails listed, newest first; the count says how many there are


@bp.route("/mail")
@roles(Role.ADMIN)
def mail() -> ResponseReturnValue:
    """Counts of waiting and failed mail, and the newest failed mails."""
    return render_template(
        "admin/mail.html",
        counts=outbox.outbox_counts(),
        failed=outbox.failed_mails(SHOWN),
        subjects={kind: texts[0] for kind, texts in notify.TEXTS.items()},
    )


@bp.route("/mail/<int:notification_id>/retry", methods=["POST"])
@roles(Role.ADMIN)
def retry_mail(notification_id: int) -> ResponseReturnValue:
    """Put a failed mail back in the outbox; the next `flask remind` sends it."""
    try:
        note = outbox.requeue(current_user, notification_id)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(
            _("The mail to %(name)s will be sent on the next run.", name=note.recipient.name),
            "success",
        )
    return redirect(url_for("admin.mail"))
