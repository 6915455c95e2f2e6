"""The statistics as HR sees them: aggregate queries put through disclosure control.

Everything a page, a CSV file, the yearly report or a comparison shows comes from a `Release`
built here: the figures of the period, of every quarter it is made of, and the partitions that
tie them together (a year over its quarters and its months, a row over its cells, ...), so a
figure is shown the same way, or withheld, wherever it appears, and nothing raw leaves this
module. A figure that counts some of another's incidents (those with evidence, of all) is
never shown more precisely from below than the other (`Builder.resolve`). Unit sizes are
taken as of the period from the membership history."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import get_locale, ngettext

from incidents.extensions import current_protocol
from incidents.i18n import format_day
from incidents.i18n import lazy_gettext as _l
from incidents.labels import CHANNEL_LABELS, OUTCOME_LABELS, TYPE_LABELS
from incidents.models import Channel, IncidentType
from incidents.rules import Outcome, StepKind
from incidents.stats import disclosure, queries
from incidents.stats.disclosure import Figure
from incidents.stats.memo import memo
from incidents.stats.periods import (
    COMPARE_MONTHS,
    Period,
    add_months,
    closes_at,
    first_open_quarter,
)

# The breakdowns HR may choose, besides the level: deliberately few (differencing).
DIMENSIONS = {
    "type": _l("Type"),
    "channel": _l("Channel"),
    "team": _l("Team or department"),
}
LEVELS = ("1", "2", "3", "4")
CHANNELS = tuple(c.value for c in Channel)
TYPES = tuple(t.value for t in IncidentType)
SMALL_UNITS = "other"
DECISIONS = (StepKind.POLICE_REPORT, StepKind.REFERRAL_DECISION)
NO_TEAM = "none"
ALARM_ROWS = ("reported", "unreported")
EVIDENCE_ROWS = ("with_evidence", "handed_to_police")
# Measures against perpetrators, by kind: those that started in the period, and those in force
# on at least one of its days (`_measures`). Organisation-wide only, never by team.
STARTED, IN_FORCE = "measures_started", "measures_in_force"
MEASURE_COLUMNS = ("started", "in_force")
# Figures a year is not the sum of its quarters of: a measure in force all year is in force in
# each of them (see `_measures` for what a year is made of instead).
NOT_BY_QUARTER = frozenset({IN_FORCE})
__all__ = ["COMPARE_MONTHS", "DIMENSIONS", "build", "closed_before", "comparison"]


def _measure_kinds(held: Sequence[str]) -> tuple[str, ...]:
    """The rows of the measures table: the protocol's kinds, then any other kind the register
    holds measures of (a kind since removed from the protocol)."""
    kinds = tuple(kind.id for kind in current_protocol().measures)
    return (*kinds, *(kind for kind in held if kind not in kinds))


def measure_counts(
    measures: dict[tuple[str, str, str], int], months: Sequence[str], kinds: Sequence[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Raw counts of measures by kind over some whole months, from `queries.measures`: those
    that started in them, and those in force on at least one of their days (start month on or
    before the last month, end month on or after the first)."""
    first, last = min(months), max(months)
    started, in_force = dict.fromkeys(kinds, 0), dict.fromkeys(kinds, 0)
    for (kind, starts, ends), n in measures.items():
        if kind not in started:  # a kind read after the kinds were (a proposal meanwhile)
            continue
        if first <= starts <= last:
            started[kind] += n
        if starts <= last and ends >= first:
            in_force[kind] += n
    return started, in_force


def _outcomes(kind: StepKind) -> tuple[str, ...]:
    """The outcomes counted for a kind: those a step of the kind can record."""
    return tuple(outcome.value for outcome in current_protocol().outcomes_of(kind).choose)


@dataclass
class Shown:
    """One table as shown: its data after disclosure control, and how to label it."""

    name: str
    title: str
    data: disclosure.Table | disclosure.Series
    row_label: str
    row_labels: dict[str, str]
    column_labels: dict[str, str] = field(default_factory=dict)
    value_label: str = ""
    chart: str = "bar"
    note: str = ""
    # Short column headers ("L1"), shown with the full label for the mouse and screen readers.
    column_short: dict[str, str] = field(default_factory=dict)

    def csv_rows(self, k: int) -> list[list[str]]:
        total = str(_l("Total"))
        if isinstance(self.data, disclosure.Table):
            return self.data.csv_rows(
                k,
                self.row_label,
                column_labels=self.column_labels,
                row_labels=self.row_labels,
                total_label=total,
            )
        return self.data.csv_rows(
            k, self.row_label, self.value_label, labels=self.row_labels, total_label=total
        )


@dataclass
class Coverage:
    """How much of the period the client conversation counts cover."""

    months: int  # months with any registered conversations
    of_months: int
    teams: int  # teams with any registered conversations
    incidents: Figure  # share (%) of the period's incidents in covered teams and months


@dataclass
class Statistics:
    period: Period
    by: str
    k: int
    total: Figure
    rate: Figure
    conversations: int
    coverage: Coverage
    on_time: Figure
    first_contact: Figure
    tables: list[Shown]
    # Parts of pages rendered from these figures, kept with them (see `hr.views`).
    rendered: dict[Hashable, str] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> Shown | None:
        return next((t for t in self.tables if t.name == name), None)


def closed_before(now: datetime) -> date:
    """The first quarter not wholly published: periods end before it."""
    config = current_app.config
    return first_open_quarter(now, config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"])


def year_published_at(year: int) -> datetime:
    """When a year's statistics are published: its last month closed."""
    config = current_app.config
    return closes_at(date(year, 12, 1), config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"])


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "nl"


@dataclass
class Units:
    """The reporting units of a period: each team's row, and which rows show no figures."""

    row_of: dict[str, str]  # team id (or "none") -> row key
    rows: list[str]
    labels: dict[str, str]
    too_small: set[str]

    def key(self) -> Hashable:
        return (
            frozenset(self.row_of.items()),
            tuple(self.rows),
            frozenset(self.labels.items()),
            frozenset(self.too_small),
        )


def units(period: Period) -> Units:
    """Teams with fewer than k members throughout the period are counted with their parent
    unit; what stays too small is pooled, and a pool below k shows nothing."""
    k = current_k()
    start, end = period.bounds(current_app.config["ORG_TIMEZONE"])
    by_team, begins = queries.memberships(start, end)
    if begins is not None and start < begins < end:
        start = begins  # no one belonged anywhere before the history began
    teams = queries.teams()
    sizes = {
        team_id: disclosure.min_headcount(by_team.get(team_id, []), start, end) for team_id in teams
    }
    merged = disclosure.merge_small_units(sizes, {t.id: t.parent_id for t in teams.values()}, k)
    unit_size: dict[int, int] = {}
    for team_id, unit in merged.items():
        unit_size[unit] = unit_size.get(unit, 0) + sizes.get(team_id, 0)
    row_of = {
        str(team_id): (str(unit) if unit_size.get(unit, 0) >= k else SMALL_UNITS)
        for team_id, unit in merged.items()
    }
    row_of[NO_TEAM] = NO_TEAM
    pooled = [team_id for team_id, row in row_of.items() if row == SMALL_UNITS]
    pool = [i for team_id in pooled for i in by_team.get(int(team_id), [])]
    too_small = set()
    if disclosure.min_headcount(pool, start, end) < k:
        too_small.add(SMALL_UNITS)
    if disclosure.min_headcount(by_team.get(None, []), start, end) < k:
        too_small.add(NO_TEAM)
    language = _language()
    labels = {
        row: teams[int(row)].name(language)
        for row in set(row_of.values())
        if row not in (SMALL_UNITS, NO_TEAM)
    }
    units_sorted = sorted(labels, key=lambda row: labels[row].lower())
    labels[SMALL_UNITS] = str(_l("Small units together"))
    labels[NO_TEAM] = str(_l("No team"))
    # The pool is listed when it holds anyone (a department whose teams all report on their
    # own, and that has no staff of its own, adds nothing to it).
    rows = [*units_sorted, *([SMALL_UNITS] if pool else []), NO_TEAM]
    return Units(row_of, rows, labels, too_small)


def _all(p: str) -> tuple[str, str]:
    return (p, "all")


all_of = _all  # the name of a period's "all incidents" figures, for other modules


def _month(month: str) -> tuple[str, str, str]:
    return ("month", month, "")


class Builder:
    """Builds the release of one request: the counts of the months it needs, read once."""

    def __init__(self, months: Sequence[str], state: queries.State | None = None) -> None:
        self.k = current_k()
        self.release = disclosure.Release(self.k)
        state = state or queries.publications()  # what both are kept under, read once
        self.conversations = queries.conversations(months, state)
        self.found = queries.counts(months, conversations=self.conversations, state=state)
        self.alarms = queries.alarms(months)
        self.measures = queries.measures(months)
        self.measure_kinds = _measure_kinds(queries.measure_kinds())
        self.units: dict[str, Units] = {}
        self._done: set[str] = set()
        # (subset, superset) figures, supersets first: see `resolve`.
        self._subsets: list[tuple[Hashable, Hashable]] = []

    def inputs(self) -> Hashable:
        """Everything read so far, as one key: the same inputs give the same figures."""
        return (
            self.k,
            self.found.key(),
            frozenset(self.conversations.items()),
            frozenset(self.alarms.items()),
            frozenset(self.measures.items()),
            self.measure_kinds,
            tuple((key, found.key()) for key, found in sorted(self.units.items())),
        )

    # --- adding figures -----------------------------------------------------------------------

    def _cross(
        self, p: str, dim: str, raw: dict[tuple[str, str], int], rows: Sequence[str]
    ) -> None:
        """A breakdown by `dim` and level whose column totals are the period's level totals."""
        release, name = self.release, (p, dim)
        for r in rows:
            for level in LEVELS:
                release.add((name, r, level), raw.get((r, level), 0))
            release.add((name, r, None), sum(raw.get((r, level), 0) for level in LEVELS))
            release.partition((name, r, None), [(name, r, level) for level in LEVELS])
        for level in LEVELS:
            release.partition((_all(p), None, level), [(name, r, level) for r in rows])
        release.partition((_all(p), None, None), [(name, r, None) for r in rows])

    def _by(self, measure: str, months: Sequence[str]) -> dict[tuple[str, str], int]:
        return {(key, str(level)): n for (key, level), n in self.found.by(measure, months).items()}

    def _period(self, p: Period, with_units: bool) -> None:
        """The figures of one period that only its own months decide."""
        if p.key in self._done:
            return
        self._done.add(p.key)
        release, months, key = self.release, p.months(), p.key
        channels = self._by("channel", months)
        # A channel left empty by an old draft is counted as "other", so nothing drops out.
        for (channel, level), n in list(channels.items()):
            if channel not in CHANNELS:
                del channels[(channel, level)]
                channels[("other", level)] = channels.get(("other", level), 0) + n
        levels = {lvl: sum(n for (_, v), n in channels.items() if v == lvl) for lvl in LEVELS}
        for level in LEVELS:
            release.add((_all(key), None, level), levels[level])
        release.add((_all(key), None, None), sum(levels.values()))
        release.partition((_all(key), None, None), [(_all(key), None, lvl) for lvl in LEVELS])
        by_month = self.found.months()
        for month in months:
            release.add(_month(month), by_month.get(month, 0))
        release.partition((_all(key), None, None), [_month(m) for m in months])
        self._cross(key, "channel", channels, CHANNELS)
        disclosure.add_table(release, (key, "type"), self._by("type", months), TYPES, LEVELS)
        if with_units:
            found = self.units.get(key) or units(p)
            self.units[key] = found
            merged: dict[tuple[str, str], int] = {}
            for (team, level), n in self._by("team", months).items():
                row = found.row_of.get(team, SMALL_UNITS)
                merged[(row, level)] = merged.get((row, level), 0) + n
            self._cross(key, "team", merged, found.rows)
            for small in found.too_small:
                release.withhold(((key, "team"), small, None))
                for level in LEVELS:
                    release.withhold(((key, "team"), small, level))
        self._decisions(key, months)
        self._evidence(key, months)
        self._coverage(key, months)
        self._alarms(p)
        self._measures(p)

    def _alarms(self, p: Period) -> None:
        """Alarm button events of a period: with and without a completed report (a year is
        also the sum of its quarters, see `_over_quarters`)."""
        counted = [self.alarms.get(q.key, (0, 0)) for q in p.quarters()]
        alarms, reported = sum(a for a, _ in counted), sum(r for _, r in counted)
        name = (p.key, "alarms")
        self.release.add((name, "reported", None), reported)
        self.release.add((name, "unreported", None), alarms - reported)
        self.release.add((name, None, None), alarms)
        self.release.partition(
            (name, None, None), [(name, "reported", None), (name, "unreported", None)]
        )

    def _measures(self, p: Period) -> None:
        """Measures against perpetrators by kind: started in the period (a year is the sum of
        its quarters), and in force on at least one of its days. In force in a year are those
        in force in its first quarter and those that started in the others: a partition, where
        the sum of the quarters counts a measure once for every quarter it is in force."""
        started, in_force = measure_counts(self.measures, p.months(), self.measure_kinds)
        for name, counted in (((p.key, STARTED), started), ((p.key, IN_FORCE), in_force)):
            for kind in self.measure_kinds:
                self.release.add((name, kind, None), counted[kind])
            self.release.add((name, None, None), sum(counted.values()))
            self.release.partition(
                (name, None, None), [(name, kind, None) for kind in self.measure_kinds]
            )

    def _measure_parts(self, p: Period) -> None:
        """How the measures' figures of a period hang together, once its quarters are added:
        a year's "in force" is its first quarter's plus the other quarters' starts; what is in
        force in a quarter is some of what is in force in its year, and what started in a
        period is some of what was in force in it (supersets first, see `resolve`)."""
        quarters = p.quarters()
        rows: list[str | None] = [*self.measure_kinds, None]
        if p.is_year and len(quarters) > 1:
            for kind in rows:
                self.release.partition(
                    ((p.key, IN_FORCE), kind, None),
                    [
                        ((quarters[0].key, IN_FORCE), kind, None),
                        *(((q.key, STARTED), kind, None) for q in quarters[1:]),
                    ],
                )
                self._subsets += [
                    (((q.key, IN_FORCE), kind, None), ((p.key, IN_FORCE), kind, None))
                    for q in quarters
                ]
        periods = [p, *quarters] if p.is_year else [p]
        for period in periods:
            self._subsets += [
                (((period.key, STARTED), kind, None), ((period.key, IN_FORCE), kind, None))
                for kind in rows
            ]

    def _evidence(self, key: str, months: Sequence[str]) -> None:
        """Incidents with evidence, and those whose evidence went to the police (counted live,
        like the aftercare): subsets of the period's incidents, not a partition of them."""
        name = (key, "evidence")
        with_evidence, handed = (name, "with_evidence", None), (name, "handed_to_police", None)
        self.release.add(with_evidence, sum(self.found.by("evidence", months).values()))
        self.release.add(handed, sum(self.found.by("evidence_police", months).values()))
        self._subsets += [(with_evidence, (_all(key), None, None)), (handed, with_evidence)]

    def _decisions(self, key: str, months: Sequence[str]) -> None:
        """Decided police-report and referral steps, by outcome."""
        release = self.release
        by_outcome = self.found.by("outcome", months)
        decided = self.found.by("decided", months)
        for kind in DECISIONS:
            name = (key, kind.value)
            outcomes = _outcomes(kind)
            for outcome in outcomes:
                release.add((name, outcome, None), by_outcome.get((f"{kind}:{outcome}", 0), 0))
            release.add((name, None, None), decided.get((kind.value, 0), 0))
            if not current_protocol().outcomes_of(kind).multiple:
                # One outcome per decision: the total is their sum.
                release.partition((name, None, None), [(name, o, None) for o in outcomes])
        release.add(
            ((key, "police_report"), "outcome_known", None), self.found.one("police_known", months)
        )

    def _coverage(self, key: str, months: Sequence[str]) -> None:
        """Incidents in the teams and months that registered client conversations, by channel."""
        covered = _covered(self.found, months)
        name = (key, "covered")
        for channel in CHANNELS:
            self.release.add((name, channel, None), covered[channel])
        self.release.add((name, None, None), sum(covered.values()))
        self.release.partition((name, None, None), [(name, c, None) for c in CHANNELS])

    def _over_quarters(self, total: str, quarters: Sequence[Period]) -> None:
        """A year or a 12-month window is the sum of its quarters, figure by figure."""
        if len(quarters) < 2:
            return
        known = set(self.release.names())
        for figure in known:
            if not (isinstance(figure, tuple) and len(figure) == 3):
                continue
            name = figure[0]
            if not (isinstance(name, tuple) and name[0] == total) or name[1] in NOT_BY_QUARTER:
                continue
            parts: list[Hashable] = [((q.key, name[1]), figure[1], figure[2]) for q in quarters]
            if all(part in known for part in parts):
                self.release.partition(figure, parts)

    def period(self, p: Period) -> None:
        """A quarter, or a whole year with its quarters and its units."""
        if p.key in self._done:
            return
        for quarter in p.quarters():
            self._period(quarter, with_units=False)
        if p.is_year:
            self._period(p, with_units=True)
            self._over_quarters(p.key, p.quarters())
        self._measure_parts(p)

    def window(self, w: Period) -> str:
        """A comparison window: a quarter, a year, or 12 months from another quarter start."""
        months = len(w.months())
        if months == 3:
            quarter = Period.of_quarter(w.start.year, (w.start.month + 2) // 3)
            self.period(quarter)
            return quarter.key
        if w.start.month == 1:
            self.period(Period.of_year(w.start.year) or w)
            return str(w.start.year)
        key = f"{w.start.isoformat()[:7]}+{months}"
        quarters = [
            Period.of_quarter(q.year, (q.month + 2) // 3)
            for q in (add_months(w.start, 3 * i) for i in range(months // 3))
        ]
        for quarter in quarters:
            self.period(quarter)
        if key not in self._done:
            self._done.add(key)
            window_months = w.months()
            levels = self._by("channel", window_months)
            for level in LEVELS:
                self.release.add(
                    (_all(key), None, level), sum(n for (_, v), n in levels.items() if v == level)
                )
            self.release.add((_all(key), None, None), sum(levels.values()))
            self.release.partition(
                (_all(key), None, None), [(_all(key), None, lvl) for lvl in LEVELS]
            )
            self._coverage(key, window_months)
            self._over_quarters(key, quarters)
        return key

    # --- reading figures ----------------------------------------------------------------------

    def resolve(self) -> dict[Hashable, Figure]:
        """Every figure as shown. A subset (incidents with evidence, of all incidents) is a
        lower bound on its superset, which the release does not know: so it is withheld with
        its superset, and shown no higher than its superset shows ("≥ c" where that says
        "≥ c" and the subset more), so that it never tells more about the superset, and
        through it about the superset's parts, than the superset itself does."""
        while True:
            shown = self.release.resolve()
            more = [
                part
                for part, whole in self._subsets
                if shown[whole].withheld and not shown[part].withheld
            ]
            if not more:
                break
            for part in more:
                self.release.withhold(part)
        for part, whole in self._subsets:  # supersets first: a capped one caps its subset
            shown[part] = _within(shown[part], shown[whole])
        return shown


def _within(part: Figure, whole: Figure) -> Figure:
    """A subset's figure shown no more precisely from below than its superset's: the lowest
    count it stands for is never above the lowest count the superset stands for."""
    if part.suppressed or part.withheld or not isinstance(part.value, int):
        return part
    if whole.withheld or whole.suppressed or not isinstance(whole.value, int):
        return disclosure.WITHHELD  # only when the counts disagree (a backdated edit)
    if part.value > whole.value:
        return Figure(whole.value, at_least=True)
    return part


def _level_labels() -> dict[str, str]:
    return {lvl: str(_l("Level %(level)s", level=lvl)) for lvl in LEVELS}


def _cross_table(
    shown: dict[Hashable, Figure], p: str, dim: str, rows: Sequence[str]
) -> disclosure.Table:
    name = (p, dim)
    shared = _all(p) if dim != "type" else name
    return disclosure.Table(
        rows=tuple(rows),
        columns=LEVELS,
        cells={(r, lvl): shown[(name, r, lvl)] for r in rows for lvl in LEVELS},
        row_totals={r: shown[(name, r, None)] for r in rows},
        column_totals={lvl: shown[(shared, None, lvl)] for lvl in LEVELS},
        total=shown[(shared, None, None)],
    )


def _series(
    shown: dict[Hashable, Figure],
    keys: Sequence[str],
    figure: Callable[[str], Hashable],
    total: Hashable,
) -> disclosure.Series:
    return disclosure.Series(
        keys=tuple(keys),
        figures={key: shown[figure(key)] for key in keys},
        total=shown[total],
    )


def build(period: Period, by: str, now: datetime, state: queries.State | None = None) -> Statistics:
    """All figures for a period, broken down `by` a dimension and by level. The queries run on
    every call; what is made from their results is kept under them (`memo`). `state`: the
    publications as the caller read them after `publish` (read here when not given)."""
    builder = Builder(period.months(), state)
    if period.is_year:
        builder.units[period.key] = units(period)
    on_time = queries.on_time(period, builder.found, now)
    made_from = (period, by, builder.inputs(), on_time, _language(), id(current_protocol()))
    return memo().get(("build", made_from), lambda: _build(builder, period, by, on_time))


def _build(builder: Builder, period: Period, by: str, on_time: tuple[int, int]) -> Statistics:
    builder.period(period)
    shown = builder.resolve()
    k, key, months = builder.k, period.key, period.months()
    found = builder.units.get(key)
    by, rows, row_labels = _dimension(by, found)
    conversations = _conversations_by_channel(builder.conversations)
    conversation_total = sum(conversations.values())
    rates = _rates(shown, key, conversations, conversation_total)
    contacts, median_hours = builder.found.first_contact()
    return Statistics(
        period=period,
        by=by,
        k=k,
        total=shown[(_all(key), None, None)],
        rate=rates.total,
        conversations=conversation_total,
        coverage=_conversation_coverage(builder, months, conversation_total),
        on_time=disclosure.share(*on_time, k),
        first_contact=disclosure.median_of(contacts, median_hours, k),
        tables=[
            _cross_shown(shown, key, by, rows, row_labels, found),
            _levels_shown(shown, key),
            _months_shown(shown, key, months),
            _police_shown(shown, key),
            _evidence_shown(shown, key),
            _referrals_shown(shown, key),
            _alarms_shown(shown, key),
            _rates_shown(rates),
            _measures_shown(shown, key, builder.measure_kinds),
        ],
    )


def _dimension(by: str, found: Units | None) -> tuple[str, list[str], dict[str, str]]:
    """The breakdown of the cross table, its rows and their labels. By team only where the
    period has units (whole years); anything else falls back to type."""
    if by == "team" and found is not None:
        return by, found.rows, {row: found.labels[row] for row in found.rows}
    if by == "channel":
        return by, list(CHANNELS), _channel_labels()
    return "type", list(TYPES), {t.value: str(label) for t, label in TYPE_LABELS.items()}


def _channel_labels() -> dict[str, str]:
    return {c.value: str(label) for c, label in CHANNEL_LABELS.items()}


def _outcome_labels(outcomes: Sequence[str]) -> dict[str, str]:
    """The labels of the outcomes a table counts: the one place tables name outcomes."""
    return {o: str(OUTCOME_LABELS[Outcome(o)]) for o in outcomes}


def _conversations_by_channel(conversations: dict[tuple[str, str, str], int]) -> dict[str, int]:
    """The registered client conversations of the period, by channel."""
    by_channel: dict[str, int] = {}
    for (_, channel, _), n in conversations.items():
        by_channel[channel] = by_channel.get(channel, 0) + n
    return by_channel


def _rates(
    shown: dict[Hashable, Figure],
    key: str,
    conversations: dict[str, int],
    conversation_total: int,
) -> disclosure.Series:
    """Incidents per 1,000 client conversations, by channel: only over the teams and months
    that registered client conversations."""
    rate_rows = [c for c in CHANNELS if conversations.get(c)]
    covered = (key, "covered")
    return disclosure.Series(
        keys=tuple(rate_rows),
        figures={
            c: disclosure.rate_of(shown[(covered, c, None)], conversations[c]) for c in rate_rows
        },
        total=disclosure.rate_of(shown[(covered, None, None)], conversation_total or None),
    )


def _conversation_coverage(
    builder: Builder, months: Sequence[str], conversation_total: int
) -> Coverage:
    """How much of the period the client conversation counts cover."""
    raw_total = sum(builder.found.months().get(m, 0) for m in months)
    return Coverage(
        months=len({month for (_, _, month) in builder.conversations}),
        of_months=len(months),
        teams=len({team for (team, _, _) in builder.conversations}),
        incidents=disclosure.share(
            sum(_covered(builder.found, months).values()), raw_total, builder.k
        )
        if conversation_total
        else Figure(None),
    )


def _cross_shown(
    shown: dict[Hashable, Figure],
    key: str,
    by: str,
    rows: Sequence[str],
    row_labels: dict[str, str],
    found: Units | None,
) -> Shown:
    """The table "cross": incidents by the chosen dimension and level."""
    return Shown(
        "cross",
        str(_l("Incidents by %(dimension)s and level", dimension=str(DIMENSIONS[by]).lower())),
        _cross_table(shown, key, by, rows),
        str(DIMENSIONS[by]),
        row_labels,
        column_labels=_level_labels(),
        column_short={lvl: str(_l("L%(level)s", level=lvl)) for lvl in LEVELS},
        note=_cross_note(by, found),
    )


def _levels_shown(shown: dict[Hashable, Figure], key: str) -> Shown:
    """The table "levels": incidents by level."""
    return Shown(
        "levels",
        str(_l("Incidents by level")),
        _series(shown, LEVELS, lambda lvl: (_all(key), None, lvl), (_all(key), None, None)),
        str(_l("Level")),
        _level_labels(),
        value_label=str(_l("Incidents")),
    )


def _months_shown(shown: dict[Hashable, Figure], key: str, months: Sequence[str]) -> Shown:
    """The table "months": incidents per month."""
    return Shown(
        "months",
        str(_l("Incidents per month")),
        _series(shown, months, _month, (_all(key), None, None)),
        str(_l("Month")),
        {m: m for m in months},
        value_label=str(_l("Incidents")),
        chart="line",
    )


def _police_shown(shown: dict[Hashable, Figure], key: str) -> Shown:
    """The table "police": decided police-report steps by outcome, and how many know it."""
    police = (key, "police_report")
    outcomes = _outcomes(StepKind.POLICE_REPORT)
    return Shown(
        "police",
        str(_l("Police reports")),
        _series(
            shown, [*outcomes, "outcome_known"], lambda o: (police, o, None), (police, None, None)
        ),
        str(_l("Decision")),
        {**_outcome_labels(outcomes), "outcome_known": str(_l("Outcome known"))},
        value_label=str(_l("Incidents")),
        note=str(_l("Decided police-report steps; the total counts each decision once.")),
    )


def _evidence_shown(shown: dict[Hashable, Figure], key: str) -> Shown:
    """The table "evidence": incidents with evidence, and those whose evidence was handed to
    the police, beside all incidents of the period."""
    evidence = (key, "evidence")
    return Shown(
        "evidence",
        str(_l("Evidence")),
        _series(shown, EVIDENCE_ROWS, lambda row: (evidence, row, None), (_all(key), None, None)),
        str(_l("Evidence")),
        {
            "with_evidence": str(_l("With evidence")),
            "handed_to_police": str(_l("Evidence handed to the police")),
        },
        value_label=str(_l("Incidents")),
        note=str(
            _l(
                "Incidents with at least one file as evidence, and those with a file handed to"
                " the police; the total is all incidents of the period. A file removed by"
                " retention still counts, one removed by a person only when the police had it."
            )
        ),
    )


def _referrals_shown(shown: dict[Hashable, Figure], key: str) -> Shown:
    """The table "referrals": referral decisions by the kind of help referred to."""
    referrals = (key, "referral_decision")
    outcomes = _outcomes(StepKind.REFERRAL_DECISION)
    return Shown(
        "referrals",
        str(_l("Referrals")),
        _series(shown, outcomes, lambda o: (referrals, o, None), (referrals, None, None)),
        str(_l("Referral")),
        _outcome_labels(outcomes),
        value_label=str(_l("Decisions")),
        note=str(_l("One decision can refer to several kinds of help.")),
    )


def _alarms_shown(shown: dict[Hashable, Figure], key: str) -> Shown:
    """The table "alarms": alarm button events, and those still without a completed report
    when their month was published."""
    alarms = (key, "alarms")
    return Shown(
        "alarms",
        str(_l("Alarm buttons")),
        _series(shown, ALARM_ROWS, lambda row: (alarms, row, None), (alarms, None, None)),
        str(_l("With or without a report")),
        {
            "reported": str(_l("With a completed report")),
            "unreported": str(_l("Without a completed report")),
        },
        value_label=str(_l("Alarms")),
        note=str(
            _l(
                "Every alarm is a draft report for the employee; a report completed after its"
                " month was published counts as without."
            )
        ),
    )


def _measures_shown(shown: dict[Hashable, Figure], key: str, kinds: Sequence[str]) -> Shown:
    """The table "measures": measures against perpetrators by kind, started in the period and
    in force on at least one of its days. No row totals: the two columns count overlapping
    sets of measures."""
    started, in_force = (key, STARTED), (key, IN_FORCE)
    names = {"started": started, "in_force": in_force}
    language = _language()
    labels = {}
    for kind in kinds:
        found = current_protocol().measure_kind(kind)
        labels[kind] = found.title(language) if found is not None else kind
    return Shown(
        "measures",
        str(_l("Measures against perpetrators")),
        disclosure.Table(
            rows=tuple(kinds),
            columns=MEASURE_COLUMNS,
            cells={(kind, c): shown[(names[c], kind, None)] for kind in kinds for c in names},
            row_totals=None,
            column_totals={c: shown[(names[c], None, None)] for c in names},
            total=None,
        ),
        str(_l("Kind of measure")),
        labels,
        column_labels={"started": str(_l("Started")), "in_force": str(_l("In force"))},
        value_label=str(_l("Measures")),
        note=str(
            _l(
                "Approved measures for the whole organisation, never by team: started in the"
                " period, and in force on at least one day of it (a measure ended early counts"
                " until its last day). Proposed and withdrawn measures are not counted."
            )
        ),
    )


def _rates_shown(rates: disclosure.Series) -> Shown:
    """The table "rates": incidents per 1,000 client conversations, by channel."""
    return Shown(
        "rates",
        str(_l("Incidents per 1,000 client conversations")),
        rates,
        str(_l("Channel")),
        _channel_labels(),
        value_label=str(_l("Per 1,000 conversations")),
        note=str(
            _l(
                "Only the teams and months that registered client conversations are counted,"
                " incidents and conversations alike."
            )
        ),
    )


def _covered(found: queries.Counts, months: Sequence[str]) -> dict[str, int]:
    """Incidents by channel in the teams and months that registered client conversations."""
    total = dict.fromkeys(CHANNELS, 0)
    for (team_channel, _), n in found.by("covered", months).items():
        channel = team_channel.partition(":")[2]
        total[channel if channel in total else "other"] += n
    return total


def _cross_note(by: str, found: Units | None) -> str:
    if by == "type":
        return str(_l("An incident can have several types: then it counts once for each."))
    if by == "team" and found is not None and found.too_small:
        k = current_k()
        return str(
            ngettext(
                "Teams are counted with their department when they had fewer than %(num)s member"
                " throughout the period; a group that stays below %(num)s shows no figures (*).",
                "Teams are counted with their department when they had fewer than %(num)s members"
                " throughout the period; a group that stays below %(num)s shows no figures (*).",
                k,
            )
        )
    if by == "team":
        k = current_k()
        return str(
            ngettext(
                "Teams are counted with their department when they had fewer than %(num)s member"
                " throughout the period.",
                "Teams are counted with their department when they had fewer than %(num)s members"
                " throughout the period.",
                k,
            )
        )
    return ""


def comparison(change: date, months: int, now: datetime) -> tuple[Shown, Figure, Figure] | None:
    """Before and after a change (cameras off, alarm buttons on): the level mix in equal windows
    of whole quarters on either side, and the rates per 1,000 client conversations. No
    before+after total: two windows and their sum would give away the month they differ in."""
    from incidents.stats.periods import comparison as windows

    chosen = windows(change, months, closed_before(now))
    if chosen is None:
        return None
    before, after = chosen
    builder = Builder([*before.months(), *after.months()])
    keys = {name: builder.window(w) for name, w in (("before", before), ("after", after))}
    shown = builder.resolve()
    rates = []
    for name, w in (("before", before), ("after", after)):
        wanted = set(w.months())
        denominator = sum(n for (_, _, m), n in builder.conversations.items() if m in wanted)
        covered = shown[((keys[name], "covered"), None, None)]
        rates.append(disclosure.rate_of(covered, denominator or None))
    columns = ("before", "after")
    table = disclosure.Table(
        rows=LEVELS,
        columns=columns,
        cells={(lvl, c): shown[(_all(keys[c]), None, lvl)] for lvl in LEVELS for c in columns},
        row_totals=None,
        column_totals={c: shown[(_all(keys[c]), None, None)] for c in columns},
        total=None,
    )
    shown_table = Shown(
        "compare",
        str(_l("Before and after %(date)s", date=format_day(change, "MMMM yyyy"))),
        table,
        str(_l("Level")),
        _level_labels(),
        column_labels={
            "before": ngettext("%(num)s month before", "%(num)s months before", months),
            "after": ngettext("%(num)s month after", "%(num)s months after", months),
        },
    )
    return shown_table, rates[0], rates[1]


def current_k() -> int:
    return int(current_app.config["STATS_MIN_CELL"])


def year_total(period: Period) -> Figure:
    """A year's incidents as the statistics show them (for the privacy officer's overview)."""
    builder = Builder(period.months())
    builder.period(period)
    return builder.resolve()[(_all(period.key), None, None)]
