"""The data protection officer's yearly overview: aggregate counts from the audit trail and the
data held, through the same disclosure control as the HR statistics, over the same published
years in the organisation's time zone; how many statistics requests each HR user made; and
how many lookups were made at the counter, per team and month (exact: the accountability for
the register's use, not statistics about people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.i18n import lazy_gettext as _l
from incidents.labels import ROLE_LABELS
from incidents.models import (
    AftercareStep,
    AuditAction,
    AuditEvent,
    Incident,
    IncidentStatus,
    MeasureLookup,
    Role,
    StepStatus,
    Team,
    User,
)
from incidents.rules import Outcome, StepKind
from incidents.stats import disclosure, figures, queries, tally
from incidents.stats.figures import Shown
from incidents.stats.periods import Period

STATS_ACTIONS = {
    AuditAction.STATS_VIEW: _l("Statistics pages viewed"),
    AuditAction.STATS_EXPORT: _l("Statistics exported (CSV)"),
    AuditAction.STATS_REPORT: _l("Yearly reports viewed"),
    AuditAction.STATS_REPORT_PDF: _l("Yearly reports downloaded (PDF)"),
}
ACCESS_ACTIONS = {
    AuditAction.INCIDENT_VIEW: _l("Incident pages viewed"),
    AuditAction.INCIDENT_VIEW_EDIT: _l("Incident forms opened"),
    AuditAction.STEP_VIEW: _l("Aftercare steps viewed"),
    **STATS_ACTIONS,
    AuditAction.PRIVACY_ACCESS_EXPORT: _l("Own data downloaded (right of access)"),
}
EVENTS = {
    AuditAction.RETENTION_ANONYMISE: _l("Incidents anonymised (retention)"),
    AuditAction.RETENTION_EXPIRE_MEASURE: _l("Perpetrator measures expired"),
    AuditAction.INCIDENT_LEGAL_HOLD: _l("Legal holds placed"),
    AuditAction.INCIDENT_LEGAL_HOLD_LIFTED: _l("Legal holds lifted"),
    AuditAction.AUTH_LOGIN_FAILED: _l("Failed logins"),
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
    k = current_app.config["STATS_MIN_CELL"]
    in_year = _in_year(period)
    return [
        _access_table(in_year, k),
        _events_table(in_year, k),
        _held_table(period, k),
        _measures_table(k),
    ]


def _in_year(period: Period) -> tuple[ColumnElement[bool], ...]:
    """Audit events within the year, in the organisation's time zone."""
    start, end = period.bounds(current_app.config["ORG_TIMEZONE"])
    return (AuditEvent.at >= start, AuditEvent.at < end)


def _access_table(in_year: tuple[ColumnElement[bool], ...], k: int) -> Shown:
    """Views and exports in the year, by the role of who made them."""
    access_raw: dict[tuple[str, str], int] = {}
    for action, role, n in db.session.execute(
        select(AuditEvent.action, User.role, func.count())
        .join(User, User.id == AuditEvent.actor_id)
        .where(*in_year, AuditEvent.action.in_(list(ACCESS_ACTIONS)))
        .group_by(AuditEvent.action, User.role)
    ):
        access_raw[(action, role.value)] = n
    roles = [r.value for r in Role]
    return Shown(
        "access",
        str(_l("Views and exports by role")),
        disclosure.table(access_raw, list(ACCESS_ACTIONS), roles, k),
        str(_l("What")),
        {a: str(label) for a, label in ACCESS_ACTIONS.items()},
        column_labels={r.value: str(label) for r, label in ROLE_LABELS.items()},
    )


def _events_table(in_year: tuple[ColumnElement[bool], ...], k: int) -> Shown:
    """Retention, legal holds and failed logins in the year."""
    events_raw = dict(
        db.session.execute(
            select(AuditEvent.action, func.count())
            .where(*in_year, AuditEvent.action.in_(list(EVENTS)))
            .group_by(AuditEvent.action)
        ).all()
    )
    return Shown(
        "events",
        str(_l("Retention, legal holds and failed logins")),
        disclosure.series(events_raw, list(EVENTS), k),
        str(_l("Event")),
        {a: str(label) for a, label in EVENTS.items()},
        value_label=str(_l("Count")),
    )


def _held_table(period: Period, k: int) -> Shown:
    """Incidents held, by the year they happened: the same figure as the HR statistics' year
    total (published, so it never moves), how many of them are anonymised now, and how many
    incidents are on legal hold now."""
    anonymised = _anonymised_by_year(period)
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
    held_figures["on_hold"] = disclosure.count(_on_legal_hold(), k)
    held_labels["on_hold"] = str(_l("On legal hold now"))
    return Shown(
        "held",
        str(_l("Incidents held, by year they happened")),
        disclosure.Series(tuple(held_figures), held_figures, disclosure.Figure(None)),
        str(_l("Year")),
        held_labels,
        value_label=str(_l("Incidents")),
        note=str(_l("A year counts as in the HR statistics.")),
    )


def _anonymised_by_year(period: Period) -> dict[str, int]:
    """Anonymised incidents by the year they happened, counted as the HR statistics count
    incidents (reported in time, before the end of the published period)."""
    config = current_app.config
    zone = config["ORG_TIMEZONE"]
    dialect = db.engine.dialect.name
    year_of = func.substr(tally.month_of(Incident.occurred_at, dialect, zone), 1, 4)
    published_end = datetime(period.end.year, period.end.month, 1, tzinfo=ZoneInfo(zone))
    return dict(
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


def _on_legal_hold() -> int:
    """Incidents on legal hold now."""
    return (
        db.session.scalar(select(func.count()).select_from(Incident).where(Incident.legal_hold))
        or 0
    )


def _measures_table(k: int) -> Shown:
    """Building bans now, active and expired (not limited to the year)."""
    ban = _is_building_ban()
    expired = _is_expired()
    measures = db.session.execute(
        select(
            func.sum(case((ban & ~expired, 1), else_=0)),
            func.sum(case((ban & expired, 1), else_=0)),
        ).where(
            AftercareStep.kind == StepKind.PERPETRATOR_RESPONSE,
            AftercareStep.status == StepStatus.DONE,
        )
    ).one()
    return Shown(
        "measures",
        str(_l("Building bans")),
        disclosure.series(
            {"active": int(measures[0] or 0), "expired": int(measures[1] or 0)},
            ["active", "expired"],
            k,
        ),
        str(_l("Measure")),
        {"active": str(_l("Active")), "expired": str(_l("Expired"))},
        value_label=str(_l("Count")),
    )


def _is_building_ban() -> ColumnElement[bool]:
    """In SQL: the step's outcomes include a building ban."""
    return cast(AftercareStep.outcomes, String).like(f'%"{Outcome.BUILDING_BAN}"%')


def _is_expired() -> ColumnElement[bool]:
    """In SQL: the retention run marked the measure as expired."""
    return AftercareStep.measure_expired.is_(True)


# --- lookups at the counter ----------------------------------------------------------------------


@dataclass
class TeamLookups:
    """One team's lookups at the counter, month by month (January first)."""

    team: str  # its name; "" for lookups by someone without a team
    months: list[int]

    @property
    def total(self) -> int:
        return sum(self.months)


@dataclass
class CounterLookups:
    """The lookups at the counter in a year, per team of who looked (their team at the time)
    and per month in the organisation's time zone: exact counts, for the data protection
    officer's accountability (never published as statistics)."""

    months: list[date]  # the first day of each month of the year
    teams: list[TeamLookups]

    @property
    def month_totals(self) -> list[int]:
        return [sum(t.months[i] for t in self.teams) for i in range(len(self.months))]

    @property
    def total(self) -> int:
        return sum(t.total for t in self.teams)


def counter_lookups(year: int, language: str) -> CounterLookups:
    """How many lookups were made at the counter in `year`, per team and month, in one
    aggregate query. The month boundaries are computed here, in the organisation's time zone,
    and compared in SQL (a CASE over UTC moments), the same on SQLite and PostgreSQL."""
    zone = ZoneInfo(current_app.config["ORG_TIMEZONE"])
    firsts = [date(year, month, 1) for month in range(1, 13)]
    bounds = [
        datetime(d.year, d.month, 1, tzinfo=zone).astimezone(UTC)
        for d in [*firsts, date(year + 1, 1, 1)]
    ]
    month = case(*((MeasureLookup.at < bounds[i + 1], i) for i in range(11)), else_=11).label(
        "month"
    )
    # The CASE in a subquery: PostgreSQL would not see that a GROUP BY repeating it, with
    # bound parameters of its own, is the same expression.
    lookups = (
        select(MeasureLookup.team_id.label("team_id"), month)
        .where(MeasureLookup.at >= bounds[0], MeasureLookup.at < bounds[-1])
        .subquery()
    )
    rows = db.session.execute(
        select(lookups.c.team_id, lookups.c.month, func.count()).group_by(
            lookups.c.team_id, lookups.c.month
        )
    ).all()
    team_ids = {team_id for team_id, _month, _n in rows if team_id is not None}
    names = {
        team.id: team.name(language)
        for team in db.session.scalars(select(Team).where(Team.id.in_(team_ids)))
    }
    by_team: dict[int | None, TeamLookups] = {}
    for team_id, index, n in rows:
        entry = by_team.setdefault(
            team_id, TeamLookups(names.get(team_id, "") if team_id else "", [0] * 12)
        )
        entry.months[int(index)] += n
    # By name; lookups by people without a team last.
    teams = sorted(by_team.values(), key=lambda t: (not t.team, t.team.lower()))
    return CounterLookups(months=firsts, teams=teams)
