"""Statistics for HR (anonymised, disclosure-controlled), their CSV files, and the yearly
report for the council as a page and as a PDF. Every request is audited."""

from __future__ import annotations

import functools
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
from markupsafe import Markup

from incidents.bounds import parse_int
from incidents.csvsafe import csv_text
from incidents.hr import bp
from incidents.models import AuditAction, Role, utcnow
from incidents.security import roles
from incidents.services import actions, learning
from incidents.services.statistics import publish, record_request, record_shown
from incidents.stats import figures, periods, queries
from incidents.stats import learning as learning_stats
from incidents.stats.periods import Period

ASKED = ("period", "by", "table", "change", "months")


def _asked() -> dict[str, str]:
    """Which figures were asked for, for the audit trail (the known parameters, cut short)."""
    return {name: request.args[name][:20] for name in ASKED if name in request.args}


def _text_arg(name: str) -> str:
    """A query argument naming a period or month: written in ASCII, or not at all (the
    parsers' `isdigit` also accepts "²", which `int` refuses)."""
    value = request.args.get(name, "")
    return value if value.isascii() else ""


def _choices(closed: date, offered: list[str]) -> tuple[Period | None, str]:
    """The period and breakdown asked for; anything else falls back to the latest period."""
    period = Period.parse(_text_arg("period"), closed)
    if period is None:
        period = Period.parse(offered[0], closed) if offered else None
    by = request.args.get("by", "type")
    if by not in figures.DIMENSIONS or (by == "team" and not (period and period.is_year)):
        by = "type"
    return period, by


def _comparison_choice(closed: date) -> tuple[date, int] | None:
    """A quarter start ("YYYY-MM") and 3 or 12 months that are all published, or None."""
    change = Period.month(_text_arg("change"))
    months = parse_int(request.args.get("months", "12"))
    if months is None or periods.comparison(change, months, closed) is None:
        return None
    assert change is not None  # noqa: S101 - comparison() refused None
    return change, months


@bp.route("/statistics")
@roles(Role.HR)
def statistics() -> ResponseReturnValue:
    now = utcnow()
    state = publish(now)
    closed = figures.closed_before(now)
    years = queries.years_with_data(state)
    offered = periods.periods(years, closed)
    period, by = _choices(closed, offered)
    choice = _comparison_choice(closed)
    stats = figures.build(period, by, now, state) if period else None
    page = render_template(
        "hr/statistics.html",
        stats=stats,
        tables=_tables(stats) if stats else "",
        periods=offered,
        dimensions=figures.DIMENSIONS,
        compare_months=periods.COMPARE_MONTHS,
        change_months=periods.change_months(min(years), closed) if years else [],
        choice=choice,
        compared=figures.comparison(*choice, now) if choice else None,
        compare_asked="change" in request.args,
        org_measures=learning.all_measures(),
        k=figures.current_k(),
    )
    record_shown(current_user, AuditAction.STATS_VIEW, **_asked())
    return page


def _tables(stats: figures.Statistics) -> Markup:
    """The page's tables, rendered once for the figures they show (built figures are kept
    under everything they were made from, see `stats.memo`), in the language of the figures."""
    if "tables" not in stats.rendered:
        stats.rendered["tables"] = render_template("hr/_tables.html", stats=stats, k=stats.k)
    # The output of an autoescaped template (every name in it escaped), kept: not user input.
    return Markup(stats.rendered["tables"])  # noqa: S704  # nosec B704


@bp.route("/statistics.csv")
@roles(Role.HR)
def statistics_csv() -> ResponseReturnValue:
    """One table of the statistics page, exactly as shown there (after disclosure control)."""
    now = utcnow()
    state = publish(now)
    closed = figures.closed_before(now)
    period, by = _choices(closed, periods.periods(queries.years_with_data(state), closed))
    name = request.args.get("table", "")
    shown: figures.Shown | None = None
    if name == "compare":
        choice = _comparison_choice(closed)
        compared = figures.comparison(*choice, now) if choice else None
        shown = compared[0] if compared else None
    elif period is not None:
        shown = figures.build(period, by, now, state).table(name)
    if shown is None:
        abort(404)
    record_request(current_user, AuditAction.STATS_EXPORT, now, **_asked())
    key = period.key if period else "none"
    filename = f"incidents-{shown.name}-{key}-{by}.csv"
    return Response(
        csv_text(shown.csv_rows(figures.current_k())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _year() -> int:
    value = request.args.get("year", "")
    year = parse_int(value) if len(value) == 4 else None
    return utcnow().year - 1 if year is None else year


def _report_context(year: int) -> dict[str, object]:
    now = utcnow()
    period = Period.of_year(year, figures.closed_before(now)) if 2000 <= year <= 2100 else None
    return {
        "stats": figures.build(period, "type", now) if period else None,
        "year": year,
        "generated": now,
        "k": figures.current_k(),
        "published_on": figures.year_published_at(min(max(year, 2000), 2100)),
        "learned": learning.report_comparisons(year, now) if period else [],
        "actions": learning_stats.action_figures(
            actions.year_counts(date(year, 1, 1), date(year + 1, 1, 1)), figures.current_k()
        )
        if period
        else None,
        "method": learning_stats.method_text(figures.current_k()),
    }


@bp.route("/report")
@roles(Role.HR)
def report() -> ResponseReturnValue:
    """The yearly report for the council: a printable page."""
    year = _year()
    record_request(current_user, AuditAction.STATS_REPORT, utcnow(), year=year)
    return render_template("hr/report.html", printable=True, **_report_context(year))


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    raise ValueError(f"the report fetches nothing: {url}")


@bp.route("/report.pdf")
@roles(Role.HR)
def report_pdf() -> ResponseReturnValue:
    """The same report as a PDF, to attach to an information letter to the council."""
    from weasyprint import CSS, HTML

    year = _year()
    record_request(current_user, AuditAction.STATS_REPORT_PDF, utcnow(), year=year)
    html = render_template("hr/report.html", printable=False, pdf=True, **_report_context(year))
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


@bp.app_template_filter("plural_of")
def plural_of(figure: object) -> int:
    """The number that chooses a text's plural form for a protected figure: its value when
    shown, else 0 (a plural), so "< 10 incidents" never tells a hidden 1 from more. A
    fraction (1.5 hours) is plural; gettext wants a whole number."""
    value = getattr(figure, "value", None)
    if value is None or getattr(figure, "suppressed", False) or getattr(figure, "withheld", False):
        return 0
    return int(value) if float(value).is_integer() else 2


@bp.app_template_filter("figure")
def figure_text(figure: object, k: int) -> str:
    """How a protected figure reads: a number in the user's language, "< k", "*" (withheld),
    or a dash (no data)."""
    if getattr(figure, "suppressed", False):
        return f"< {k}"
    if getattr(figure, "withheld", False):
        return "*"
    value = getattr(figure, "value", None)
    if value is None:
        return "\u2013"  # an en dash: no data
    pattern, locale = _figure_format(str(get_locale() or "nl"))
    text = str(pattern.apply(value, locale))
    return f"\u2265 {text}" if getattr(figure, "at_least", False) else text
