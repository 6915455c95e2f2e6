"""The notice letter of a measure: a PDF for the citizen, in Dutch or in English, with the
measure, its reason, its duration, how to object and the organisation's contact.

Who may manage the measure may make it (anyone else gets 404, as if it did not exist); for a
measure approved or in force, or a copy once it ended; never for a proposal or a withdrawn
measure. The letter names no incident and no employee, except the named contact person of a
"one named contact person" measure. What the organisation writes in it is an admin setting
(`incidents.services.measure_letter`). Making it is audited, with the letter's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Response, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from incidents import access
from incidents.extensions import db
from incidents.i18n import LazyText
from incidents.i18n import lazy_gettext as _l
from incidents.measures import bp
from incidents.models import Measure, MeasureState, User
from incidents.security import ALL_ROLES, roles
from incidents.services import measure_letter as letters
from incidents.services import measures

LINK_LABELS: dict[str, LazyText] = {
    "nl": _l("Notice letter in Dutch (PDF)"),
    "en": _l("Notice letter in English (PDF)"),
}


@dataclass(frozen=True)
class NoticeLinks:
    """For `measures/_notice.html`: the letters to download (address, label, language), and
    whether the organisation's address is still missing from them."""

    links: list[tuple[str, str, str]] = field(default_factory=list)
    address_missing: bool = False


def letter_language(value: str | None) -> str:
    """The letter's language: one the app speaks, else the app's default."""
    config = current_app.config
    chosen = (value or "").strip().lower()
    return chosen if chosen in config["LANGUAGES"] else str(config["BABEL_DEFAULT_LOCALE"])


@bp.app_template_global("notice_letter_links")
def notice_letter_links(measure: Measure) -> NoticeLinks:
    """The notice letters of `measure` the current user may download (none: an empty list)."""
    if not access.may_manage_measure(current_user, measure):
        return NoticeLinks()
    if not letters.letter_possible(measure, measures.today()):
        return NoticeLinks()
    links = [
        (url_for("measures.notice_pdf", measure_id=measure.id, lang=lang), str(label), lang)
        for lang, label in LINK_LABELS.items()
        if lang in current_app.config["LANGUAGES"]
    ]
    return NoticeLinks(links, address_missing=not letters.letter_settings().address_lines)


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    raise ValueError(f"the notice letter fetches nothing: {url}")


def letter_pdf(measure: Measure, language: str) -> bytes:
    """The notice letter of `measure` in `language`, as a PDF."""
    from weasyprint import CSS, HTML

    day = measures.today()
    kind = measures.kind_of(measure)
    with force_locale(language):
        html = render_template(
            "measures/notice_letter.html",
            measure=measure,
            kind_title=kind.title(language) if kind else measure.kind,
            kind_rule=kind.rule(language) if kind else "",
            contact_person=_contact_person(measure, kind is not None and kind.contact_person),
            org=letters.letter_settings(),
            language=language,
            letter_date=day,
            days=measures.days_of(measure.starts_on, measure.ends_on),
            copy=measure.state_on(day) == MeasureState.ENDED,
        )
    # Everything the PDF needs is on disk: WeasyPrint fetches nothing over the network.
    stylesheet = CSS(filename=str(Path(bp.root_path).parent / "static" / "css" / "letter.css"))
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetching).write_pdf(stylesheets=[stylesheet])
    return pdf


def _contact_person(measure: Measure, named: bool) -> User | None:
    """The one employee a "contact person" measure names: the only employee in the letter."""
    return measure.contact_person if named else None


@bp.route("/<int:measure_id>/notice.pdf")
@roles(*ALL_ROLES)
def notice_pdf(measure_id: int) -> ResponseReturnValue:
    """The notice letter as a PDF download (`?lang=nl` or `en`); making it is audited."""
    measure = db.session.get(Measure, measure_id)
    if measure is None or not access.may_manage_measure(current_user, measure):
        abort(404)
    if not letters.letter_possible(measure, measures.today()):
        abort(404)  # a proposal or a withdrawn measure has no letter
    language = letter_language(request.args.get("lang"))
    pdf = letter_pdf(measure, language)
    with force_locale(language):
        name = _("notice-letter-%(id)s", id=measure.id)
    letters.record_letter_made(current_user, measure, language)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{language}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # Opened in a browser's viewer: nothing in it may run or fetch.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
