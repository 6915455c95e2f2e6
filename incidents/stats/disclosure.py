"""Disclosure control for the statistics pages, their CSV downloads and the yearly report.

Every number HR or the privacy officer sees passes through this module first. The promise: no
figure, and no combination of figures over every filter and over time, lets anyone learn that a
group of people smaller than a threshold k (``STATS_MIN_CELL``, default 5, at least 2) had
something happen to them, nor pin such a count exactly.

The attacker this is designed against pulls every figure every page, CSV and report offers,
turns each into an interval on the hidden counts behind it, and propagates the bounds through
every margin and every overlapping period until nothing changes (a test in the suite does
exactly that, on a realistic organisation, and checks its inferences against the truth). The
design follows official statisticians (NHS Digital, Statistics Denmark, the ONS), hardened where
their one-table rules fail in a filterable tool:

Counts: a band, then rounding
    A count of 0 up to k-1 is shown as "< k" (the CSV says "<5"). Zero is *not* told apart:
    a 0 next to "< k" would tell the attacker that the "< k" is at least 1, and margins and
    sliding windows then pin it (four quarters of "< 5" for level 4 beside a yearly "< 5" made
    each quarter exactly 1). Every other count is rounded to the nearest multiple of k, halves
    up, so a shown count is "< k" or a multiple of k: 5 means 5..7, 10 means 8..12, and so on.

Totals and margins are counted, not added up, and never shown beside parts they give away
    Every total is computed from the records and protected on its own, so shown parts need not
    add up to a shown total. The attacker's sharpest single step against a total is: the lowest
    count the total stands for, minus the highest counts the other parts stand for; if that is
    1 or more, a part that shows "< k" is proven nonzero (a total of 10, meaning 8..12, over two
    halves that each show "< 5" makes each half 4; 100 beside 95 makes the rest at least 1).
    So a total is shown as usual only while the lowest count it stands for is at most the
    smallest sum of the other parts' highest counts ("room"); above that it is *top-coded*:
    shown as "≥ c" (c or more), c the largest multiple of k whose lowest count is within the
    room; and when the room is below k (two parts that both show "< k") it is *withheld* ("*").
    Room depends only on what the parts show, and every category a total can show then proves
    nothing about a part, so neither "≥ c" nor "*" gives a part away. The rule runs over every
    partition the pages publish, parts first (`Release`): a year is a total over its quarters
    and its months, a quarter over its months, every row and column over its cells, a 12-month
    window over its quarters, so a figure is shown the same way wherever it appears.

Periods, windows and units (enforced by the callers, documented here because they are part of
the design)
    Only closed months are published (ended, plus a delay), and their incident counts are frozen
    then: a report that arrives later, an edit, or a new incident changes no published count,
    so comparing the pages over time gives nothing away. What the aftercare adds later (steps
    done, referrals, police decisions) is counted as it happens, for the published incidents.
    Periods are whole closed quarters and whole closed years (no year-to-date that grows); a
    before/after comparison changes at a quarter start and compares 3 or 12 months, and shows no
    before+after total (6 = 3 + 3 windows at any month turned month-by-level counts, which no
    page shows, into differences of shown figures). A unit (team, department, the pooled
    "small units", "no team") is shown only when it had at least k members throughout the
    period, taken from the membership history the app keeps, not from today's teams; smaller
    teams are merged into their parent unit, and a pooled group that stays below k shows no
    figures at all. Every unit is listed whether or not it had incidents. An organisational
    measure's comparison (`stats.learning`) shows its scope and the rest of the organisation
    over windows of whole quarters, added to the release of those quarters (each quarter the
    scope plus the rest, each window the sum of its quarters), only when both had at least k
    people throughout; its verdict is words and percentages rounded to 5, only when all four
    counts show as numbers.

Rates, shares and medians
    A rate is computed from the rounded count (so knowing the denominator gives back only what
    is shown), one decimal; a "< k" count gives a "< k" rate. A share is shown only when both
    the part and the rest are at least k. A median is shown only over at least k values.

What this does not claim
    Bands and top-coding make every single inference useless for groups below k, and the
    attacker test finds nothing by propagating every bound through every figure; that is not a
    proof against every conceivable combination (rounding never is; cell-key perturbation, as
    the ABS and the ONS use, adds noise instead, at the price of figures that contradict each
    other, which a council report cannot have). Counts of k or more are shown, rounded:
    learning that "about 10" incidents happened in a unit of 30 people is the purpose of the
    statistics.

This module is pure (no web framework, no database) so that the rules can be tested thoroughly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

__all__ = [
    "WITHHELD",
    "Figure",
    "Release",
    "Series",
    "Table",
    "add_table",
    "count",
    "median",
    "median_of",
    "merge_small_units",
    "min_headcount",
    "rate",
    "rate_of",
    "series",
    "share",
    "table",
    "table_of",
]


@dataclass(frozen=True)
class Figure:
    """One number as it may be shown.

    ``value`` is None when the figure is suppressed ("< k", ``suppressed``), withheld ("*",
    ``withheld``: shown, it would give away its parts) or when there is no data to compute it
    from (both False). Counts and shares are ints, rates and medians floats with one decimal.
    """

    value: int | float | None
    suppressed: bool = False
    withheld: bool = False
    at_least: bool = False  # top-coded: the count is this value or more

    def csv(self, k: int) -> str:
        """The figure as CSV text: "" for no data, "<k" when suppressed, "*" when withheld,
        else the number (ints without decimals, floats with one decimal and ".")."""
        if self.suppressed:
            return f"<{k}"
        if self.withheld:
            return "*"
        if self.at_least:
            return f">={self.value}"
        if self.value is None:
            return ""
        if isinstance(self.value, int):
            return str(self.value)
        return f"{self.value:.1f}"


_NO_DATA = Figure(None)
_SUPPRESSED = Figure(None, suppressed=True)
WITHHELD = Figure(None, withheld=True)


def _check_k(k: int) -> None:
    if k < 2:
        raise ValueError(f"the threshold k must be at least 2, got {k}")


def _rounded(n: int, k: int) -> int:
    """n rounded to the nearest multiple of k, halves up (exact integer arithmetic)."""
    return (2 * n + k) // (2 * k) * k


def count(n: int, k: int) -> Figure:
    """Protect a count: 0..k-1 is suppressed ("< k"), the rest is rounded to a multiple of k.

    Rounding is to the nearest multiple of k with halves up, so with k = 5: 7 -> 5, 8 -> 10.
    Raises ValueError for a negative count or a threshold below 2.
    """
    _check_k(k)
    if n < 0:
        raise ValueError(f"a count cannot be negative, got {n}")
    if n < k:
        return _SUPPRESSED
    return Figure(_rounded(n, k))


def rate(n: int, denominator: int | None, k: int, per: int = 1000) -> Figure:
    """Protect a rate: the *rounded* count of n per ``per`` of the denominator, one decimal.

    No denominator (None or 0) gives a Figure without data; a suppressed count gives a suppressed
    rate. The rate is computed from the shown count, never the raw one, so knowing the
    denominator gives back at most the shown count. Halves round up.
    """
    return rate_of(count(n, k), denominator, per)


def rate_of(shown: Figure, denominator: int | None, per: int = 1000) -> Figure:
    """A rate from a count already protected (suppressed or withheld stays so)."""
    if denominator is None or denominator == 0:
        return _NO_DATA
    if denominator < 0:
        raise ValueError(f"a denominator cannot be negative, got {denominator}")
    if per <= 0:
        raise ValueError(f"per must be positive, got {per}")
    if shown.suppressed or shown.withheld:
        return shown
    if not isinstance(shown.value, int):
        return _NO_DATA
    # Tenths of the rate, rounded half up with exact integer arithmetic; a top-coded count
    # gives a top-coded rate ("this rate or more").
    tenths = (20 * shown.value * per + denominator) // (2 * denominator)
    return Figure(tenths / 10, at_least=shown.at_least)


def share(part: int, whole: int, k: int) -> Figure:
    """Protect a percentage ``part`` of ``whole`` (an int from 0 to 100).

    A whole of 0 gives a Figure without data. The share is suppressed when the part or the rest
    (whole - part) is below k: a share of 0% or 100% would tell that nobody (or everybody) was. Otherwise it is computed from the rounded
    part and the rounded whole and rounded to a whole percent, halves up.
    Raises ValueError for negative numbers or a part larger than the whole.
    """
    _check_k(k)
    if part < 0 or whole < 0:
        raise ValueError(f"part and whole cannot be negative, got {part} and {whole}")
    if part > whole:
        raise ValueError(f"the part ({part}) cannot be larger than the whole ({whole})")
    if whole == 0:
        return _NO_DATA
    rest = whole - part
    if part < k or rest < k:
        return _SUPPRESSED
    shown_part = _rounded(part, k)
    shown_whole = _rounded(whole, k)
    percent = (200 * shown_part + shown_whole) // (2 * shown_whole)
    return Figure(min(100, max(0, percent)))


def median(values: Sequence[float], k: int) -> Figure:
    """Protect the median of ``values``: shown only over at least k values.

    No values give a Figure without data; 1..k-1 values give a suppressed Figure; otherwise the
    median rounded to one decimal (halves up). Raises ValueError for values that are not finite.
    """
    _check_k(k)
    if any(not math.isfinite(v) for v in values):
        raise ValueError("a median needs finite numbers")
    middle = statistics.median(values) if len(values) >= k else None
    return median_of(len(values), middle, k)


def median_of(n: int, value: float | None, k: int) -> Figure:
    """Protect a median computed elsewhere (for example in SQL) over ``n`` values.

    The same rules as `median`: no values (n == 0, or no value) give a Figure without data;
    n of 1..k-1 gives a suppressed Figure; otherwise the value rounded to one decimal (halves up).
    Raises ValueError for a negative n or a value that is not finite.
    """
    _check_k(k)
    if n < 0:
        raise ValueError(f"the number of values cannot be negative, got {n}")
    if n == 0:
        return _NO_DATA
    if n < k:
        return _SUPPRESSED
    if value is None:
        return _NO_DATA
    if not math.isfinite(value):
        raise ValueError("a median must be a finite number")
    rounded = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Figure(float(rounded))


def _unique(name: str, keys: Sequence[str]) -> tuple[str, ...]:
    result = tuple(keys)
    if len(set(result)) != len(result):
        raise ValueError(f"the {name} contain a key twice: {result!r}")
    return result


def _check_raw(value: int, key: object) -> int:
    if value < 0:
        raise ValueError(f"a count cannot be negative, got {value} for {key!r}")
    return value


@dataclass(frozen=True)
class Table:
    """A protected two-way table: cells, row totals, column totals and a grand total.

    Every figure, totals included, is protected on its own from the raw counts, so the shown
    cells need not add up to the shown totals.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], Figure]
    row_totals: Mapping[str, Figure] | None  # None: no row totals (before/after)
    column_totals: Mapping[str, Figure]
    total: Figure | None

    def csv_rows(
        self,
        k: int,
        row_label: str,
        column_labels: Mapping[str, str] | None = None,
        row_labels: Mapping[str, str] | None = None,
        total_label: str = "Total",
    ) -> list[list[str]]:
        """The table as CSV rows: a header, one row per row key ending in its total, a totals row.

        Labels default to the keys themselves.
        """
        col_names = column_labels or {}
        row_names = row_labels or {}
        row_totals, total = self.row_totals, self.total
        ends = [total_label] if row_totals is not None else []
        header = [row_label, *(col_names.get(c, c) for c in self.columns), *ends]
        body = [
            [
                row_names.get(r, r),
                *(self.cells[(r, c)].csv(k) for c in self.columns),
                *([row_totals[r].csv(k)] if row_totals is not None else []),
            ]
            for r in self.rows
        ]
        totals = [
            total_label,
            *(self.column_totals[c].csv(k) for c in self.columns),
            *([total.csv(k)] if row_totals is not None and total is not None else []),
        ]
        return [header, *body, totals]


class Release:
    """Figures protected together: every figure is a count, and a total whose parts (in any of
    its partitions) all show "< k" or "*" is withheld, everywhere it appears.

    Keys are any hashable names the caller chooses for its figures. A figure that is a part and
    was never added counts 0. Whether a total is withheld depends only on what its parts show.
    """

    def __init__(self, k: int) -> None:
        _check_k(k)
        self.k = k
        self._raw: dict[Hashable, int] = {}
        self._partitions: dict[Hashable, list[tuple[Hashable, ...]]] = {}
        self._withheld: set[Hashable] = set()
        self._depths: dict[Hashable, int] = {}

    def add(self, key: Hashable, n: int) -> None:
        """The raw count of a figure; adding the same figure again must give the same count."""
        _check_raw(n, key)
        if self._raw.setdefault(key, n) != n:
            raise ValueError(f"the figure {key!r} was added with two counts")

    def withhold(self, key: Hashable) -> None:
        """Never show this figure (a group that is too small to report on)."""
        self._withheld.add(key)

    def partition(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """`total` is the sum of `parts` (a partition of two or more figures)."""
        group = tuple(parts)
        if len(group) >= 2:
            groups = self._partitions.setdefault(total, [])
            if group not in groups:
                groups.append(group)

    def names(self) -> list[Hashable]:
        """The figures added so far."""
        return list(self._raw)

    def resolve(self) -> dict[Hashable, Figure]:
        """Every figure as shown (a part or total never added counts 0).

        Parts are decided before their totals. For a total, the attacker's best single
        inference about a part j that may be below k is: total's lower bound minus the upper
        bounds of the other parts. Let M be the smallest sum of the other parts' upper bounds
        (over every such j and every partition); the upper bounds come from what the parts
        show ("< k": k-1; n: its band's top; a top-coded or withheld part: the sum of its own
        parts' upper bounds, unbounded when it has none). Then the total shows "< k" or a rounded
        count as usual while the lowest value that count stands for is at most M, and is
        top-coded ("≥ c", the largest such count) above that; when even k is too high it is
        withheld. All of this depends on what the parts show, and on the total only through
        categories whose lowest value is at most M, so no category proves a part nonzero.
        """
        k = self.k
        keys = set(self._raw) | set(self._partitions)
        keys |= {part for groups in self._partitions.values() for g in groups for part in g}
        shown = {
            key: WITHHELD if key in self._withheld else count(self._raw.get(key, 0), k)
            for key in keys
        }
        upper: dict[Hashable, float] = {}

        def bound(key: Hashable) -> float:
            """The largest value the attacker cannot rule out from what is shown."""
            if key in upper:
                return upper[key]
            figure = shown[key]
            if figure.suppressed:
                result: float = k - 1
            elif isinstance(figure.value, int) and not figure.at_least:
                result = figure.value + (k - 1) // 2
            else:  # top-coded or withheld: what its own parts allow, else unbounded
                groups = self._partitions.get(key, [])
                result = min((sum(bound(p) for p in g) for g in groups), default=math.inf)
            upper[key] = result
            return result

        def may_be_small(key: Hashable) -> bool:
            figure = shown[key]
            return figure.suppressed or figure.withheld

        for total in sorted(self._partitions, key=self._depth):
            if shown[total].withheld:
                continue
            room = math.inf
            for group in self._partitions[total]:
                highs = [bound(p) for p in group]
                unbounded = sum(1 for h in highs if h == math.inf)
                finite = sum(h for h in highs if h != math.inf)
                for part, high in zip(group, highs, strict=True):
                    if not may_be_small(part):
                        continue
                    if unbounded - (high == math.inf) == 0:  # the other parts' highest sum
                        room = min(room, finite - (0 if high == math.inf else high))
            if room == math.inf:
                continue
            value = shown[total].value
            if room < k:
                shown[total] = WITHHELD
            elif isinstance(value, int):
                cap = _largest_safe(room, k)
                if value >= cap:
                    shown[total] = Figure(cap, at_least=True)
        return shown

    def _depth(self, key: Hashable, seen: frozenset[Hashable] = frozenset()) -> int:
        """How many partition levels lie below a figure (parts are decided first)."""
        cached = self._depths.get(key)
        if cached is not None:
            return cached
        groups = self._partitions.get(key, [])
        depth = 1 + max(
            (self._depth(p, seen | {key}) for g in groups for p in g if p not in seen),
            default=-1,
        )
        self._depths[key] = depth
        return depth


def _lowest(shown: int, k: int) -> int:
    """The lowest count a shown multiple of k (at least k) stands for."""
    return max(k, shown - k // 2)


def _largest_safe(room: float, k: int) -> int:
    """The largest multiple of k whose lowest count is at most `room` (room >= k)."""
    return max(k, int((room + k // 2) // k) * k)


def table(
    raw: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str], k: int
) -> Table:
    """Protect a two-way table of raw counts keyed by (row, column).

    Missing keys count 0. Every cell, row total, column total and the grand total is
    ``count(raw sum, k)``; a total over parts that all show "< k" is withheld. Raises
    ValueError for a key outside ``rows`` x ``columns`` (so no records drop out of the totals
    unnoticed), a duplicate row or column, or a negative count.
    """
    _check_k(k)
    row_keys = _unique("rows", rows)
    column_keys = _unique("columns", columns)
    known = set(row_keys), set(column_keys)
    for key, value in raw.items():
        if key[0] not in known[0] or key[1] not in known[1]:
            raise ValueError(f"the key {key!r} is not among the rows and columns")
        _check_raw(value, key)
    release = Release(k)
    add_table(release, "t", raw, row_keys, column_keys)
    return table_of(release.resolve(), "t", row_keys, column_keys)


def add_table(
    release: Release,
    name: Hashable,
    raw: Mapping[tuple[str, str], int],
    rows: Sequence[str],
    columns: Sequence[str],
) -> None:
    """Add a two-way table's cells and totals to a release, with its partitions: each row and
    each column total over its cells, the grand total over the rows and over the columns."""
    for r in rows:
        for c in columns:
            release.add((name, r, c), raw.get((r, c), 0))
    for r in rows:
        release.add((name, r, None), sum(raw.get((r, c), 0) for c in columns))
        release.partition((name, r, None), [(name, r, c) for c in columns])
    for c in columns:
        release.add((name, None, c), sum(raw.get((r, c), 0) for r in rows))
        release.partition((name, None, c), [(name, r, c) for r in rows])
    release.add((name, None, None), sum(raw.get((r, c), 0) for r in rows for c in columns))
    release.partition((name, None, None), [(name, r, None) for r in rows])
    release.partition((name, None, None), [(name, None, c) for c in columns])


def table_of(
    shown: Mapping[Hashable, Figure], name: Hashable, rows: Sequence[str], columns: Sequence[str]
) -> Table:
    """The table `add_table` added under `name`, as resolved."""
    return Table(
        rows=tuple(rows),
        columns=tuple(columns),
        cells=MappingProxyType({(r, c): shown[(name, r, c)] for r in rows for c in columns}),
        row_totals=MappingProxyType({r: shown[(name, r, None)] for r in rows}),
        column_totals=MappingProxyType({c: shown[(name, None, c)] for c in columns}),
        total=shown[(name, None, None)],
    )


@dataclass(frozen=True)
class Series:
    """A protected one-way breakdown: one figure per key and a total protected on its own."""

    keys: tuple[str, ...]
    figures: Mapping[str, Figure]
    total: Figure

    def csv_rows(
        self,
        k: int,
        key_label: str,
        value_label: str,
        labels: Mapping[str, str] | None = None,
        total_label: str = "Total",
    ) -> list[list[str]]:
        """The series as CSV rows: a header, one row per key, then the total row.

        Labels default to the keys themselves.
        """
        names = labels or {}
        return [
            [key_label, value_label],
            *([names.get(key, key), self.figures[key].csv(k)] for key in self.keys),
            [total_label, self.total.csv(k)],
        ]


def series(raw: Mapping[str, int], keys: Sequence[str], k: int) -> Series:
    """Protect a one-way breakdown of raw counts; the same rules as `table`.

    Missing keys count 0; the total is ``count(raw sum, k)``, withheld when every key shows
    "< k". Raises ValueError for a key not in ``keys``, a duplicate key or a negative count.
    """
    _check_k(k)
    key_tuple = _unique("keys", keys)
    known = set(key_tuple)
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"the key {key!r} is not among the keys")
        _check_raw(value, key)
    release = Release(k)
    for key in key_tuple:
        release.add(key, raw.get(key, 0))
    release.add(("total",), sum(raw.get(key, 0) for key in key_tuple))
    release.partition(("total",), key_tuple)
    shown = release.resolve()
    return Series(
        keys=key_tuple,
        figures=MappingProxyType({key: shown[key] for key in key_tuple}),
        total=shown[("total",)],
    )


def merge_small_units(
    sizes: Mapping[int, int], parents: Mapping[int, int | None], k: int
) -> dict[int, int]:
    """For every organisation unit, the unit it is reported as.

    ``sizes`` maps a unit id to its number of active members (missing: 0); ``parents`` maps a
    unit id to its parent id or None (missing: top-level). A unit with at least k members,
    counting the members of small units merged into it, is reported as itself. A smaller unit is
    merged into its parent: its members add up there, and it is reported as whatever its parent
    is reported as. A top-level unit that stays below k is reported as itself; the caller must
    suppress its figures. Units that appear only as a parent are included. A cycle in the parent
    links is broken at its smallest id, which is treated as top-level.
    """
    _check_k(k)
    for unit, size in sizes.items():
        if size < 0:
            raise ValueError(f"a unit cannot have a negative size, got {size} for {unit}")
    units: set[int] = set(sizes) | set(parents)
    units |= {p for p in parents.values() if p is not None}
    parent: dict[int, int | None] = {u: parents.get(u) for u in units}

    # Break cycles: walk up from every unit; a walk that returns to a unit on its own path has
    # found a cycle, which is cut by making its smallest unit top-level.
    depth: dict[int, int] = {}
    for start in sorted(units):
        path: list[int] = []
        on_path: dict[int, int] = {}
        node: int | None = start
        while node is not None and node not in depth:
            if node in on_path:
                cut = min(path[on_path[node] :])
                parent[cut] = None
                # Walk again from the start, now that the cycle is cut.
                path, on_path, node = [], {}, start
                continue
            on_path[node] = len(path)
            path.append(node)
            node = parent[node]
        base = -1 if node is None else depth[node]
        for offset, walked in enumerate(reversed(path), start=1):
            depth[walked] = base + offset

    # Members of small units add up at their parents: deepest units first.
    effective = {u: sizes.get(u, 0) for u in units}
    for unit in sorted(units, key=lambda u: (-depth[u], u)):
        above = parent[unit]
        if above is not None and effective[unit] < k:
            effective[above] += effective[unit]

    # Reporting units: top-level units first, so a parent is decided before its children.
    reported: dict[int, int] = {}
    for unit in sorted(units, key=lambda u: (depth[u], u)):
        above = parent[unit]
        reported[unit] = unit if above is None or effective[unit] >= k else reported[above]
    return reported


def min_headcount(
    memberships: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime
) -> int:
    """The smallest number of members a unit had at any moment of [start, end).

    ``memberships`` are (from, until) intervals, ``until`` exclusive or None for "still a
    member". A unit is as small as it was at its smallest: four people for eleven months and a
    fifth in December is a unit of four for that year.
    """
    if end <= start:
        raise ValueError("a period must end after it starts")
    changes: dict[datetime, int] = {}
    members = 0
    for joined, left in memberships:
        if left is not None and left <= joined:
            continue
        if (left is not None and left <= start) or joined >= end:
            continue
        if joined <= start:
            members += 1
        else:
            changes[joined] = changes.get(joined, 0) + 1
        if left is not None and left < end:
            changes[left] = changes.get(left, 0) - 1
    smallest = members
    for moment in sorted(changes):
        members += changes[moment]
        smallest = min(smallest, members)
    return smallest
