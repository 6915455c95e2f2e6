"""The data protection officer's yearly overview: aggregate counts from the audit trail and the
data held, through the same disclosure control as the HR statistics, over the same published
quarters in the organisation's time zone; and how many statistics requests each HR user made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, select

from incidents.extensions import db
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
from incidents.stats import disclosure, tally
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
    """The overview's tables for the published quarters of a year."""
    k = current_app.config["STATS_MIN_CELL"]
    zone = current_app.config["ORG_TIMEZONE"]
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

    # Held now, by the year they happened in the organisation's time zone, over the published
    # quarters only and counted as the HR statistics count them (reported in time).
    dialect = db.engine.dialect.name
    year_of = func.substr(tally.month_of(Incident.occurred_at, dialect, zone), 1, 4)
    published_end = datetime(period.end.year, period.end.month, 1, tzinfo=ZoneInfo(zone))
    held_raw: dict[str, int] = {}
    for held_year, anonymised, n in db.session.execute(
        select(year_of, Incident.anonymised_at.is_not(None), func.count())
        .where(
            Incident.status == IncidentStatus.SUBMITTED,
            Incident.occurred_at < published_end,
            tally.reported_in_time(dialect, zone, current_app.config["STATS_PUBLISH_DELAY_DAYS"]),
        )
        .group_by(year_of, Incident.anonymised_at.is_not(None))
    ):
        key = f"{held_year}{' (anonymised)' if anonymised else ''}"
        held_raw[key] = held_raw.get(key, 0) + n
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

    held_keys = sorted(held_raw)
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
            disclosure.series({**held_raw, "on_hold": on_hold}, [*held_keys, "on_hold"], k),
            str(_l("Year")),
            {
                **{
                    key: key.replace(" (anonymised)", f" ({_l('anonymised')})") for key in held_keys
                },
                "on_hold": str(_l("On legal hold now")),
            },
            value_label=str(_l("Incidents")),
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
