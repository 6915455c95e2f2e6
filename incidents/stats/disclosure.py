"""Disclosure control for the statistics pages and their CSV downloads.

Every number the statistics pages or downloads show passes through this module first. It makes
sure no figure, and no combination of figures, tells anyone something about a group of people
smaller than a threshold. The method follows official statisticians (NHS Digital since 2018):
suppress the smallest counts and round every other count, each figure on its own.

The threshold
    A number k, set by the application setting ``STATS_MIN_CELL`` (default 5). It must be at
    least 2.

Counts
    A count of 0 is shown as 0 (knowing that nothing happened is not about any person). A count
    of 1 up to k-1 is suppressed: the page shows "< k" (for k = 5: "< 5") and the download shows
    "<5". Every other count is rounded to the nearest multiple of k, halves rounding up. With
    k = 5: 5, 6 and 7 are shown as 5; 8 to 12 as 10; 13 to 17 as 15; and so on. So a shown count
    is always 0, "< k", or a multiple of k that is at least k.

Totals and margins
    Row totals, column totals and grand totals are computed from the underlying records and then
    protected on their own in the same way. They are never made by adding up the shown cells, so
    shown cells need not add up to the shown total. That is deliberate: adding up cells would let
    a reader work back to a suppressed cell.

Why subtracting figures cannot reveal a small group
    A common attack on a filtered dashboard is to ask for "all" and for "all but one group" and
    subtract. Here every shown number is 0 or a multiple of k, so the difference between any two
    shown numbers is also a multiple of k: 0, k, 2k, ... and never 1 up to k-1. The difference
    tells the reader only roughly how large the group is (about 0, about k, ...), never that it
    holds exactly 1 up to k-1 people.
    The same holds for a total minus its shown cells.

Rates (for example incidents per 1,000 employees)
    A rate is computed from the rounded count, never from the exact one, and rounded to one
    decimal. Someone who knows the denominator (say the number of employees) can therefore work
    back at most to the rounded count, which is already shown. When the count is suppressed, the
    rate is suppressed too. Without a known denominator (or a denominator of 0) no rate is shown.

Shares (percentages)
    A share of a whole is shown only when the whole is at least k and both the part and the rest
    (whole minus part) are 0 or at least k; otherwise it is suppressed, because a share together
    with the whole would give back a small part or a small rest. The percentage is computed from
    the rounded part and the rounded whole and rounded to a whole percent (halves up).

Medians (for example the median number of days until first contact)
    A median is shown only when it is taken over at least k values; otherwise it is suppressed.
    It is rounded to one decimal (halves up). The same rule applies to a median the database
    computed (``median_of``, given the number of values).

Organisation units
    Teams with fewer than k active members are not reported on their own: they are merged into
    their parent unit (for example the department), whose members then include theirs; a parent
    that is still too small is merged further up. A top-level unit that remains below k after
    merging is reported under its own name, but the application suppresses all its figures.

Limits the application keeps, outside this module
    Rounding makes a single subtraction useless, but very many overlapping requests over the same
    records could narrow a figure down further. The pages should therefore offer fixed periods and
    few breakdowns rather than free combinations. A shown 0 does say that a group had no records,
    which official statisticians also accept. A median over k or more values is the value of one
    person in the middle, without saying whom.

This module is pure (no web framework, no database) so that the rules can be tested thoroughly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

__all__ = [
    "Figure",
    "Series",
    "Table",
    "count",
    "median",
    "median_of",
    "merge_small_units",
    "rate",
    "series",
    "share",
    "table",
]


@dataclass(frozen=True)
class Figure:
    """One number as it may be shown.

    ``value`` is None when the figure is suppressed (``suppressed`` is True) or when there is no
    data to compute it from (``suppressed`` is False). Counts and shares are ints, rates and
    medians are floats with one decimal.
    """

    value: int | float | None
    suppressed: bool = False

    def csv(self, k: int) -> str:
        """The figure as CSV text: "" for no data, "<k" when suppressed, else the number.

        Ints are written without decimals, floats with one decimal and "." as separator.
        """
        if self.suppressed:
            return f"<{k}"
        if self.value is None:
            return ""
        if isinstance(self.value, int):
            return str(self.value)
        return f"{self.value:.1f}"


_NO_DATA = Figure(None)
_SUPPRESSED = Figure(None, suppressed=True)


def _check_k(k: int) -> None:
    if k < 2:
        raise ValueError(f"the threshold k must be at least 2, got {k}")


def _rounded(n: int, k: int) -> int:
    """n rounded to the nearest multiple of k, halves up (exact integer arithmetic)."""
    return (2 * n + k) // (2 * k) * k


def count(n: int, k: int) -> Figure:
    """Protect a count: 0 stays 0, 1..k-1 is suppressed, the rest is rounded to a multiple of k.

    Rounding is to the nearest multiple of k with halves up, so with k = 5: 7 -> 5, 8 -> 10.
    Raises ValueError for a negative count or a threshold below 2.
    """
    _check_k(k)
    if n < 0:
        raise ValueError(f"a count cannot be negative, got {n}")
    if n == 0:
        return Figure(0)
    if n < k:
        return _SUPPRESSED
    return Figure(_rounded(n, k))


def rate(n: int, denominator: int | None, k: int, per: int = 1000) -> Figure:
    """Protect a rate: the *rounded* count of n per ``per`` of the denominator, one decimal.

    No denominator (None or 0) gives a Figure without data; a suppressed count gives a suppressed
    rate. The rate is computed from the shown count, never the raw one, so knowing the
    denominator gives back at most the shown count. Halves round up.
    """
    shown = count(n, k)
    if denominator is None or denominator == 0:
        return _NO_DATA
    if denominator < 0:
        raise ValueError(f"a denominator cannot be negative, got {denominator}")
    if per <= 0:
        raise ValueError(f"per must be positive, got {per}")
    if shown.suppressed:
        return _SUPPRESSED
    shown_n = 0 if n == 0 else _rounded(n, k)  # the shown count, as an int
    # Tenths of the rate, rounded half up with exact integer arithmetic.
    tenths = (20 * shown_n * per + denominator) // (2 * denominator)
    return Figure(tenths / 10)


def share(part: int, whole: int, k: int) -> Figure:
    """Protect a percentage ``part`` of ``whole`` (an int from 0 to 100).

    A whole of 0 gives a Figure without data. The share is suppressed when the whole is below k,
    or the part or the rest (whole - part) is 1..k-1. Otherwise it is computed from the rounded
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
    if whole < k or 1 <= part < k or 1 <= rest < k:
        return _SUPPRESSED
    shown_part = 0 if part == 0 else _rounded(part, k)
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
    row_totals: Mapping[str, Figure]
    column_totals: Mapping[str, Figure]
    total: Figure

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
        header = [row_label, *(col_names.get(c, c) for c in self.columns), total_label]
        body = [
            [
                row_names.get(r, r),
                *(self.cells[(r, c)].csv(k) for c in self.columns),
                self.row_totals[r].csv(k),
            ]
            for r in self.rows
        ]
        totals = [
            total_label,
            *(self.column_totals[c].csv(k) for c in self.columns),
            self.total.csv(k),
        ]
        return [header, *body, totals]


def table(
    raw: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str], k: int
) -> Table:
    """Protect a two-way table of raw counts keyed by (row, column).

    Missing keys count 0. Every cell, row total, column total and the grand total is
    ``count(raw sum, k)``. Raises ValueError for a key outside ``rows`` x ``columns`` (so no
    records drop out of the totals unnoticed), a duplicate row or column, or a negative count.
    """
    _check_k(k)
    row_keys = _unique("rows", rows)
    column_keys = _unique("columns", columns)
    known = set(row_keys), set(column_keys)
    for key, value in raw.items():
        if key[0] not in known[0] or key[1] not in known[1]:
            raise ValueError(f"the key {key!r} is not among the rows and columns")
        _check_raw(value, key)
    values = {(r, c): raw.get((r, c), 0) for r in row_keys for c in column_keys}
    return Table(
        rows=row_keys,
        columns=column_keys,
        cells=MappingProxyType({key: count(n, k) for key, n in values.items()}),
        row_totals=MappingProxyType(
            {r: count(sum(values[(r, c)] for c in column_keys), k) for r in row_keys}
        ),
        column_totals=MappingProxyType(
            {c: count(sum(values[(r, c)] for r in row_keys), k) for c in column_keys}
        ),
        total=count(sum(values.values()), k),
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

    Missing keys count 0; the total is ``count(raw sum, k)``. Raises ValueError for a key not in
    ``keys``, a duplicate key or a negative count.
    """
    _check_k(k)
    key_tuple = _unique("keys", keys)
    known = set(key_tuple)
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"the key {key!r} is not among the keys")
        _check_raw(value, key)
    values = {key: raw.get(key, 0) for key in key_tuple}
    return Series(
        keys=key_tuple,
        figures=MappingProxyType({key: count(n, k) for key, n in values.items()}),
        total=count(sum(values.values()), k),
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
