"""Read-only queries for the statistics. Counts come from the running counts in `stat_tally`
(see `tally`), summed in SQL over the months of a period, so a page costs the same however
many incidents there are; only what depends on the clock is counted live. The results are
raw counts: they go through `disclosure` before anyone sees them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    ConversationCount,
    Incident,
    IncidentStatus,
    StatTally,
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


@dataclass
class Counts:
    """The statistics' running counts of one period, summed over its months (raw counts:
    they go through `disclosure` before anyone sees them)."""

    cells: dict[tuple[str, str, int], int]  # (measure, key, level) -> count
    months: dict[str, int]  # "YYYY-MM" -> incidents

    def by(self, measure: str) -> dict[tuple[str, str], int]:
        """Incidents by (key, level) for "team", "channel" or "type"; "level" gives
        (level, level)."""
        if measure == "level":
            return {(lvl, lvl): n for lvl, n in self.levels().items()}
        return {(key, str(level)): n for (m, key, level), n in self.cells.items() if m == measure}

    def levels(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for (measure, _, level), n in self.cells.items():
            if measure == "channel":
                result[str(level)] = result.get(str(level), 0) + n
        return result

    def total(self) -> int:
        return sum(n for (measure, _, _), n in self.cells.items() if measure == "channel")

    def one(self, measure: str, key: str = "") -> int:
        return self.cells.get((measure, key, 0), 0)

    def outcomes(self, kind: str, outcomes: Sequence[str]) -> dict[str, int]:
        """How many decided steps of a kind recorded each outcome."""
        return {
            "decided": self.one("decided", kind),
            **{o: self.one("outcome", f"{kind}:{o}") for o in outcomes},
        }

    def first_contact(self) -> tuple[int, float | None]:
        """(contacts held, their median hours after the incident), from tenths of hours."""
        tenths = sorted(
            (int(key), n)
            for (measure, key, _), n in self.cells.items()
            if measure == "first_contact" and n > 0
        )
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


MEASURES = (
    "team",
    "channel",
    "type",
    "decided",
    "outcome",
    "police_known",
    "done",
    "done_on_time",
    "first_contact",
    "open_due",
)


def counts(period: Period, measures: Sequence[str] = MEASURES) -> Counts:
    """The running counts of a period: two aggregate queries over `stat_tally`, each reading
    only the rows of the measures asked for (the key starts with the measure), whatever the
    number of incidents."""
    months = period.months()
    wanted = and_(
        StatTally.measure.in_(list(measures)),
        StatTally.month >= months[0],
        StatTally.month <= months[-1],
    )
    total = func.sum(StatTally.count)
    cells = {
        (measure, key, level): int(n)
        for measure, key, level, n in db.session.execute(
            select(StatTally.measure, StatTally.key, StatTally.level, total)
            .where(wanted)
            .group_by(StatTally.measure, StatTally.key, StatTally.level)
        )
        if n
    }
    by_month = {
        month: int(n)
        for month, n in db.session.execute(
            select(StatTally.month, total)
            .where(
                StatTally.measure == "channel",
                StatTally.month >= months[0],
                StatTally.month <= months[-1],
            )
            .group_by(StatTally.month)
        )
        if n
    }
    return Counts(cells, by_month)


def on_time(period: Period, found: Counts, now: datetime, zone: str) -> tuple[int, int]:
    """(steps done by their deadline, steps that are due or done): aftercare on time.

    Open steps count as due once their deadline has passed. The running counts hold open
    steps by the day of their deadline: the days before today are past; only today's are
    looked at one by one (the open steps due since midnight, found by their index)."""
    today = now.astimezone(UTC).date()
    overdue = sum(
        n
        for (measure, key, _), n in found.cells.items()
        if measure == "open_due" and key < today.isoformat()
    )
    start, end = period.bounds(zone)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    # Today's open steps first, from their index, materialised so that no planner turns
    # the count into a scan of the period's incidents; then their incidents by key.
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
    overdue += (
        db.session.scalar(
            select(func.count())
            .select_from(due_today)
            .join(Incident, Incident.id == due_today.c.incident_id)
            .where(
                Incident.status == IncidentStatus.SUBMITTED,
                Incident.occurred_at >= start,
                Incident.occurred_at < end,
            )
        )
        or 0
    )
    return found.one("done_on_time"), found.one("done") + overdue


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
        select(func.min(StatTally.month), func.max(StatTally.month)).where(
            StatTally.measure == "channel", StatTally.count > 0
        )
    ).one()
    if first is None or last is None:
        return []
    return list(range(int(last[:4]), int(first[:4]) - 1, -1))
