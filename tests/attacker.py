"""What a hostile reader can infer from published statistics figures.

Every published figure (a rounded or banded count) says that a sum of hidden non-negative
integer counts lies in an interval. `Inference` collects such statements as linear
constraints ``low <= sum(coef * x[name]) <= high`` over integer variables and runs bounds
propagation (interval constraint propagation) until nothing changes. The resulting bounds
of each hidden count are what an attacker can prove about it; a count whose bounds are a
single value has been disclosed.

Propagation is sound (the true counts always stay within the bounds) but not complete: it
reasons about one constraint at a time, so the bounds can be wider than the set of counts
that fit all figures together.

Standard library only, so it can be used from any test without the application.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeAlias

# The keys of a Mapping are invariant, so Mapping[Hashable, int] would refuse a dict[str, int];
# Any keeps names of any hashable type acceptable to mypy.
Terms: TypeAlias = Mapping[Any, int] | Iterable[tuple[Hashable, int]]
"""A linear sum: a mapping of variable names to coefficients, or (name, coefficient) pairs."""


class Contradiction(Exception):
    """The constraints admit no solution (a figure's interval was modelled wrongly).

    `label` is the label of the constraint that could not be met, or that pushed a
    variable's lower bound above its upper bound.
    """

    def __init__(self, label: object, message: str) -> None:
        super().__init__(message)
        self.label = label


def _merge(terms: Terms) -> dict[Hashable, int]:
    """Add up the coefficients per name, in order of first appearance; keeps zero totals."""
    pairs: Iterable[tuple[Hashable, int]] = terms.items() if isinstance(terms, Mapping) else terms
    merged: dict[Hashable, int] = {}
    for name, coef in pairs:
        if not isinstance(coef, int) or isinstance(coef, bool):
            raise TypeError(f"coefficient of {name!r} must be an int, not {coef!r}")
        merged[name] = merged.get(name, 0) + coef
    return merged


def _check_bound(value: int | None, what: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{what} must be an int or None, not {value!r}")


class Inference:
    """Bounds on hidden non-negative integer counts, tightened by linear constraints.

    Every variable is an integer in ``[0, upper]`` until constrained further. Add
    constraints with `constrain` (or `fix_lower` / `fix_upper`), call `propagate`, then read
    `bounds` and `sum_bounds`. Constraints may be added after a propagation; the next call
    continues from the bounds found so far.
    """

    def __init__(self, upper: int) -> None:
        """Start with no constraints; variables created later lie in ``[0, upper]``."""
        if not isinstance(upper, int) or isinstance(upper, bool) or upper < 0:
            raise ValueError(f"upper must be a non-negative int, not {upper!r}")
        self._upper = upper
        # Variables, by index.
        self._index: dict[Hashable, int] = {}
        self._names: list[Hashable] = []
        self._lo: list[int] = []
        self._hi: list[int] = []
        self._occurs: list[list[int]] = []  # variable -> the constraints that contain it
        # Constraints, by index. Terms are split by coefficient so that the common
        # coefficients +1 and -1 are summed with C-level loops.
        self._pos: list[list[int]] = []  # variables with coefficient +1
        self._neg: list[list[int]] = []  # variables with coefficient -1
        self._other: list[list[tuple[int, int]]] = []  # (variable, coefficient) otherwise
        self._low: list[int | None] = []
        self._high: list[int | None] = []
        self._label: list[object] = []
        # Work list: the constraints to visit in the next round, and a flag per constraint
        # that is set while it waits (in this round or the next one).
        self._queue: list[int] = []
        self._pending = bytearray()

    @property
    def variables(self) -> list[Hashable]:
        """The names of all variables, in order of creation."""
        return list(self._names)

    def _variable(self, name: Hashable) -> int:
        index = self._index.get(name)
        if index is None:
            index = len(self._names)
            self._index[name] = index
            self._names.append(name)
            self._lo.append(0)
            self._hi.append(self._upper)
            self._occurs.append([])
        return index

    def _lookup(self, name: Hashable) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown variable {name!r}") from None

    def constrain(
        self, terms: Terms, low: int | None, high: int | None, label: object = None
    ) -> None:
        """Add the constraint ``low <= sum(coef * x[name] for name, coef in terms) <= high``.

        `terms` is a mapping of names to coefficients or an iterable of (name, coefficient)
        pairs, in which repeated names add their coefficients; terms whose coefficients add
        up to zero are dropped. Coefficients are non-zero ints. `low` or `high` None means
        unbounded on that side. Unknown names create variables in ``[0, upper]`` (also for
        dropped terms). `label` identifies the constraint in a `Contradiction`. Nothing is
        inferred until `propagate`.
        """
        _check_bound(low, "low")
        _check_bound(high, "high")
        pos: list[int] = []
        neg: list[int] = []
        other: list[tuple[int, int]] = []
        for name, coef in _merge(terms).items():
            index = self._variable(name)
            if coef == 1:
                pos.append(index)
            elif coef == -1:
                neg.append(index)
            elif coef != 0:
                other.append((index, coef))
        constraint = len(self._low)
        self._pos.append(pos)
        self._neg.append(neg)
        self._other.append(other)
        self._low.append(low)
        self._high.append(high)
        self._label.append(label)
        for index in (*pos, *neg, *(index for index, _ in other)):
            self._occurs[index].append(constraint)
        self._pending.append(1)
        self._queue.append(constraint)

    def fix_upper(self, name: Hashable, high: int, label: object = None) -> None:
        """Add the constraint ``x[name] <= high``."""
        self.constrain({name: 1}, None, high, label)

    def fix_lower(self, name: Hashable, low: int, label: object = None) -> None:
        """Add the constraint ``x[name] >= low``."""
        self.constrain({name: 1}, low, None, label)

    def propagate(self, max_rounds: int = 1000) -> int:
        """Tighten the bounds until no bound changes; return the number of rounds.

        A round visits every constraint on the work list once; a constraint is put on the
        list for the next round when a bound of one of its variables changes. Stops after
        `max_rounds` rounds even if the work list is not empty (a later call continues).
        Raises `Contradiction` when a constraint cannot be met or a variable's lower bound
        would exceed its upper bound; the bounds are meaningless after that.
        """
        rounds = 0
        while self._queue and rounds < max_rounds:
            rounds += 1
            current = self._queue
            self._queue = []
            for constraint in current:
                self._pending[constraint] = 0
                self._visit(constraint)
        return rounds

    def _visit(self, constraint: int) -> None:
        """Tighten the bounds of the variables of one constraint, in O(terms)."""
        low = self._low[constraint]
        high = self._high[constraint]
        if low is None and high is None:
            return
        lo = self._lo
        hi = self._hi
        pos = self._pos[constraint]
        neg = self._neg[constraint]
        other = self._other[constraint]

        # The least and greatest values of the sum.
        smin = sum(map(lo.__getitem__, pos))
        smax = sum(map(hi.__getitem__, pos))
        if neg:
            smin -= sum(map(hi.__getitem__, neg))
            smax -= sum(map(lo.__getitem__, neg))
        for index, coef in other:
            if coef > 0:
                smin += coef * lo[index]
                smax += coef * hi[index]
            else:
                smin += coef * hi[index]
                smax += coef * lo[index]

        # Slack below and above: a term a*x can lie at most `slack_low` below its greatest
        # value and at most `slack_high` above its least value. An unbounded side has the
        # slack smax - smin, which restricts no term.
        spread = smax - smin
        slack_low = spread if low is None else smax - low
        slack_high = spread if high is None else high - smin
        label = self._label[constraint]
        if slack_low < 0:
            raise Contradiction(
                label, f"constraint {label!r}: the sum is at most {smax}, below {low}"
            )
        if slack_high < 0:
            raise Contradiction(
                label, f"constraint {label!r}: the sum is at least {smin}, above {high}"
            )
        slack = min(slack_low, slack_high)

        # A term whose coefficient is +1 or -1 can only tighten when its width exceeds the
        # slack; no width exceeds `upper`, so that test usually skips the term lists.
        if slack < self._upper:
            for index in [i for i in pos if hi[i] - lo[i] > slack]:
                self._tighten(
                    index,
                    hi[index] - slack_low,  # x >= hi - slack_low
                    lo[index] + slack_high,  # x <= lo + slack_high
                    constraint,
                )
            for index in [i for i in neg if hi[i] - lo[i] > slack]:
                self._tighten(
                    index,
                    hi[index] - slack_high,  # -x <= -hi + slack_high
                    lo[index] + slack_low,  # -x >= -lo - slack_low
                    constraint,
                )
        for index, coef in other:
            if (hi[index] - lo[index]) * abs(coef) <= slack:
                continue
            if coef > 0:
                # a*x >= a*hi - slack_low and a*x <= a*lo + slack_high, rounded inwards.
                self._tighten(
                    index,
                    hi[index] - slack_low // coef,
                    lo[index] + slack_high // coef,
                    constraint,
                )
            else:
                # With b = -a > 0: -b*x >= -b*lo - slack_low and -b*x <= -b*hi + slack_high.
                self._tighten(
                    index,
                    hi[index] - slack_high // -coef,
                    lo[index] + slack_low // -coef,
                    constraint,
                )

    def _tighten(self, index: int, new_lo: int, new_hi: int, constraint: int) -> None:
        """Intersect a variable's bounds with [new_lo, new_hi]; queue its constraints."""
        lo = self._lo[index]
        hi = self._hi[index]
        if new_lo <= lo and new_hi >= hi:
            return
        lo = max(lo, new_lo)
        hi = min(hi, new_hi)
        if lo > hi:
            label = self._label[constraint]
            raise Contradiction(
                label,
                f"constraint {label!r}: {self._names[index]!r} would lie in [{lo}, {hi}]",
            )
        self._lo[index] = lo
        self._hi[index] = hi
        pending = self._pending
        queue = self._queue
        for other in self._occurs[index]:
            if not pending[other]:
                pending[other] = 1
                queue.append(other)

    def bounds(self, name: Hashable) -> tuple[int, int]:
        """The current (lowest, highest) value of a variable; KeyError if it is unknown."""
        index = self._lookup(name)
        return self._lo[index], self._hi[index]

    def sum_bounds(self, terms: Terms) -> tuple[int, int]:
        """The (least, greatest) value of a linear sum under the current bounds.

        `terms` is as for `constrain`; unknown names raise KeyError. Call `propagate` first
        to use everything the constraints imply.
        """
        smin = smax = 0
        for name, coef in _merge(terms).items():
            index = self._lookup(name)
            if coef > 0:
                smin += coef * self._lo[index]
                smax += coef * self._hi[index]
            else:
                smin += coef * self._hi[index]
                smax += coef * self._lo[index]
        return smin, smax
