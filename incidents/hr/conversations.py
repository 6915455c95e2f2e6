"""Client conversation counts: a form and a CSV upload.

The grid is saved with post/redirect/get. The upload's report is rendered directly in answer
to the POST: reloading it would only re-send the same file, and a report of thousands of
rejected lines does not fit in the session cookie.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from incidents.forms import show_service_error
from incidents.hr import bp
from incidents.hr.forms_conversations import CountsForm, MonthForm, UploadForm, counts_form
from incidents.labels import CHANNEL_LABELS
from incidents.models import Role, Team
from incidents.security import accepts_file, roles
from incidents.services import conversations as conversation_service
from incidents.services.base import ServiceError
from incidents.services.conversations import ImportReport, format_month

# A report lists at most this many rejected lines; the rest is only counted.
REJECTED_SHOWN = 500


def _month_form() -> MonthForm:
    """The month of ?month=YYYY-MM, else the previous month (the one usually registered)."""
    if "month" in request.args:
        return MonthForm(formdata=request.args)
    month = format_month(conversation_service.previous_month())
    return MonthForm(formdata=None, data={"month": month})


def _page(
    chooser: MonthForm,
    teams: list[Team],
    *,
    form: CountsForm | None = None,
    upload: UploadForm | None = None,
    report: ImportReport | None = None,
) -> ResponseReturnValue:
    """The page: the month, its grid (when the month is valid), the upload and its report."""
    language = str(get_locale() or "nl")
    month: date | None = chooser.chosen if not chooser.errors else None
    if form is None and month is not None:
        form = counts_form(teams, conversation_service.counts_in(month), language, formdata=None)
    context: dict[str, Any] = {
        "chooser": chooser,
        "month": month,
        "month_code": format_month(month) if month else None,
        "form": form,
        "upload": upload or UploadForm(formdata=None),
        "report": report,
        "rejected_shown": report.rejected[:REJECTED_SHOWN] if report else [],
        "teams": teams,
        "language": language,
        "channel_labels": CHANNEL_LABELS,
        "max_count": conversation_service.MAX_COUNT,
        "max_lines": conversation_service.MAX_LINES,
        "max_megabytes": conversation_service.MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render_template("hr/conversations.html", **context)


@bp.route("/conversations", methods=["GET", "POST"])
@roles(Role.HR, Role.ADMIN)
def conversations() -> ResponseReturnValue:
    chooser = _month_form()
    teams = conversation_service.active_teams()
    if not chooser.validate():
        return _page(chooser, teams)
    month = chooser.chosen
    form = counts_form(teams, conversation_service.counts_in(month), str(get_locale() or "nl"))
    if form.validate_on_submit():
        try:
            changed = conversation_service.set_counts(current_user, month, form.counts())
        except ServiceError as error:
            show_service_error(form, error)
        else:
            if changed:
                flash(
                    ngettext("%(num)s count saved.", "%(num)s counts saved.", changed),
                    "success",
                )
            else:
                flash(_("No changes to save."), "info")
            return redirect(url_for("hr.conversations", month=format_month(month)))
    return _page(chooser, teams, form=form)


@bp.route("/conversations/upload", methods=["POST"])
@roles(Role.HR, Role.ADMIN)
@accepts_file(conversation_service.MAX_UPLOAD_BYTES)
def conversations_upload() -> ResponseReturnValue:
    upload = UploadForm()
    report = None
    if upload.validate_on_submit():
        try:
            report = conversation_service.import_csv(current_user, upload.text)
        except ServiceError as error:
            show_service_error(upload, error)
    chooser = _month_form()
    chooser.validate()
    return _page(chooser, conversation_service.active_teams(), upload=upload, report=report)
