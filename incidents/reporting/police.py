"""The police bundle on the incident page: one ZIP with the report for the police (a PDF, always
in Dutch, the employer reporting with its own address), the files a manager chose for the
police, and their SHA-256 checksums.

A POST, not a link: the download is recorded (see `incidents.services.police_bundle`). Anyone
who may not manage the incident's evidence gets 404, as if the incident did not exist."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_login import current_user

from incidents import access
from incidents.forms import ConfirmForm
from incidents.models import Attachment, Incident, PerpetratorKnown, PersonRole, utcnow
from incidents.reporting import bp
from incidents.reporting.views import LABELS, REPORTERS, incident_or_404
from incidents.security import roles
from incidents.services import ServiceError
from incidents.services import police_bundle as bundles
from incidents.services.police_bundle import Summary

# The police read Dutch, whoever downloads the bundle.
REPORT_LOCALE = "nl"


@bp.app_template_global("police_bundle_summary")
def police_bundle_summary(incident: Incident) -> Summary:
    """For `reporting/_police_bundle.html`: the files chosen, and when evidence was handed over."""
    return bundles.summary(incident)


@bp.route("/<int:incident_id>/police-bundle", methods=["POST"])
@roles(*REPORTERS)
def police_bundle(incident_id: int) -> ResponseReturnValue:
    """The police bundle as a ZIP download; its handover recorded."""
    incident, _view = incident_or_404(incident_id)
    if not access.can_manage_evidence(current_user, incident):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        bundle = bundles.hand_over(
            current_user,
            incident,
            lambda files, names: _report_pdf(incident, files, names),
        )
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("reporting.detail", incident_id=incident_id) + "#evidence")
    return Response(
        bundle.data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # Opened anyway (a browser's viewer): nothing in it may run or fetch.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@contextmanager
def _in_dutch() -> Iterator[None]:
    """Translations and dates in Dutch for the block, whatever the user's language (the date
    filters read the locale from Flask-Babel, which `force_locale` sets)."""
    with force_locale(REPORT_LOCALE):
        yield


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    raise ValueError(f"the police report fetches nothing: {url}")


def _report_pdf(incident: Incident, files: Sequence[Attachment], names: list[str]) -> bytes:
    """The report for the police as a PDF, in Dutch, listing the enclosed files."""
    from weasyprint import CSS, HTML

    config = current_app.config
    with _in_dutch():
        html = render_template(
            "reporting/police_report.html",
            incident=incident,
            affected=[p.user for p in incident.people_in(PersonRole.AFFECTED)],
            perpetrator_known=incident.perpetrator_known == PerpetratorKnown.KNOWN,
            colleague_witnesses=len(incident.people_in(PersonRole.WITNESS)),
            files=list(zip(names, files, strict=True)),
            report_name=bundles.report_name(incident.id),
            manifest_name=bundles.MANIFEST,
            org_name=config["ORG_NAME"],
            org_address=[
                line.strip() for line in config["ORG_ADDRESS"].splitlines() if line.strip()
            ],
            made_by=current_user,
            made_at=utcnow(),
            labels=LABELS,
        )
    # Everything the PDF needs is on disk: WeasyPrint fetches nothing over the network.
    stylesheet = CSS(filename=str(Path(bp.root_path).parent / "static" / "css" / "report.css"))
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetching).write_pdf(stylesheets=[stylesheet])
    return pdf
