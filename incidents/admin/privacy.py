"""The data protection officer's yearly overview."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from incidents.admin import bp
from incidents.models import Role, utcnow
from incidents.privacy import overview
from incidents.security import roles


@bp.route("/privacy")
@roles(Role.ADMIN)
def privacy_overview() -> ResponseReturnValue:
    """Views and exports by role, retention, legal holds, records held, measures: for a year."""
    value = request.args.get("year", "")
    this_year = utcnow().year
    year = int(value) if value.isdigit() and 2000 <= int(value) <= this_year else this_year
    return render_template(
        "admin/privacy.html",
        year=year,
        years=range(this_year, this_year - 6, -1),
        tables=overview.build(year),
    )
