"""Home page per role; liveness and readiness probes."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from incidents import access
from incidents.extensions import db
from incidents.labels import step_labels
from incidents.main import bp
from incidents.models import AftercareStep, Incident, Team, utcnow
from incidents.security import ALL_ROLES, allowed_roles, roles


@bp.route("/")
@roles(*ALL_ROLES)
def index() -> ResponseReturnValue:
    managed = db.session.scalars(
        db.select(Team)
        .where((Team.manager_id == current_user.id) | (Team.deputy_id == current_user.id))
        .where(Team.active)
        .order_by(Team.name_nl)
    ).all()
    drafts = db.session.scalars(
        access.my_drafts_query(current_user).order_by(Incident.updated_at.desc())
    ).all()
    my_steps = db.session.scalars(
        access.my_steps_query(current_user).options(
            selectinload(AftercareStep.owner),
            selectinload(AftercareStep.done_by),
            selectinload(AftercareStep.incident),
        )
    ).all()
    return render_template(
        "main/index.html",
        managed_teams=managed,
        drafts=drafts,
        my_steps=my_steps,
        step_labels=step_labels(),
        now=utcnow(),
    )


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers. Touches nothing else."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "database unavailable\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


# The main menu, in order. Each entry is shown only to the roles its view admits.
NAVIGATION = [
    ("main.index", _l("Home")),
    ("reporting.new", _l("Report")),
    ("reporting.quick", _l("Quick log")),
    ("reporting.mine", _l("My incidents")),
    ("aftercare.inbox", _l("Aftercare")),
    ("hr.statistics", _l("Statistics")),
    ("hr.report", _l("Yearly report")),
    ("hr.conversations", _l("Client conversations")),
    ("admin.users", _l("Users")),
    ("admin.teams", _l("Teams")),
    ("admin.audit", _l("Audit trail")),
    ("admin.legal_holds", _l("Legal holds")),
    ("admin.privacy_overview", _l("Privacy")),
]


@bp.app_context_processor
def navigation() -> dict[str, object]:
    def nav_items() -> list[tuple[str, str, int | None]]:
        if not current_user.is_authenticated:
            return []
        return [
            (
                endpoint,
                str(label),
                access.open_step_count(current_user, utcnow())
                if endpoint == "aftercare.inbox"
                else None,
            )
            for endpoint, label in NAVIGATION
            if current_user.role in allowed_roles(endpoint)
        ]

    return {"nav_items": nav_items}
