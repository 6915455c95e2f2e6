"""Read-only aggregate queries for the statistics: every figure is a GROUP BY in SQL over
indexed columns; no incident row is ever loaded into Python. The results are raw counts:
they go through `disclosure` before anyone sees them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    ConversationCount,
    Incident,
    IncidentStatus,
    IncidentTypeRow,
    StepStatus,
    Team,
    User,
)


@dataclass(frozen=True)
class Period:
    """A fixed period: a year or a quarter, in the organisation's time zone."""

    key: str  # "2026" or "2026-Q2"
    start: date
    end: date  # exclusive

    @staticmethod
    def month(key: str) -> date | None:
        """The first day of a month given as "YYYY-MM"; None for anything else."""
        if len(key) != 7 or key[4] != "-" or not (key[:4] + key[5:]).isdigit():
            return None
        year, month = int(key[:4]), int(key[5:])
        return date(year, month, 1) if 2000 <= year <= 2100 and 1 <= month <= 12 else None

    @classmethod
    def of_year(cls, year: int) -> Period:
        return cls(str(year), date(year, 1, 1), date(year + 1, 1, 1))

    @classmethod
    def parse(cls, key: str) -> Period | None:
        """ "2026" or "2026-Q1".."2026-Q4"; None for anything else."""
        try:
            if len(key) == 4 and key.isdigit():
                year = int(key)
                return (
                    cls(key, date(year, 1, 1), date(year + 1, 1, 1))
                    if 2000 <= year <= 2100
                    else None
                )
            if len(key) == 7 and key[4:6] == "-Q" and key[:4].isdigit() and key[6] in "1234":
                year, quarter = int(key[:4]), int(key[6])
                if not 2000 <= year <= 2100:
                    return None
                start = date(year, 3 * quarter - 2, 1)
                end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
                return cls(key, start, end)
        except ValueError:
            return None
        return None

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """The period as UTC moments."""
        tz = ZoneInfo(zone)
        return (
            datetime(self.start.year, self.start.month, 1, tzinfo=tz).astimezone(UTC),
            datetime(self.end.year, self.end.month, 1, tzinfo=tz).astimezone(UTC),
        )

    def months(self) -> list[str]:
        """The months of the period as "YYYY-MM"."""
        keys, current = [], self.start
        while current < self.end:
            keys.append(f"{current.year:04d}-{current.month:02d}")
            current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
        return keys


def _in_period(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        Incident.status == IncidentStatus.SUBMITTED,
        Incident.occurred_at >= start,
        Incident.occurred_at < end,
    )


def _month_of(column: Any, zone: str) -> Any:
    """ "YYYY-MM" of a moment, in SQL: in the organisation's zone on PostgreSQL; SQLite (the
    embedded development database) has no time zones and uses UTC."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone(zone, column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _hours_between(later: Any, earlier: Any) -> Any:
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _contains(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list column holds `value` (portable: the list's text contains it quoted)."""
    return cast(column, String).like(f'%"{value}"%')


def incident_total(start: datetime, end: datetime) -> int:
    return db.session.scalar(select(func.count(Incident.id)).where(_in_period(start, end))) or 0


def by_dimension(dimension: str, start: datetime, end: datetime) -> dict[tuple[str, str], int]:
    """Incidents counted by (dimension value, level): dimension is type, channel, level or team."""
    level = func.coalesce(Incident.level, 0)
    query: Any
    if dimension == "type":
        query = (
            select(IncidentTypeRow.type, level, func.count())
            .join(Incident, Incident.id == IncidentTypeRow.incident_id)
            .where(_in_period(start, end))
            .group_by(IncidentTypeRow.type, level)
        )
    else:
        column = {"channel": Incident.channel, "level": level, "team": Incident.team_id}[dimension]
        query = (
            select(column, level, func.count())
            .where(_in_period(start, end))
            .group_by(column, level)
        )
    result: dict[tuple[str, str], int] = {}
    for key, lvl, n in db.session.execute(query):
        name = key.value if hasattr(key, "value") else str(key if key is not None else "none")
        result[(name, str(lvl))] = result.get((name, str(lvl)), 0) + n
    return result


def by_month(start: datetime, end: datetime, zone: str) -> dict[str, int]:
    month = _month_of(Incident.occurred_at, zone)
    rows = db.session.execute(
        select(month, func.count()).where(_in_period(start, end)).group_by(month)
    )
    return {str(m): n for m, n in rows}


def step_outcomes(
    kind: str, outcomes: Sequence[str], start: datetime, end: datetime
) -> dict[str, int]:
    """How many decided steps of a kind recorded each outcome (one query for all outcomes)."""
    columns = [func.sum(case((_contains(AftercareStep.outcomes, o), 1), else_=0)) for o in outcomes]
    row = db.session.execute(
        select(func.count(AftercareStep.id), *columns)
        .join(Incident, Incident.id == AftercareStep.incident_id)
        .where(
            _in_period(start, end),
            AftercareStep.kind == kind,
            AftercareStep.status == StepStatus.DONE,
        )
    ).one()
    return {
        "decided": row[0] or 0,
        **{o: int(v or 0) for o, v in zip(outcomes, row[1:], strict=True)},
    }


def police_outcomes_known(start: datetime, end: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count(AftercareStep.id))
            .join(Incident, Incident.id == AftercareStep.incident_id)
            .where(
                _in_period(start, end),
                AftercareStep.kind == "police_report",
                cast(AftercareStep.details, String).like('%"police_outcome"%'),
            )
        )
        or 0
    )


def on_time(start: datetime, end: datetime, now: datetime) -> tuple[int, int]:
    """(steps done by their deadline, steps that are due or done): aftercare on time."""
    due_or_done = (AftercareStep.status == StepStatus.DONE) | (
        (AftercareStep.status == StepStatus.OPEN) & (AftercareStep.due_at < now)
    )
    in_time = (AftercareStep.status == StepStatus.DONE) & (
        AftercareStep.done_at <= AftercareStep.due_at
    )
    row = db.session.execute(
        select(func.sum(case((in_time, 1), else_=0)), func.count(AftercareStep.id))
        .join(Incident, Incident.id == AftercareStep.incident_id)
        .where(_in_period(start, end), due_or_done)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def first_contact_hours(start: datetime, end: datetime) -> tuple[int, float | None]:
    """(number of contacts held, their median hours after the incident), computed in SQL."""
    hours = _hours_between(AftercareStep.done_at, Incident.occurred_at)
    base = (
        select(hours.label("h"))
        .join(Incident, Incident.id == AftercareStep.incident_id)
        .where(
            _in_period(start, end),
            AftercareStep.kind == "contact",
            AftercareStep.status == StepStatus.DONE,
            AftercareStep.repeat_of_id.is_(None),
        )
    )
    n = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    if n == 0:
        return 0, None
    if db.engine.dialect.name == "postgresql":
        median = db.session.scalar(
            select(func.percentile_cont(0.5).within_group(hours))
            .select_from(AftercareStep)
            .join(Incident, Incident.id == AftercareStep.incident_id)
            .where(
                _in_period(start, end),
                AftercareStep.kind == "contact",
                AftercareStep.status == StepStatus.DONE,
                AftercareStep.repeat_of_id.is_(None),
            )
        )
        return n, float(median) if median is not None else None
    ordered = base.order_by(hours).limit(2 - n % 2).offset((n - 1) // 2)
    middle = [float(v) for v in db.session.scalars(ordered)]
    return n, sum(middle) / len(middle)


def conversations(start: date, end: date) -> dict[str, int]:
    """Client conversations in the period, by channel."""
    rows = db.session.execute(
        select(ConversationCount.channel, func.sum(ConversationCount.count))
        .where(ConversationCount.month >= start, ConversationCount.month < end)
        .group_by(ConversationCount.channel)
    )
    return {channel.value: int(total or 0) for channel, total in rows}


def units() -> tuple[dict[int, int], dict[int, int | None], dict[int, Team]]:
    """Teams with their number of active members and parents (a small table, one query each)."""
    teams = {t.id: t for t in db.session.scalars(select(Team))}
    sizes = dict.fromkeys(teams, 0)
    for team_id, n in db.session.execute(
        select(User.team_id, func.count())
        .where(User.active, User.team_id.is_not(None))
        .group_by(User.team_id)
    ):
        if team_id is not None:
            sizes[team_id] = n
    parents = {t.id: t.parent_id for t in teams.values()}
    return sizes, parents, teams


def years_with_data() -> list[int]:
    first, last = db.session.execute(
        select(func.min(Incident.occurred_at), func.max(Incident.occurred_at)).where(
            Incident.status == IncidentStatus.SUBMITTED
        )
    ).one()
    if first is None or last is None:
        return []
    return list(range(last.year, first.year - 1, -1))
