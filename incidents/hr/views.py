"""Statistics for HR (anonymised, disclosure-controlled), their CSV files, and the yearly
report for the council as a page and as a PDF."""

from __future__ import annotations

import csv
import functools
import io
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import parse_pattern
from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from incidents.hr import bp
from incidents.models import Role, utcnow
from incidents.security import roles
from incidents.services import audit, transaction
from incidents.stats import figures, queries
from incidents.stats.queries import Period


def _choices() -> tuple[Period, str]:
    """The period and breakdown asked for; anything else falls back to this year, by type."""
    now = utcnow()
    period = Period.parse(request.args.get("period", "")) or Period.of_year(now.year)
    by = request.args.get("by", "type")
    if by not in figures.DIMENSIONS:
        by = "type"
    return period, by


def _periods() -> list[str]:
    years = queries.years_with_data() or [utcnow().year]
    return [p for y in years for p in (str(y), *(f"{y}-Q{q}" for q in range(1, 5)))]


def _comparison_choice() -> tuple[date, int] | None:
    """A change month ("YYYY-MM") and a whole number of months (3, 6 or 12), or None."""
    change = Period.month(request.args.get("change", ""))
    months = request.args.get("months", "6")
    if change is None or not months.isdigit() or int(months) not in figures.COMPARE_MONTHS:
        return None
    return change, int(months)


@bp.route("/statistics")
@roles(Role.HR)
def statistics() -> ResponseReturnValue:
    period, by = _choices()
    stats = figures.build(period, by, utcnow())
    choice = _comparison_choice()
    compared = figures.comparison(*choice) if choice else None
    return render_template(
        "hr/statistics.html",
        stats=stats,
        periods=_periods(),
        dimensions=figures.DIMENSIONS,
        compare_months=figures.COMPARE_MONTHS,
        choice=choice,
        compared=compared,
    )


@bp.route("/statistics.csv")
@roles(Role.HR)
def statistics_csv() -> ResponseReturnValue:
    """One table of the statistics page, exactly as shown there (after disclosure control)."""
    period, by = _choices()
    stats = figures.build(period, by, utcnow())
    name = request.args.get("table", "")
    choice = _comparison_choice()
    shown = figures.comparison(*choice)[0] if name == "compare" and choice else stats.table(name)
    if shown is None:
        abort(404)
    with transaction():
        audit(current_user, "stats.export", None, table=shown.name, period=period.key, by=by)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(shown.csv_rows(stats.k))
    filename = f"incidents-{shown.name}-{period.key}-{by}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _report_context(year: int) -> dict[str, object]:
    period = Period.parse(str(year))
    if period is None:
        abort(404)
    return {"stats": figures.build(period, "type", utcnow()), "year": year, "generated": utcnow()}


def _year() -> int:
    value = request.args.get("year", "")
    return int(value) if value.isdigit() and len(value) == 4 else utcnow().year - 1


@bp.route("/report")
@roles(Role.HR)
def report() -> ResponseReturnValue:
    """The yearly report for the council: a printable page."""
    return render_template("hr/report.html", printable=True, **_report_context(_year()))


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    raise ValueError(f"the report fetches nothing: {url}")


@bp.route("/report.pdf")
@roles(Role.HR)
def report_pdf() -> ResponseReturnValue:
    """The same report as a PDF, to attach to an information letter to the council."""
    from weasyprint import CSS, HTML

    year = _year()
    html = render_template("hr/report.html", printable=False, pdf=True, **_report_context(year))
    with transaction():
        audit(current_user, "stats.report_pdf", None, year=year)
    # Everything the PDF needs is on disk: WeasyPrint fetches nothing over the network.
    stylesheet = CSS(filename=str(Path(bp.root_path).parent / "static" / "css" / "report.css"))
    pdf = HTML(string=html, url_fetcher=_no_fetching).write_pdf(stylesheets=[stylesheet])
    name = _("aggression-report-%(year)s", year=year)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


@functools.lru_cache(maxsize=8)
def _figure_format(locale: str) -> tuple[Any, Locale]:
    return parse_pattern("#,##0.#"), Locale.parse(locale)


@bp.app_template_filter("figure")
def figure_text(figure: object, k: int) -> str:
    """How a protected figure reads: a number in the user's language, "< k", or a dash."""
    if getattr(figure, "suppressed", False):
        return f"< {k}"
    value = getattr(figure, "value", None)
    if value is None:
        return "\u2013"  # an en dash: no data
    pattern, locale = _figure_format(str(get_locale() or "nl"))
    return str(pattern.apply(value, locale))
