"""Exact statistics of a before/after comparison, with the rest of the organisation as control.

Pure (math only: no web framework, no database, no scipy). The counts are numbers of incidents
in two windows of equal length, before and after an organisational measure, for the measure's
scope (its teams, channels or locations) and for the rest of the organisation.

Counts are taken as Poisson. Conditional on a total, a count is binomial, and conditional on all
margins the 2x2 table follows Fisher's noncentral hypergeometric distribution, whose parameter is
the ratio of the two rate ratios. Both distributions have weights of the form
``base(x) * exp(lam * x)`` on an integer range, log-concave in ``x``, with ``lam`` the log odds.
One engine serves both:

- `rate_ratio`: after/before with the exact conditional (Clopper-Pearson) interval;
- `relative_change`: (scope after/before) / (rest after/before), with the exact interval of
  Fisher's exact test (Cornfield's, as R's ``fisher.test`` reports it) and the conditional
  maximum likelihood estimate.

Every probability is summed outward from the mode until the rest is provably negligible, so one
evaluation costs a few standard deviations of terms (about 10^4 for counts of 10^6), never the
whole range; parameters are found by safeguarded Newton steps in log-odds space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

# A sum outward from the mode stops once what is left is provably below this share of it.
_NEGLIGIBLE = 1e-17
# The log odds searched: far wider than any root of counts up to 10^9, and exp() stays finite.
_LAM_LIMIT = 600.0
# Roots in log odds to this absolute precision (relative 1e-12 on the ratio).
_LAM_TOLERANCE = 1e-12
_MAX_ITERATIONS = 200


@dataclass(frozen=True)
class Interval:
    """A point estimate and a confidence interval on a ratio (1 = no change).

    `estimate` is None when the data define no estimate (nothing before); `high` may be
    ``math.inf`` and `low` may be 0.0.
    """

    estimate: float | None
    low: float
    high: float

    def __post_init__(self) -> None:
        if math.isnan(self.low) or math.isnan(self.high) or not 0.0 <= self.low <= self.high:
            raise ValueError(f"not an interval of ratios: [{self.low}, {self.high}]")

    def covers(self, value: float) -> bool:
        """Whether `value` lies in the interval (its ends included)."""
        return self.low <= value <= self.high


class Conclusion(StrEnum):
    """What an interval says about a ratio, in words the page can translate."""

    FEWER = "fewer"
    MORE = "more"
    NO_CLEAR_CHANGE = "no_clear_change"


def conclusion(interval: Interval) -> Conclusion:
    """Fewer when the interval lies wholly below 1, more when wholly above, else no clear change."""
    if interval.high < 1.0:
        return Conclusion.FEWER
    if interval.low > 1.0:
        return Conclusion.MORE
    return Conclusion.NO_CLEAR_CHANGE


def percent(value: float | None) -> int | None:
    """A ratio as a change in percent, rounded to the nearest 5 (halves away from zero).

    0.62 -> -40, 1.0 -> 0, 2.0 -> 100; None for an infinite (or missing) ratio.
    """
    if value is None or not math.isfinite(value):
        return None
    change = (value - 1.0) * 100.0 / 5.0
    # Away from zero at halves (-37.5 -> -40), and no float noise (-38.000000001 -> -40).
    steps = math.floor(abs(change) + 0.5 + 1e-9)
    return int(math.copysign(steps, change)) * 5 if steps else 0


def rate_ratio(
    after: int, before: int, confidence: float = 0.95, exposure_ratio: float = 1.0
) -> Interval:
    """The rate ratio after/before per unit of exposure, with its exact conditional interval.

    Given n = after + before, `after` is Binomial(n, p) with p / (1 - p) = ratio * exposure,
    `exposure_ratio` being the exposure after divided by the exposure before (1.0 for windows
    of equal length). The interval is Clopper-Pearson's on p, mapped to the ratio. The estimate
    is None when `before` is 0; the interval is (0, inf) when both counts are 0.
    """
    _check_counts(after=after, before=before)
    _check_confidence(confidence)
    if not (math.isfinite(exposure_ratio) and exposure_ratio > 0):
        raise ValueError(f"exposure ratio must be positive and finite, not {exposure_ratio}")
    estimate = after / before / exposure_ratio if before else None
    odds = _conditional_interval(_Binomial(after + before), after, confidence)
    return Interval(estimate, odds.low / exposure_ratio, odds.high / exposure_ratio)


def relative_change(
    scope_before: int,
    scope_after: int,
    rest_before: int,
    rest_after: int,
    confidence: float = 0.95,
) -> Interval:
    """How the scope changed relative to the rest: (sa / sb) / (ra / rb), exactly.

    The four counts, as the table of Fisher's exact test (rows scope and rest, columns after and
    before)::

                after          before
        scope   scope_after    scope_before
        rest    rest_after     rest_before

    whose odds ratio is the ratio of the two rate ratios. Conditional on the margins, the count
    scope_after follows Fisher's noncentral hypergeometric distribution with that ratio as its
    parameter. The interval is the exact one of Fisher's test (R ``fisher.test(...)$conf.int``),
    the estimate the conditional maximum likelihood estimate (R's ``$estimate``): 0.0 or inf
    when a cell is 0, as R gives. When the margins leave scope_after no freedom (the scope or
    one window has no incidents at all) the estimate is None and the interval (0, inf).
    """
    _check_counts(
        scope_before=scope_before,
        scope_after=scope_after,
        rest_before=rest_before,
        rest_after=rest_after,
    )
    _check_confidence(confidence)
    family = _NoncentralHypergeometric(
        after=scope_after + rest_after,
        before=scope_before + rest_before,
        scope=scope_after + scope_before,
    )
    return _conditional_interval(family, scope_after, confidence, with_mle=True)


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a count (a whole number, 0 or more), not {value!r}")


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")


# -- The engine: weights base(x) * exp(lam * x) on lo..hi, base log-concave -------------------


class _Family:
    """A family of distributions on lo..hi with weights base(x) * exp(lam * x).

    `terms` counts the weights computed, so tests can pin the work without timing it.
    """

    lo: int
    hi: int

    def __init__(self) -> None:
        self.terms = 0

    def step(self, x: int) -> float:
        """base(x + 1) / base(x), for lo <= x < hi; non-increasing in x (log-concavity)."""
        raise NotImplementedError

    def log_base(self, x: int) -> float:
        """log base(x), up to a constant."""
        raise NotImplementedError


class _Binomial(_Family):
    """Binomial(n, p) with lam = log(p / (1 - p)): base(x) = C(n, x)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.lo, self.hi = 0, n

    def step(self, x: int) -> float:
        return (self.n - x) / (x + 1)

    def log_base(self, x: int) -> float:
        return -math.lgamma(x + 1) - math.lgamma(self.n - x + 1)


class _NoncentralHypergeometric(_Family):
    """Fisher's noncentral hypergeometric distribution of the table's scope_after cell.

    `after` and `before` are the column totals, `scope` the scope's row total; x = scope_after,
    base(x) = C(after, x) * C(before, scope - x), lam = the log odds ratio.
    """

    def __init__(self, after: int, before: int, scope: int) -> None:
        super().__init__()
        self.after, self.before, self.scope = after, before, scope
        self.lo, self.hi = max(0, scope - before), min(scope, after)

    def step(self, x: int) -> float:
        return (self.after - x) * (self.scope - x) / ((x + 1) * (self.before - self.scope + x + 1))

    def log_base(self, x: int) -> float:
        return -(
            math.lgamma(x + 1)
            + math.lgamma(self.after - x + 1)
            + math.lgamma(self.scope - x + 1)
            + math.lgamma(self.before - self.scope + x + 1)
        )


@dataclass(frozen=True)
class _Tail:
    """log P(tail) and its derivative in lam (E[X | tail] - E[X], signed for the tail)."""

    log_p: float
    slope: float


class _Distribution:
    """One member of a family (given lam), summed outward from its mode.

    `weights[i]` is w(first + i) / w(mode) for the x that carry all but a negligible share.
    """

    def __init__(self, family: _Family, lam: float) -> None:
        self.family, self.lam = family, lam
        self.theta = math.exp(lam)
        self.mode = self._find_mode()
        up = self._walk(self.mode, 1)
        down = self._walk(self.mode, -1)
        self.first = self.mode - len(down) + 1
        self.weights = down[:0:-1] + up
        self.total = math.fsum(self.weights)
        moments = [(self.first + i - self.mode) * w for i, w in enumerate(self.weights)]
        offset = math.fsum(moments) / self.total
        self.mean = self.mode + offset
        spread = [
            (self.first + i - self.mode - offset) ** 2 * w for i, w in enumerate(self.weights)
        ]
        self.variance = math.fsum(spread) / self.total

    def _ratio(self, x: int) -> float:
        """w(x + 1) / w(x)."""
        return self.family.step(x) * self.theta

    def _find_mode(self) -> int:
        """The largest x with w(x) >= w(x - 1): ratios fall with x, so bisect."""
        low, high = self.family.lo, self.family.hi
        while low < high:
            middle = (low + high + 1) // 2
            if self._ratio(middle - 1) >= 1.0:
                low = middle
            else:
                high = middle - 1
        return low

    def _walk(self, start: int, direction: int) -> list[float]:
        """w(x) / w(start) from `start` outward, while the weights fall (start on the far side
        of the mode, or the mode), until the rest is below _NEGLIGIBLE of the sum.

        The ratios keep falling outward (log-concavity), so once the ratio r to the next weight
        is below 1, all the rest is at most weight * r / (1 - r): a proven bound, not a guess.
        """
        family = self.family
        weights = [1.0]
        weight, total, x = 1.0, 1.0, start
        while family.lo < x if direction < 0 else x < family.hi:
            ratio = self._ratio(x) if direction > 0 else 1.0 / self._ratio(x - 1)
            if ratio < 1.0 and weight * ratio / (1.0 - ratio) <= _NEGLIGIBLE * total:
                break
            weight *= ratio
            x += direction
            weights.append(weight)
            total += weight
        family.terms += len(weights)
        return weights

    def upper(self, k: int) -> _Tail:
        """P(X >= k), for lo < k <= hi."""
        return self._tail(k, 1)

    def lower(self, k: int) -> _Tail:
        """P(X <= k), for lo <= k < hi."""
        return self._tail(k, -1)

    def _tail(self, k: int, direction: int) -> _Tail:
        last = self.first + len(self.weights) - 1
        inside = k <= last if direction > 0 else k >= self.first
        if inside:
            # Within the summed range: a plain sum of its weights (no subtraction from 1).
            if direction > 0:
                start = max(k, self.first)
                part = self.weights[start - self.first :]
            else:
                start = self.first
                part = self.weights[: k - self.first + 1]
            mass = math.fsum(part)
            moment = math.fsum((start + i - self.mode) * w for i, w in enumerate(part))
            log_p = math.log(mass / self.total)
            tail_mean = self.mode + moment / mass
        else:
            # Beyond it (probability below 1e-17): in log space, from k outward.
            outward = self._walk(k, direction)
            mass = math.fsum(outward)
            moment = math.fsum(i * w for i, w in enumerate(outward))
            family = self.family
            log_w = family.log_base(k) - family.log_base(self.mode) + self.lam * (k - self.mode)
            log_p = log_w + math.log(mass) - math.log(self.total)
            tail_mean = k + direction * moment / mass
        return _Tail(min(log_p, 0.0), tail_mean - self.mean)


def _solve(function: Callable[[float], tuple[float, float]], guess: float, scale: float) -> float:
    """The root of an increasing function of lam, by Newton steps kept inside a bracket.

    `function(lam)` gives (value, derivative). The bracket is found by stepping out from
    `guess` (half again as far as Newton's step, or `scale`, doubling each time); then Newton's
    step is taken when it lands inside the bracket and bisection otherwise, so it always
    converges.
    """
    lam = guess
    value, slope = function(lam)
    low, high = -_LAM_LIMIT, _LAM_LIMIT
    below = value < 0
    step = scale
    while value != 0.0 and (value < 0) == below:
        # Still on the guess's side of the root: step on until the sign changes.
        if below:
            low = lam
        else:
            high = lam
        if lam in (-_LAM_LIMIT, _LAM_LIMIT):
            raise ArithmeticError("no root within the log-odds limits")
        move = max(step, 1.5 * abs(value / slope) if slope > 0 else 0.0)
        lam = min(lam + move, _LAM_LIMIT) if below else max(lam - move, -_LAM_LIMIT)
        value, slope = function(lam)
        step *= 2
    for _ in range(_MAX_ITERATIONS):
        if value == 0.0:
            return lam
        if value < 0:
            low = lam
        else:
            high = lam
        delta = value / slope if slope > 0 else math.inf
        if abs(delta) < _LAM_TOLERANCE:
            return lam - delta
        newton = lam - delta
        lam = newton if low < newton < high else (low + high) / 2
        if high - low < _LAM_TOLERANCE:
            return lam
        value, slope = function(lam)
    raise ArithmeticError("no convergence")  # pragma: no cover - bisection always converges


def _conditional_interval(
    family: _Family, x: int, confidence: float, *, with_mle: bool = False
) -> Interval:
    """The exact two-sided interval on exp(lam) for an observed x, and optionally the MLE.

    Lower end: P_lam(X >= x) = alpha / 2 (0 when x is the least possible value); upper end:
    P_lam(X <= x) = alpha / 2 (inf when x is the largest). This is Clopper-Pearson's interval
    for the binomial and Cornfield's (R fisher.test's) for the noncentral hypergeometric.
    """
    lo, hi = family.lo, family.hi
    if lo == hi:
        return Interval(None, 0.0, math.inf)
    log_alpha = math.log((1.0 - confidence) / 2.0)
    centre, spread = _start(family, x)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)

    def upper_tail(lam: float) -> tuple[float, float]:
        tail = _Distribution(family, lam).upper(x)
        return tail.log_p - log_alpha, tail.slope

    def lower_tail(lam: float) -> tuple[float, float]:
        # P(X <= x) falls as lam grows: negate it, so the solver sees an increasing function.
        tail = _Distribution(family, lam).lower(x)
        return log_alpha - tail.log_p, -tail.slope

    def mean_minus_x(lam: float) -> tuple[float, float]:
        member = _Distribution(family, lam)
        return member.mean - x, member.variance

    low = 0.0 if x == lo else math.exp(_solve(upper_tail, centre - z * spread, spread))
    high = math.inf if x == hi else math.exp(_solve(lower_tail, centre + z * spread, spread))
    estimate: float | None = None
    if with_mle:
        if x == lo:
            estimate = 0.0
        elif x == hi:
            estimate = math.inf
        else:
            estimate = math.exp(_solve(mean_minus_x, centre, spread))
    return Interval(estimate, low, high)


def _start(family: _Family, x: int) -> tuple[float, float]:
    """Log odds with half a count added to every cell, and Woolf's standard error."""
    if isinstance(family, _NoncentralHypergeometric):
        cells = (
            x,
            family.scope - x,
            family.after - x,
            family.before - family.scope + x,
        )
        a, b, c, d = (cell + 0.5 for cell in cells)
        return math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert isinstance(family, _Binomial)  # noqa: S101 - the only other family
    a, b = x + 0.5, family.n - x + 0.5
    return math.log(a / b), math.sqrt(1 / a + 1 / b)
