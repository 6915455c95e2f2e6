"""Read-only queries for the statistics. Incident counts of published months come from
`stat_published` (frozen when the month closed), what the aftercare added since from the
running counts in `stat_tally` (see `tally`), summed in SQL per month and key, so a page costs
the same however many incidents there are; only what depends on the clock is counted live. The
results are raw counts: they go through `disclosure` before anyone sees them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import and_, func, or_, select

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    ConversationCount,
    Incident,
    IncidentStatus,
    StatPublished,
    StatTally,
    StepStatus,
    Team,
    TeamMembership,
)
from incidents.services.statistics import FROZEN_MEASURES
from incidents.stats.periods import Period, month_key
from incidents.stats.tally import reported_in_time

Row = tuple[str, str, str, int]  # measure, month, key, level

STEP_MEASURES = (
    "decided",
    "outcome",
    "police_known",
    "done",
    "done_on_time",
    "first_contact",
    "open_due",
)


@dataclass
class Counts:
    """Raw counts by (measure, month, key, level) over some months."""

    cells: dict[Row, int]

    def __post_init__(self) -> None:
        # By measure once, so each figure reads only its measure's rows.
        self._measures: dict[str, list[tuple[str, str, int, int]]] = {}
        for (measure, month, key, level), n in self.cells.items():
            self._measures.setdefault(measure, []).append((month, key, level, n))
        self._months: dict[str, dict[str, int]] = {}

    def rows(self, measure: str) -> list[tuple[str, str, int, int]]:
        """(month, key, level, count) of one measure."""
        return self._measures.get(measure, [])

    def by(self, measure: str, months: Sequence[str]) -> dict[tuple[str, int], int]:
        """(key, level) -> count over these months."""
        wanted = set(months)
        result: dict[tuple[str, int], int] = {}
        for month, key, level, n in self.rows(measure):
            if month in wanted:
                result[(key, level)] = result.get((key, level), 0) + n
        return result

    def one(self, measure: str, months: Sequence[str], key: str = "") -> int:
        return self.by(measure, months).get((key, 0), 0)

    def months(self, measure: str = "channel") -> dict[str, int]:
        if measure not in self._months:
            result: dict[str, int] = {}
            for month, _, _, n in self.rows(measure):
                result[month] = result.get(month, 0) + n
            self._months[measure] = result
        return self._months[measure]

    def first_contact(self, months: Sequence[str]) -> tuple[int, float | None]:
        """(contacts held, their median hours after the incident), from tenths of hours."""
        tenths = sorted((int(key), n) for (key, _), n in self.by("first_contact", months).items())
        n = sum(count for _, count in tenths)
        if n == 0:
            return 0, None
        middle = [(n - 1) // 2, n // 2]  # the same place twice when n is odd
        values, seen = [], 0
        for value, count in tenths:
            while middle and middle[0] < seen + count:
                values.append(value)
                middle.pop(0)
            seen += count
        return n, sum(values) / len(values) / 10.0


def counts(months: Sequence[str], published: bool = True) -> Counts:
    """The published incident counts and the live aftercare counts of these (closed) months:
    two aggregate queries, each one key range per measure. `published=False` reads every
    measure from the running counts (for checks and tests)."""
    cells: dict[Row, int] = {}
    sources = (
        ((StatPublished, FROZEN_MEASURES), (StatTally, STEP_MEASURES))
        if published
        else ((StatTally, (*FROZEN_MEASURES, *STEP_MEASURES)),)
    )
    for model, measures in sources:
        total = func.sum(model.count)
        for measure, month, key, level, n in db.session.execute(
            select(model.measure, model.month, model.key, model.level, total)
            .where(
                model.measure.in_(list(measures)),
                model.month >= min(months),
                model.month <= max(months),
            )
            .group_by(model.measure, model.month, model.key, model.level)
        ):
            if n:
                cells[(measure, month, key, int(level))] = int(n)
    return Counts(cells)


def open_due_today(period: Period, now: datetime) -> int:
    """Open steps of the period's (published) incidents that fell due today before `now`.

    The running counts hold open steps by the day of their deadline; only today's are looked
    at one by one, from their index, materialised so that no planner turns the count into a
    scan of the period's incidents."""
    config = current_app.config
    zone = config["ORG_TIMEZONE"]
    today = now.astimezone(UTC).date()
    start, end = period.bounds(zone)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    due_today = (
        select(AftercareStep.incident_id)
        .where(
            AftercareStep.status == StepStatus.OPEN,
            AftercareStep.due_at >= midnight,
            AftercareStep.due_at < now,
        )
        .cte("due_today")
        .prefix_with("MATERIALIZED")
    )
    return (
        db.session.scalar(
            select(func.count())
            .select_from(due_today)
            .join(Incident, Incident.id == due_today.c.incident_id)
            .where(
                Incident.status == IncidentStatus.SUBMITTED,
                Incident.occurred_at >= start,
                Incident.occurred_at < end,
                reported_in_time(db.engine.dialect.name, zone, config["STATS_PUBLISH_DELAY_DAYS"]),
            )
        )
        or 0
    )


def on_time(period: Period, found: Counts, now: datetime) -> tuple[int, int]:
    """(steps done by their deadline, steps that are due or done): aftercare on time.
    Open steps count as due once their deadline has passed."""
    months = period.months()
    today = now.astimezone(UTC).date().isoformat()
    overdue = sum(n for (key, _), n in found.by("open_due", months).items() if key < today)
    overdue += open_due_today(period, now)
    return found.one("done_on_time", months), found.one("done", months) + overdue


def conversations(months: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """Client conversations in these months by (team id, channel, "YYYY-MM")."""
    first = datetime.strptime(min(months), "%Y-%m").date()
    last = datetime.strptime(max(months), "%Y-%m").date()
    rows = db.session.execute(
        select(
            ConversationCount.team_id,
            ConversationCount.channel,
            ConversationCount.month,
            func.sum(ConversationCount.count),
        )
        .where(ConversationCount.month >= first, ConversationCount.month <= last)
        .group_by(ConversationCount.team_id, ConversationCount.channel, ConversationCount.month)
    )
    return {
        (str(team), channel.value, month_key(month)): int(total or 0)
        for team, channel, month, total in rows
        if total
    }


def teams() -> dict[int, Team]:
    return {t.id: t for t in db.session.scalars(select(Team))}


def memberships(
    start: datetime, end: datetime
) -> tuple[dict[int | None, list[tuple[datetime, datetime | None]]], datetime | None]:
    """The membership intervals that overlap [start, end) by team (None: no team), and when
    the history begins (the first membership of anyone)."""
    by_team: dict[int | None, list[tuple[datetime, datetime | None]]] = {}
    for team_id, since, until in db.session.execute(
        select(TeamMembership.team_id, TeamMembership.since, TeamMembership.until).where(
            TeamMembership.since < end,
            or_(TeamMembership.until.is_(None), TeamMembership.until > start),
        )
    ):
        by_team.setdefault(team_id, []).append((since, until))
    begins = db.session.scalar(select(func.min(TeamMembership.since)))
    return by_team, begins


def years_with_data() -> list[int]:
    first, last = db.session.execute(
        select(func.min(StatPublished.month), func.max(StatPublished.month)).where(
            and_(StatPublished.measure == "channel", StatPublished.count > 0)
        )
    ).one()
    if first is None or last is None:
        return []
    return list(range(int(last[:4]), int(first[:4]) - 1, -1))
