"""Read-only queries for the statistics. Incident counts of published months come from
`stat_published` (frozen when the month closed), what the aftercare and the evidence added
since from the running counts in `stat_tally` (see `tally`), summed in SQL per month and key,
so a page costs the same however many incidents there are; only what depends on the clock is
counted live. The results are raw counts: they go through `disclosure` before anyone sees
them."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import (
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AlarmEvent,
    ConversationCount,
    Incident,
    IncidentStatus,
    Measure,
    MeasureState,
    StatPublication,
    StatPublished,
    StatTally,
    StatVersion,
    StepStatus,
    Team,
    TeamMembership,
)
from incidents.stats.memo import memo
from incidents.stats.periods import Period, add_months
from incidents.stats.tally import month_of, reported_in_time

Row = tuple[str, str, str, int]  # measure, month, key, level

# Read live from the running counts (for the published incidents): what is added after the
# incident was reported, by the aftercare or as evidence.
STEP_MEASURES = (
    "decided",
    "outcome",
    "police_known",
    "done",
    "done_on_time",
    "first_contact",
    "open_due",
    "evidence",
    "evidence_police",
)


@dataclass
class Counts:
    """Raw counts by (measure, month, key, level) over some months."""

    cells: dict[Row, int]
    # Measures summed over all the months read (first contacts, open steps by deadline day).
    whole: dict[tuple[str, str], int] = field(default_factory=dict)
    # What they were read from, when that says all of it (`counts`): a key for what is made
    # from them. None: the cells themselves are the key.
    made_from: Hashable | None = None

    def key(self) -> Hashable:
        if self.made_from is not None:
            return self.made_from
        return (frozenset(self.cells.items()), frozenset(self.whole.items()))

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
        """(key, level) -> count over these months (whole quarters: most measures are read by
        quarter)."""
        wanted = _wanted(tuple(months))
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

    def first_contact(self) -> tuple[int, float | None]:
        """(contacts held, their median hours after the incident), from tenths of hours, over
        all the months read."""
        tenths = sorted((int(key), n) for (m, key), n in self.whole.items() if m == "first_contact")
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


# Read summed over all the months asked for, not month by month: only the period needs them.
WHOLE_MEASURES = ("first_contact", "open_due")
# Read month by month (the trend by month); everything else by quarter, the finest any
# figure but the monthly trend needs.
MONTHLY_MEASURES = ("channel",)


@functools.lru_cache(maxsize=256)
def _wanted(months: tuple[str, ...]) -> frozenset[str]:
    """The months and their quarters, as the rows are keyed."""
    return frozenset(months) | {quarter_of(m) for m in months}


def quarter_of(month: str) -> str:
    """ "2025-Q2" for "2025-05"."""
    return f"{month[:4]}-Q{(int(month[5:7]) + 2) // 3}"


def _quarter(month: Any) -> Any:
    """The quarter of a "YYYY-MM" column, in SQL, as `quarter_of` gives it."""
    number = func.substr(month, 6, 2)
    quarter = case(
        (number <= "03", "Q1"), (number <= "06", "Q2"), (number <= "09", "Q3"), else_="Q4"
    )
    return type_coerce(func.substr(month, 1, 5), String) + quarter


def counts(
    months: Sequence[str],
    published: bool = True,
    conversations: dict[tuple[str, str, str], int] | None = None,
    state: State | None = None,
) -> Counts:
    """The published incident counts and the live aftercare counts of these (closed) months,
    which must be whole quarters: a few aggregate queries, each one key range per measure, by
    month for the monthly trend and by quarter for the rest. Incidents by team and channel are
    read only for the teams, channels and months of `conversations` (as `conversations`
    gives them), as the measure "covered" by quarter and "team:channel".

    Published counts never change, and the running counts carry a version that moves with
    every change (`tally.version`): the counts are read once per process for each state of
    both (`memo`), which costs one query (none when the caller read the `state` already).
    `published=False` reads every measure from the running counts (for checks and tests),
    every time."""
    registered = conversations if conversations is not None else {}
    keys = tuple(sorted({f"{team}:{channel}" for team, channel, _ in registered}))
    if not published:
        return _counts(StatTally, months, keys, registered)
    made_from = ("counts", state or publications(), tuple(months), keys, frozenset(registered))

    def read() -> Counts:
        found = _counts(StatPublished, months, keys, registered)
        found.made_from = made_from
        return found

    return memo().get(made_from, read)


def _counts(
    incidents: type[StatPublished] | type[StatTally],
    months: Sequence[str],
    keys: tuple[str, ...],
    registered: dict[tuple[str, str, str], int],
) -> Counts:
    cells, covered = _incident_counts(incidents, months, keys)
    steps = [m for m in STEP_MEASURES if m not in WHOLE_MEASURES]
    cells.update(_sums(StatTally, steps, months, monthly=False))
    # Covered: team and channel cells whose team, channel and month registered conversations
    # (read for those teams and channels only, then matched by month).
    for month, key, n in covered:
        team, _, channel = key.partition(":")
        if (team, channel, month) in registered:
            cell = ("covered", quarter_of(month), key, 0)
            cells[cell] = cells.get(cell, 0) + n
    whole: dict[tuple[str, str], int] = {}
    total = func.sum(StatTally.count)
    for measure, key, n in db.session.execute(
        select(StatTally.measure, StatTally.key, total)
        .where(
            StatTally.measure.in_(WHOLE_MEASURES),
            StatTally.month >= min(months),
            StatTally.month <= max(months),
        )
        .group_by(StatTally.measure, StatTally.key)
    ):
        if n:
            whole[(measure, key)] = int(n)
    return Counts(cells, whole)


State = tuple[int, str | None, datetime | None, int]


def publications() -> State:
    """What the counts were read from: how many months are published, the last one, when it
    was published, and the version of the running counts (`tally.version`)."""
    count, last, at, changes = db.session.execute(_publications()).one()
    return int(count), last, at, int(changes or 0)


@functools.cache
def _publications() -> Any:
    return select(
        func.count(),
        func.max(StatPublication.month),
        func.max(StatPublication.published_at),
        select(StatVersion.changes).where(StatVersion.id == 1).scalar_subquery(),
    )


def _incident_counts(
    model: type[StatPublished] | type[StatTally], months: Sequence[str], keys: Sequence[str]
) -> tuple[dict[Row, int], list[tuple[str, str, int]]]:
    """The incident measures of these months (by month for the trend, by quarter for the
    rest), and the (month, "team:channel", count) of these keys."""
    cells = {
        **_sums(model, list(MONTHLY_MEASURES), months, monthly=True),
        **_sums(model, ["team", "type"], months, monthly=False),
    }
    covered: list[tuple[str, str, int]] = []
    if keys:
        covered = [
            (month, key, int(n))
            for month, key, n in db.session.execute(
                select(model.month, model.key, func.sum(model.count))
                .where(
                    model.measure == "team_channel",
                    model.month >= min(months),
                    model.month <= max(months),
                    model.key.in_(keys),
                )
                .group_by(model.month, model.key)
            )
            if n
        ]
    return cells, covered


def _sums(
    model: type[StatPublished] | type[StatTally],
    measures: list[str],
    months: Sequence[str],
    monthly: bool,
) -> dict[Row, int]:
    """(measure, month or quarter, key, level) -> count over these months."""
    when = model.month if monthly else _quarter(model.month)
    cells: dict[Row, int] = {}
    for measure, month, key, level, n in db.session.execute(
        select(model.measure, when, model.key, model.level, func.sum(model.count))
        .where(model.measure.in_(measures), model.month >= min(months), model.month <= max(months))
        .group_by(model.measure, when, model.key, model.level)
    ):
        if n:
            cells[(measure, month, key, int(level))] = int(n)
    return cells


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
    statement = _due_today(db.engine.dialect.name, zone, config["STATS_PUBLISH_DELAY_DAYS"])
    found = db.session.scalar(
        statement, {"midnight": midnight, "now": now, "start": start, "end": end}
    )
    return found or 0


@functools.lru_cache(maxsize=8)
def _due_today(dialect: str, zone: str, delay_days: int) -> Any:
    """`open_due_today`'s statement, built once: the moments are bound when it runs."""
    due_today = (
        select(AftercareStep.incident_id)
        .where(
            AftercareStep.status == StepStatus.OPEN,
            AftercareStep.due_at >= bindparam("midnight"),
            AftercareStep.due_at < bindparam("now"),
        )
        .cte("due_today")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(func.count())
        .select_from(due_today)
        .join(Incident, Incident.id == due_today.c.incident_id)
        .where(
            Incident.status == IncidentStatus.SUBMITTED,
            Incident.occurred_at >= bindparam("start"),
            Incident.occurred_at < bindparam("end"),
            reported_in_time(dialect, zone, delay_days),
        )
    )


def on_time(period: Period, found: Counts, now: datetime) -> tuple[int, int]:
    """(steps done by their deadline, steps that are due or done): aftercare on time, with
    `found` read for the period's months. Open steps count as due once their deadline has
    passed."""
    months = period.months()
    today = now.astimezone(UTC).date().isoformat()
    overdue = sum(n for (m, key), n in found.whole.items() if m == "open_due" and key < today)
    overdue += open_due_today(period, now)
    return found.one("done_on_time", months), found.one("done", months) + overdue


def conversations(
    months: Sequence[str], state: State | None = None
) -> dict[tuple[str, str, str], int]:
    """Client conversations in these months by (team id, channel, "YYYY-MM"): read once per
    process and version (`tally.changed` is raised when they change)."""
    return memo().get(
        ("conversations", state or publications(), tuple(months)),
        lambda: _sum_conversations(months),
    )


def _sum_conversations(months: Sequence[str]) -> dict[tuple[str, str, str], int]:
    first = datetime.strptime(min(months), "%Y-%m").date()
    last = datetime.strptime(max(months), "%Y-%m").date()
    channel = type_coerce(ConversationCount.channel, String)  # the stored value, as it is
    month = func.substr(cast(ConversationCount.month, String), 1, 7)
    rows = db.session.execute(
        select(ConversationCount.team_id, channel, month, func.sum(ConversationCount.count))
        .where(ConversationCount.month >= first, ConversationCount.month <= last)
        .group_by(ConversationCount.team_id, channel, month)
    )
    return {(str(team), kind, key): int(total) for team, kind, key, total in rows if total}


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


def years_with_data(state: State | None = None) -> list[int]:
    """The years with published counts, newest first (published rows are never zero). Read
    once per state of the publications: published rows come only with a publication, and
    are never changed or deleted."""
    published = (state or publications())[:3]
    return list(memo().get(("years", published), _years_with_data))


def _years_with_data() -> tuple[int, ...]:
    first, last = db.session.execute(
        select(func.min(StatPublished.month), func.max(StatPublished.month)).where(
            StatPublished.measure == "channel"
        )
    ).one()
    if first is None or last is None:
        return ()
    return tuple(range(int(last[:4]), int(first[:4]) - 1, -1))


def alarms(months: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Alarm button events by quarter of these months: (alarms, those whose report was
    completed before the alarm's month was published). Counted live from the alarms (far fewer
    than incidents; by the index on the moment), so a draft completed late, or discarded, counts
    the same before and after: once a month is published its figures no longer move."""
    config = current_app.config
    zone, delay = config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"]
    first, last = Period.month(min(months)), Period.month(max(months))
    if first is None or last is None:
        return {}
    start, end = Period("", first, add_months(last, 1)).bounds(zone)
    statement = _alarms(db.session.get_bind().dialect.name, zone, delay)
    found: dict[str, tuple[int, int]] = {}
    for month_key, n, reported in db.session.execute(statement, {"start": start, "end": end}):
        if month_key in months:
            quarter = quarter_of(month_key)
            total, done = found.get(quarter, (0, 0))
            found[quarter] = (total + int(n), done + int(reported or 0))
    return found


@functools.lru_cache(maxsize=8)
def _alarms(dialect: str, zone: str, delay_days: int) -> Any:
    """`alarms`' statement, built once: the moments are bound when it runs."""
    month = month_of(AlarmEvent.triggered_at, dialect, zone)
    completed = (Incident.status == IncidentStatus.SUBMITTED) & reported_in_time(
        dialect, zone, delay_days, AlarmEvent.triggered_at, Incident.submitted_at
    )
    return (
        select(month, func.count(), func.sum(case((completed, 1), else_=0)))
        .select_from(AlarmEvent)
        .outerjoin(Incident, Incident.id == AlarmEvent.incident_id)
        .where(
            AlarmEvent.triggered_at >= bindparam("start"),
            AlarmEvent.triggered_at < bindparam("end"),
        )
        .group_by(month)
    )


# Measures that count: fully approved (in force from their start date through their end
# date, whatever the stored state says), and those that have ended. Proposed measures never
# took effect and withdrawn ones never were in force.
COUNTED_MEASURES = (MeasureState.APPROVED, MeasureState.IN_FORCE, MeasureState.ENDED)


def _month_of_day(column: Any) -> Any:
    """ "YYYY-MM" of a date column, in SQL (both databases write a date as "YYYY-MM-DD")."""
    return func.substr(cast(column, String), 1, 7)


def measures(months: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """Measures against perpetrators in force on any day of these months, by (kind, month of
    the start date, month of the end date): enough to count, for any period of whole months,
    those that started in it and those in force on at least one of its days. Counted live
    from the register (a few rows a month): a closed month's measures no longer change, as
    none starts in the past and none ends before yesterday (`services.measures`)."""
    first, last = Period.month(min(months)), Period.month(max(months))
    if first is None or last is None:
        return {}
    rows = db.session.execute(_measures(), {"before": add_months(last, 1), "first": first})
    return {(kind, start, end): int(n) for kind, start, end, n in rows if n}


@functools.cache
def _measures() -> Any:
    """`measures`' statement, built once: the days are bound when it runs."""
    starts, ends = _month_of_day(Measure.starts_on), _month_of_day(Measure.ends_on)
    return (
        select(Measure.kind, starts, ends, func.count())
        .where(
            Measure.state.in_(COUNTED_MEASURES),
            Measure.starts_on < bindparam("before"),
            Measure.ends_on >= bindparam("first"),
        )
        .group_by(Measure.kind, starts, ends)
    )


def measure_kinds() -> tuple[str, ...]:
    """Every kind the register holds a measure of, ever: the rows of the measures table
    beside the protocol's kinds do not depend on the period (a kind removed from the protocol
    keeps its row while measures of it are held)."""
    return tuple(sorted(db.session.scalars(_measure_kinds())))


@functools.cache
def _measure_kinds() -> Any:
    return select(Measure.kind).distinct()


def _scope_keys(
    measure: str, teams: frozenset[int], channels: frozenset[str], locations: frozenset[int]
) -> Any:
    """Whether a key of `measure` ("team:channel", or "location:team:channel" for "place") is
    in the scope: each part unrestricted when its set is empty."""
    team_names = {str(team) for team in teams}

    def matches(key: str) -> bool:
        parts = key.split(":")
        if measure == "place":
            location, team, channel = parts
            if locations and not (location.isdigit() and int(location) in locations):
                return False
        else:
            team, channel = parts
        return (not team_names or team in team_names) and (not channels or channel in channels)

    return matches


def in_scope(
    months: Sequence[str],
    teams: frozenset[int],
    channels: frozenset[str],
    locations: frozenset[int],
) -> dict[str, tuple[int, int]]:
    """For each month ("YYYY-MM") asked: (incidents in the scope, all incidents), raw counts
    for an organisational measure's comparison (they go through `disclosure` before anyone
    sees them). In the scope: (no teams given or the incident's team is one of them) and (no
    channels given or its channel is one of them) and (no locations given or its registered
    location is one of them); an empty scope is every incident.

    A published month is read from its frozen counts (`stat_published`, as `counts` reads
    them), any other from the running counts, and both numbers from the same month's rows:
    "team_channel" when no location is given, "place" (with all from "team_channel")
    otherwise, so the scope is never more than all. Three queries whatever the period: the
    months published, the keys there are, and one sum by month."""
    months = sorted(set(months))
    if not months:
        return {}
    measure = "place" if locations else "team_channel"
    published = sorted(
        db.session.scalars(select(StatPublication.month).where(StatPublication.month.in_(months)))
    )
    live = [m for m in months if m not in published]

    def rows(model: type[StatPublished] | type[StatTally], of: list[str]) -> Any:
        return select(model.measure, model.month, model.key, model.count).where(
            model.measure.in_(sorted({measure, "team_channel"})), model.month.in_(of)
        )

    parts = [rows(model, of) for model, of in ((StatPublished, published), (StatTally, live)) if of]
    counted = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    all_rows = counted.c.measure == "team_channel"
    if not (teams or channels or locations):
        scope_rows: ColumnElement[bool] | None = all_rows
    else:
        matches = _scope_keys(measure, teams, channels, locations)
        keys = db.session.scalars(
            select(counted.c.key).where(counted.c.measure == measure).distinct()
        )
        matching = sorted(key for key in keys if matches(key))
        scope_rows = (
            (counted.c.measure == measure) & counted.c.key.in_(matching) if matching else None
        )
    total = func.sum(case((all_rows, counted.c.count), else_=0))
    inside = (
        func.sum(case((scope_rows, counted.c.count), else_=0))
        if scope_rows is not None
        else literal(0)
    )
    found = {month: (0, 0) for month in months}
    for month, everyone, scoped in db.session.execute(
        select(counted.c.month, total, inside).group_by(counted.c.month)
    ):
        everyone = int(everyone or 0)
        # A month published before "place" was counted has its places from the upgrade
        # (`tally`): an incident moved into it since may count in its place but not in all.
        found[month] = (min(int(scoped or 0), everyone), everyone)
    return found
