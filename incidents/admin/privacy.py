"""The data protection officer's yearly overview."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user

from incidents.admin import bp
from incidents.models import AuditAction, Role, utcnow
from incidents.privacy import overview
from incidents.security import roles
from incidents.services.statistics import record_request
from incidents.stats.figures import closed_before
from incidents.stats.periods import Period


@bp.route("/privacy")
@roles(Role.ADMIN)
def privacy_overview() -> ResponseReturnValue:
    """Views and exports by role, retention, legal holds, records held, measures (once the
    year is published, like the HR statistics), each HR user's statistics requests and the
    lookups at the counter per team and month (the year to date, exactly)."""
    now = utcnow()
    value = request.args.get("year", "")
    this_year = now.year
    year = (
        int(value)
        if value.isascii() and value.isdigit() and 2000 <= int(value) <= this_year
        else this_year
    )
    record_request(current_user, AuditAction.PRIVACY_OVERVIEW, now, year=year)
    period = Period.of_year(year, closed_before(now))
    return render_template(
        "admin/privacy.html",
        year=year,
        years=range(this_year, this_year - 6, -1),
        period=period,
        tables=overview.build(period) if period else [],
        requests=overview.stats_requests(year),
        lookups=overview.counter_lookups(year, str(get_locale() or "nl")),
        actions=overview.STATS_ACTIONS,
    )
