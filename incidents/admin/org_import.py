"""The import of people and teams from the HR system: upload a CSV export, read the dry run,
confirm it. Every run has its own page (its report is kept), so the upload redirects there."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage

from incidents.admin import bp
from incidents.csvsafe import csv_text
from incidents.extensions import db
from incidents.forms import ConfirmForm, CsvUploadForm, show_service_error
from incidents.i18n import lazy_gettext as _l
from incidents.labels import ROLE_LABELS
from incidents.models import OrgImport, Role
from incidents.security import accepts_file, roles
from incidents.services import ServiceError
from incidents.services import org_import as import_service

# Each list of the report shows this many entries; the CSV download has them all.
SHOWN = 200

# What a changed field is called in the report.
FIELD_LABELS = {
    "employee_number": _l("Employee number"),
    "email": _l("E-mail address"),
    "name": _l("Name"),
    "name_en": _l("Name in English"),
    "role": _l("Role"),
    "active": _l("Active"),
    "code": _l("Team code"),
    "manager": _l("Manager"),
    "deputy": _l("Deputy manager"),
}
# The field of IMPORT_COLUMNS each header holds, as the page explains it.
COLUMN_MEANINGS = {
    "employee_number": _l("The employee number: the key the HR system and the app share."),
    "email": _l("The work e-mail address: the person signs in with it."),
    "name": _l("The full name."),
    "team_code": _l("The code of the person's team."),
    "team_name": _l("The team's name (on at least one of its lines)."),
    "parent_team_code": _l("The code of the team above it; empty for the top."),
    "manager_employee_number": _l("The employee number of the manager of the person's team."),
}


class UploadForm(CsvUploadForm):
    """A CSV export of the HR system."""

    file = FileField(
        _l("CSV file"),
        description=_l("The HR system's export, in the format described below."),
        validators=[FileRequired(_l("Choose a CSV file to upload."))],
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )

    def max_bytes(self) -> int:
        return import_service.MAX_UPLOAD_BYTES

    def too_large_message(self) -> str:
        return import_service.too_large_message()

    @property
    def filename(self) -> str:
        upload: FileStorage | None = self.file.data
        return (upload.filename or "") if upload is not None else ""


def _page(upload: UploadForm) -> ResponseReturnValue:
    return render_template(
        "admin/org_import.html",
        upload=upload,
        runs=import_service.runs(),
        columns=import_service.columns(),
        meanings=COLUMN_MEANINGS,
        max_megabytes=import_service.MAX_UPLOAD_BYTES // (1024 * 1024),
        max_lines=import_service.MAX_LINES,
    )


@bp.route("/import")
@roles(Role.ADMIN)
def org_import() -> ResponseReturnValue:
    return _page(UploadForm(formdata=None))


@bp.route("/import/upload", methods=["POST"])
@roles(Role.ADMIN)
@accepts_file(import_service.MAX_UPLOAD_BYTES)
def org_import_upload() -> ResponseReturnValue:
    upload = UploadForm()
    if upload.validate_on_submit():
        try:
            record = import_service.dry_run(current_user, upload.text, upload.filename)
        except ServiceError as error:
            show_service_error(upload, error)
        else:
            return redirect(url_for("admin.org_import_run", run_id=record.id))
    return _page(upload)


@bp.route("/import/<int:run_id>")
@roles(Role.ADMIN)
def org_import_run(run_id: int) -> ResponseReturnValue:
    record = db.get_or_404(OrgImport, run_id)
    report: dict[str, Any] = record.report
    counts = report.get("counts", {})
    deactivated = len(report.get("people_deactivated", []))
    return render_template(
        "admin/org_import_run.html",
        record=record,
        report=report,
        counts=counts,
        shown=SHOWN,
        confirm=ConfirmForm(),
        # A file that would deactivate more than a tenth of the people it names may be cut off.
        many_leave=deactivated > max(10, counts.get("accepted", 0) // 10),
        deactivated=deactivated,
        refused=[
            (refusal["line"], refusal["text"], import_service.reasons(refusal))
            for refusal in report.get("refused", [])[:SHOWN]
        ],
        notices=[
            import_service.describe(import_service.Finding.from_json(notice))
            for notice in report.get("notices", [])
        ],
        field_labels=FIELD_LABELS,
        role_labels={role.value: label for role, label in ROLE_LABELS.items()},
    )


@bp.route("/import/<int:run_id>/apply", methods=["POST"])
@roles(Role.ADMIN)
def org_import_apply(run_id: int) -> ResponseReturnValue:
    record = db.get_or_404(OrgImport, run_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        import_service.apply(current_user, record)
    except import_service.Outdated as outdated:
        flash(outdated.message, "error")
        return redirect(url_for("admin.org_import_run", run_id=outdated.newer.id))
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(_("The import was applied."), "success")
    return redirect(url_for("admin.org_import_run", run_id=run_id))


@bp.route("/import/<int:run_id>/report.csv")
@roles(Role.ADMIN)
def org_import_csv(run_id: int) -> ResponseReturnValue:
    """The whole report as CSV, every cell safe to open in a spreadsheet."""
    record = db.get_or_404(OrgImport, run_id)
    return Response(
        csv_text(_csv_rows(record.report)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{record.id}.csv"'},
    )


def _csv_rows(report: dict[str, Any]) -> list[list[object]]:
    """One row per change, refused line and notice: what, line, employee number or team code,
    name, e-mail address, team, details."""
    rows: list[list[object]] = [
        [
            _("What"),
            _("Line"),
            _("Employee number or team code"),
            _("Name"),
            _("E-mail address"),
            _("Team"),
            _("Details"),
        ]
    ]

    def changes(entry: dict[str, Any]) -> str:
        return "; ".join(
            f"{FIELD_LABELS.get(c['field'], c['field'])}: "
            f"{_value(c['old'], c['field'])} → {_value(c['new'], c['field'])}"
            for c in entry.get("changes", [])
        )

    for e in report.get("people_added", []):
        rows.append([_("Added"), e["line"], e["number"], e["name"], e["email"], e["team"], ""])
    for e in report.get("people_changed", []):
        rows.append([_("Changed"), "", e["number"], e["name"], "", "", changes(e)])
    for e in report.get("people_moved", []):
        moved = f"{_value(e['from'])} → {_value(e['to'])}"
        rows.append([_("Moved"), "", e["number"], e["name"], "", e["to"], moved])
    for e in report.get("people_deactivated", []):
        rows.append([_("Deactivated"), "", e["number"], e["name"], e["email"], e["team"], ""])
    for e in report.get("teams_added", []):
        rows.append([_("New team"), "", e["code"], e["name"], "", e["parent"], e["manager"]])
    for e in report.get("teams_changed", []):
        rows.append([_("Team changed"), "", e["code"], e["name"], "", "", changes(e)])
    for e in report.get("teams_reparented", []):
        moved = f"{_value(e['from'])} → {_value(e['to'])}"
        rows.append([_("Team moved"), "", e["code"], e["name"], "", e["to"], moved])
    for e in report.get("teams_losing_manager", []):
        rows.append([_("Team loses its manager"), "", e["code"], e["name"], "", "", e["manager"]])
    for refusal in report.get("refused", []):
        reason = import_service.reasons(refusal)
        rows.append([_("Refused"), refusal["line"], "", refusal["text"], "", "", reason])
    for notice in report.get("notices", []):
        text = import_service.describe(import_service.Finding.from_json(notice))
        rows.append([_("Note"), "", "", "", "", "", text])
    return rows


def _value(value: object, field: str = "") -> str:
    """A value of the report as the CSV shows it."""
    if value is None:
        return "\u2013"  # an en dash, as the pages show none
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if field == "role":
        return str(ROLE_LABELS[Role(str(value))])
    return str(value)
