"""Home page per role; liveness and readiness probes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from incidents import access, queries
from incidents.aftercare.absence import AbsenceForm
from incidents.errors import database_unavailable
from incidents.extensions import db, org_zone
from incidents.forms import fresh_form_url
from incidents.i18n import lazy_gettext as _l
from incidents.labels import TYPE_LABELS, step_labels
from incidents.main import bp
from incidents.models import Role, utcnow
from incidents.security import ALL_ROLES, allowed_roles, roles
from incidents.services import actions


@bp.route("/")
@roles(*ALL_ROLES)
def index() -> ResponseReturnValue:
    role = current_user.role
    drafts = queries.my_drafts(current_user)
    now = utcnow()
    is_manager = role == Role.MANAGER
    return render_template(
        "main/index.html",
        # A manager's day instead of a list of teams: what is overdue, due today, new, and
        # what they stand in for.
        day=queries.manager_day(current_user, now, _end_of_day(now)) if is_manager else None,
        absence_form=AbsenceForm(return_to="home") if is_manager else None,
        managed_teams=[] if is_manager else queries.managed_teams(current_user),
        drafts=drafts,
        alarms=queries.alarms_of(drafts),
        my_steps=queries.my_steps(current_user),
        is_employee=role == Role.EMPLOYEE,
        is_manager=is_manager,
        is_hr=role == Role.HR,
        is_admin=role == Role.ADMIN,
        can_report=role in allowed_roles("reporting.new"),
        can_look_up=access.may_look_up(current_user),
        # Owners who are not managers (HR, a facility colleague) find theirs on "My actions".
        action_count=0 if is_manager else len(actions.open_for_owner(current_user)),
        sees_all_actions=access.may_see_all_actions(current_user),
        step_labels=step_labels(),
        type_labels=TYPE_LABELS,
        new_incident_days=queries.NEW_INCIDENT_DAYS,
        now=now,
    )


def _end_of_day(now: datetime) -> datetime:
    """Midnight after `now`, in the organisation's time zone: "due today" ends there."""
    zone = org_zone()
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers. Touches nothing else."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: the database answers and takes a write. 503 says which of the two failed."""
    problem = _write_problem()
    if problem:
        return f"database {problem}\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


def _write_problem() -> str | None:
    """None when the database takes a write; otherwise what failed, in a word or two.

    A SELECT answers on a read-only database too (a SQLite file opened or mounted read-only, a
    PostgreSQL standby or `default_transaction_read_only`), and then every report would fail.
    So write for real, and roll back: the one row of `alembic_version` set to itself, in a
    transaction that takes the write lock first (SQLite: BEGIN IMMEDIATE). Nothing is kept, so
    it does not prove there is room on the disk; that shows only at commit."""
    try:
        with db.engine.connect() as connection:
            try:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:  # a running migration holds this row: say so rather than wait for it
                    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            finally:
                connection.rollback()
    except DBAPIError as error:
        current_app.logger.warning("readyz: %s", error.orig)
        cause = str(error.orig).lower()
        state = getattr(error.orig, "sqlstate", None)
        if state == "55P03" or "locked" in cause:
            return "locked"
        if database_unavailable(error):
            return "unavailable"
        if state == "25006" or "readonly" in cause or "read-only" in cause:
            return "read-only"
        if state == "42P01" or "no such table" in cause:
            return "not migrated"
        return "not writable"
    except SQLAlchemyError as error:
        current_app.logger.warning("readyz: %s", error)
        return "unavailable"
    return None


# The main menu, in order. Each entry is shown only to the roles its view admits.
def _anyone(user: object) -> bool:
    return True


# Menu items open to every role whose page is for some people only (the rest get 404).
NAV_PERMISSIONS = {
    "measures.register": access.may_keep_register,
    "measures.lookup": access.may_look_up,
    "learning.measures": access.may_keep_org_measures,
    "actions.overview": access.may_see_all_actions,
}

NAVIGATION = [
    ("main.index", _l("Home")),
    ("reporting.new", _l("Report")),
    ("reporting.quick", _l("Quick log")),
    ("reporting.mine", _l("My incidents")),
    ("aftercare.inbox", _l("Aftercare")),
    ("measures.register", _l("Measures")),
    ("measures.lookup", _l("Look up at the counter")),
    ("actions.overview", _l("Corrective actions")),
    ("hr.statistics", _l("Statistics")),
    ("hr.report", _l("Yearly report")),
    ("hr.conversations", _l("Client conversations")),
    ("learning.measures", _l("Organisational measures")),
    ("admin.users", _l("Users")),
    ("admin.teams", _l("Teams")),
    ("admin.locations", _l("Locations")),
    ("admin.alarms", _l("Alarm buttons")),
    ("admin.org_import", _l("HR import")),
    ("admin.aftercare_owners", _l("Aftercare owners")),
    ("admin.mail", _l("Outgoing mail")),
    ("admin.audit", _l("Audit trail")),
    ("admin.legal_holds", _l("Legal holds")),
    ("admin.privacy_overview", _l("Privacy")),
    ("admin.evidence_settings", _l("Evidence")),
    ("admin.scim", _l("Directory provisioning")),
    ("admin.help_contacts", _l("Help contacts")),
    ("admin.measure_letter", _l("Notice letter")),
    ("main.help", _l("What happens now")),
]


# Forms whose address carries a submission token (reporting.views._fresh_form_redirect): a
# link made with a token of its own saves the redirect, a round trip on a slow phone network.
TOKEN_FORMS = frozenset({"reporting.new", "reporting.quick"})


def link_to(endpoint: str, **values: Any) -> str:
    """The address of a page to link to; a report form's with a fresh submission token."""
    if endpoint in TOKEN_FORMS and "t" not in values:
        return fresh_form_url(endpoint, **values)
    return url_for(endpoint, **values)


@bp.app_context_processor
def navigation() -> dict[str, object]:
    def nav_items() -> list[tuple[str, str, int | None]]:
        if not current_user.is_authenticated:
            return []
        return [
            (
                endpoint,
                str(label),
                # Open work: the steps they own, and their open corrective actions.
                queries.open_step_count(current_user, utcnow()) + actions.open_count(current_user)
                if endpoint == "aftercare.inbox"
                else None,
            )
            for endpoint, label in NAVIGATION
            if current_user.role in allowed_roles(endpoint)
            and NAV_PERMISSIONS.get(endpoint, _anyone)(current_user)
        ]

    return {"nav_items": nav_items, "link_to": link_to}
