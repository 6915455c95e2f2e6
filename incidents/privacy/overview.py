"""The data protection officer's yearly overview: aggregate counts from the audit trail and the
data held, through the same disclosure control as the HR statistics, over the same published
years in the organisation's time zone; and how many statistics requests each HR user made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, case, cast, func, select

from incidents.extensions import db
from incidents.i18n import lazy_gettext as _l
from incidents.labels import ROLE_LABELS
from incidents.models import (
    AftercareStep,
    AuditEvent,
    Incident,
    IncidentStatus,
    Role,
    StepStatus,
    User,
)
from incidents.stats import disclosure, figures, queries, tally
from incidents.stats.figures import Shown
from incidents.stats.periods import Period

STATS_ACTIONS = {
    "stats.view": _l("Statistics pages viewed"),
    "stats.export": _l("Statistics exported (CSV)"),
    "stats.report": _l("Yearly reports viewed"),
    "stats.report_pdf": _l("Yearly reports downloaded (PDF)"),
}
ACCESS_ACTIONS = {
    "incident.view": _l("Incident pages viewed"),
    "incident.view_edit": _l("Incident forms opened"),
    "step.view": _l("Aftercare steps viewed"),
    **STATS_ACTIONS,
    "privacy.access_export": _l("Own data downloaded (right of access)"),
}
EVENTS = {
    "retention.anonymise": _l("Incidents anonymised (retention)"),
    "retention.expire_measure": _l("Perpetrator measures expired"),
    "incident.legal_hold": _l("Legal holds placed"),
    "incident.legal_hold_lifted": _l("Legal holds lifted"),
    "auth.login_failed": _l("Failed logins"),
}


@dataclass
class StatsRequests:
    """One HR user's statistics requests in the year so far (exact: this is about HR's use of
    the statistics, not about the people in them)."""

    name: str
    email: str
    active: bool
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def stats_requests(year: int) -> list[StatsRequests]:
    """Statistics pages, CSV files and reports each HR user asked for in the year (the
    organisation's calendar year, to date), most first."""
    zone = current_app.config["ORG_TIMEZONE"]
    start, end = Period(str(year), date(year, 1, 1), date(year + 1, 1, 1)).bounds(zone)
    found: dict[int, StatsRequests] = {}
    person = (User.id, User.name, User.email, User.active)
    for user_id, name, email, active, action, n in db.session.execute(
        select(*person, AuditEvent.action, func.count())
        .join(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.at >= start,
            AuditEvent.at < end,
            AuditEvent.action.in_(list(STATS_ACTIONS)),
        )
        .group_by(*person, AuditEvent.action)
    ):
        entry = found.setdefault(user_id, StatsRequests(name, email, active, {}))
        entry.counts[action] = n
    return sorted(found.values(), key=lambda entry: (-entry.total, entry.name))


def build(period: Period) -> list[Shown]:
    """The overview's tables for a published year."""
    config = current_app.config
    k = config["STATS_MIN_CELL"]
    zone = config["ORG_TIMEZONE"]
    start, end = period.bounds(zone)
    in_year = (AuditEvent.at >= start, AuditEvent.at < end)

    access_raw: dict[tuple[str, str], int] = {}
    for action, role, n in db.session.execute(
        select(AuditEvent.action, User.role, func.count())
        .join(User, User.id == AuditEvent.actor_id)
        .where(*in_year, AuditEvent.action.in_(list(ACCESS_ACTIONS)))
        .group_by(AuditEvent.action, User.role)
    ):
        access_raw[(action, role.value)] = n
    roles = [r.value for r in Role]

    events_raw = dict(
        db.session.execute(
            select(AuditEvent.action, func.count())
            .where(*in_year, AuditEvent.action.in_(list(EVENTS)))
            .group_by(AuditEvent.action)
        ).all()
    )

    # By the year they happened: the same figure as the HR statistics' year total (published,
    # so it never moves), and how many of them are anonymised now.
    dialect = db.engine.dialect.name
    year_of = func.substr(tally.month_of(Incident.occurred_at, dialect, zone), 1, 4)
    published_end = datetime(period.end.year, period.end.month, 1, tzinfo=ZoneInfo(zone))
    anonymised: dict[str, int] = dict(
        db.session.execute(
            select(year_of, func.count())
            .where(
                Incident.status == IncidentStatus.SUBMITTED,
                Incident.anonymised_at.is_not(None),
                Incident.occurred_at < published_end,
                tally.reported_in_time(dialect, zone, config["STATS_PUBLISH_DELAY_DAYS"]),
            )
            .group_by(year_of)
        ).all()
    )
    held_figures: dict[str, disclosure.Figure] = {}
    held_labels: dict[str, str] = {}
    for year in sorted(y for y in queries.years_with_data() if y <= period.year):
        whole = Period.of_year(year, period.end)
        if whole is None:
            continue
        held_figures[str(year)] = figures.year_total(whole)
        held_figures[f"{year}:anonymised"] = disclosure.count(int(anonymised.get(str(year), 0)), k)
        held_labels[str(year)] = str(year)
        held_labels[f"{year}:anonymised"] = str(_l("%(year)s, of which anonymised", year=year))
    on_hold = (
        db.session.scalar(select(func.count()).select_from(Incident).where(Incident.legal_hold))
        or 0
    )

    ban = cast(AftercareStep.outcomes, String).like('%"building_ban"%')
    expired = cast(AftercareStep.details, String).like('%"expired": true%') | cast(
        AftercareStep.details, String
    ).like('%"expired":true%')
    measures = db.session.execute(
        select(
            func.sum(case((ban & ~expired, 1), else_=0)),
            func.sum(case((ban & expired, 1), else_=0)),
        ).where(
            AftercareStep.kind == "perpetrator_response", AftercareStep.status == StepStatus.DONE
        )
    ).one()

    held_figures["on_hold"] = disclosure.count(on_hold, k)
    held_labels["on_hold"] = str(_l("On legal hold now"))
    return [
        Shown(
            "access",
            str(_l("Views and exports by role")),
            disclosure.table(access_raw, list(ACCESS_ACTIONS), roles, k),
            str(_l("What")),
            {a: str(label) for a, label in ACCESS_ACTIONS.items()},
            column_labels={r.value: str(label) for r, label in ROLE_LABELS.items()},
        ),
        Shown(
            "events",
            str(_l("Retention, legal holds and failed logins")),
            disclosure.series(events_raw, list(EVENTS), k),
            str(_l("Event")),
            {a: str(label) for a, label in EVENTS.items()},
            value_label=str(_l("Number")),
        ),
        Shown(
            "held",
            str(_l("Incidents held, by year they happened")),
            disclosure.Series(tuple(held_figures), held_figures, disclosure.Figure(None)),
            str(_l("Year")),
            held_labels,
            value_label=str(_l("Incidents")),
            note=str(_l("A year counts as in the HR statistics.")),
        ),
        Shown(
            "measures",
            str(_l("Building bans")),
            disclosure.series(
                {"active": int(measures[0] or 0), "expired": int(measures[1] or 0)},
                ["active", "expired"],
                k,
            ),
            str(_l("Measure")),
            {"active": str(_l("Active")), "expired": str(_l("Expired"))},
            value_label=str(_l("Number")),
        ),
    ]
