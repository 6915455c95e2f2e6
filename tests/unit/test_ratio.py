"""Pure tests of the exact before/after statistics (incidents/stats/ratio.py).

Reference values come from R (binom.test, fisher.test) where R is precise enough to pin them;
every interval is also checked by an independent method: the tails of the binomial and of
Fisher's noncentral hypergeometric distribution summed directly over their whole support with
exact integers (math.comb, fractions), no logarithms and no recursion.
"""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.stats import ratio
from incidents.stats.ratio import (
    Conclusion,
    Interval,
    conclusion,
    percent,
    rate_ratio,
    relative_change,
)

FAST = settings(max_examples=60, deadline=None, database=None)


# -- Independent references: direct summation with exact arithmetic ---------------------------


def binomial_tails(n: int, k: int, odds: float) -> tuple[float, float]:
    """P(X >= k) and P(X <= k) for X ~ Binomial(n, p), p / (1 - p) = odds, summed exactly."""
    theta = Fraction(odds)
    weights = [math.comb(n, x) * theta**x for x in range(n + 1)]
    total = sum(weights)
    return float(sum(weights[k:]) / total), float(sum(weights[: k + 1]) / total)


def table_of(sb: int, sa: int, rb: int, ra: int) -> tuple[int, int, int, int, int]:
    """The conditional distribution of scope_after: its margins and support (after, before,
    scope, lo, hi), as the table rows scope/rest, columns after/before."""
    after, before, scope = sa + ra, sb + rb, sa + sb
    return after, before, scope, max(0, scope - before), min(scope, after)


def fisher_weights(sb: int, sa: int, rb: int, ra: int, psi: float) -> dict[int, Fraction]:
    """P(scope_after = x) under Fisher's noncentral hypergeometric with odds ratio psi, exact."""
    after, before, scope, lo, hi = table_of(sb, sa, rb, ra)
    odds = Fraction(psi)
    weights = {
        x: math.comb(after, x) * math.comb(before, scope - x) * odds**x for x in range(lo, hi + 1)
    }
    total = sum(weights.values())
    return {x: w / total for x, w in weights.items()}


def fisher_upper(sb: int, sa: int, rb: int, ra: int, psi: float) -> float:
    return float(sum(p for x, p in fisher_weights(sb, sa, rb, ra, psi).items() if x >= sa))


def fisher_lower(sb: int, sa: int, rb: int, ra: int, psi: float) -> float:
    return float(sum(p for x, p in fisher_weights(sb, sa, rb, ra, psi).items() if x <= sa))


def fisher_mean(sb: int, sa: int, rb: int, ra: int, psi: float) -> float:
    return float(sum(x * p for x, p in fisher_weights(sb, sa, rb, ra, psi).items()))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count: the arrivals in one unit of time of a process with rate `mean`."""
    count, clock = 0, rng.expovariate(mean)
    while clock <= 1.0:
        count += 1
        clock += rng.expovariate(mean)
    return count


def assert_exact_fisher(sb: int, sa: int, rb: int, ra: int, confidence: float) -> Interval:
    """The interval's ends and estimate solve their defining equations, by direct summation."""
    result = relative_change(sb, sa, rb, ra, confidence)
    alpha = (1 - confidence) / 2
    _, _, _, lo, hi = table_of(sb, sa, rb, ra)
    if sa == lo:
        assert result.low == 0.0
        assert result.estimate == 0.0
    else:
        assert fisher_upper(sb, sa, rb, ra, result.low) == pytest.approx(alpha, rel=1e-9)
    if sa == hi:
        assert result.high == math.inf
        assert result.estimate == math.inf
    else:
        assert fisher_lower(sb, sa, rb, ra, result.high) == pytest.approx(alpha, rel=1e-9)
    if lo < sa < hi:
        assert result.estimate is not None
        assert fisher_mean(sb, sa, rb, ra, result.estimate) == pytest.approx(sa, abs=1e-9)
        assert result.low < result.estimate < result.high
    return result


# -- rate_ratio: Clopper-Pearson ----------------------------------------------------------------


def test_rate_ratio_of_five_and_five_is_binom_test_mapped_to_odds() -> None:
    # R 4.x: binom.test(5, 10)$conf.int = 0.1870860 0.8129140. Given 10 incidents in all, the
    # count after is Binomial(10, p) with p / (1 - p) = the rate ratio, so the ratio's bounds
    # are p / (1 - p) at R's bounds: 0.230142 and 4.345135 (1 / 0.230142; the brief's 4.3442
    # is a slip: 0.8129140 / 0.1870860 = 4.34513).
    result = rate_ratio(5, 5)
    assert result.estimate == 1.0
    assert result.low / (1 + result.low) == pytest.approx(0.1870860, abs=5e-8)
    assert result.high / (1 + result.high) == pytest.approx(0.8129140, abs=5e-8)
    assert result.low == pytest.approx(0.230142, abs=1e-6)
    assert result.high == pytest.approx(4.345135, abs=1e-6)
    assert result.high == pytest.approx(1 / result.low, rel=1e-12)
    upper, _ = binomial_tails(10, 5, result.low)
    _, lower = binomial_tails(10, 5, result.high)
    assert upper == pytest.approx(0.025, rel=1e-12)
    assert lower == pytest.approx(0.025, rel=1e-12)


@pytest.mark.parametrize(
    ("after", "before", "confidence"),
    [(1, 9, 0.95), (3, 7, 0.95), (17, 40, 0.9), (150, 100, 0.99), (40, 1, 0.95), (0, 12, 0.95)],
)
def test_rate_ratio_bounds_solve_the_binomial_tails(
    after: int, before: int, confidence: float
) -> None:
    result = rate_ratio(after, before, confidence)
    alpha = (1 - confidence) / 2
    n = after + before
    if after == 0:
        assert result.low == 0.0
        assert result.estimate == 0.0
    else:
        assert binomial_tails(n, after, result.low)[0] == pytest.approx(alpha, rel=1e-9)
    assert binomial_tails(n, after, result.high)[1] == pytest.approx(alpha, rel=1e-9)
    assert result.estimate == after / before
    assert result.covers(after / before)


def test_rate_ratio_zero_counts() -> None:
    assert rate_ratio(0, 0) == Interval(None, 0.0, math.inf)
    nothing_before = rate_ratio(3, 0)
    assert nothing_before.estimate is None
    assert nothing_before.high == math.inf
    # P(X >= 3 | n = 3) = p^3 = 0.025 at the lower bound.
    p = 0.025 ** (1 / 3)
    assert nothing_before.low == pytest.approx(p / (1 - p), rel=1e-10)
    nothing_after = rate_ratio(0, 3)
    assert nothing_after.estimate == 0.0
    assert nothing_after.low == 0.0
    assert nothing_after.high == pytest.approx(1 / nothing_before.low, rel=1e-10)


def test_rate_ratio_exposure_divides_the_ratio() -> None:
    plain, longer_after = rate_ratio(10, 5), rate_ratio(10, 5, exposure_ratio=2.0)
    assert longer_after.estimate == pytest.approx(1.0)
    assert longer_after.low == pytest.approx(plain.low / 2, rel=1e-12)
    assert longer_after.high == pytest.approx(plain.high / 2, rel=1e-12)


# -- relative_change: Fisher's exact interval and the conditional MLE --------------------------


def test_relative_change_of_the_tea_tasting_table_is_r_fisher_test() -> None:
    # R: fisher.test(matrix(c(3, 1, 1, 3), 2)) gives odds ratio 6.408309, conf.int 0.2117329
    # 621.9337505. matrix() fills by column, so the table is [[3, 1], [1, 3]]: x[1,1] = 3,
    # x[2,1] = 1, x[1,2] = 1, x[2,2] = 3, and R's odds ratio is x11 * x22 / (x12 * x21). With
    # rows scope/rest and columns after/before that odds ratio is (sa / sb) / (ra / rb), so
    # x11 = scope_after = 3, x12 = scope_before = 1, x21 = rest_after = 1, x22 = rest_before = 3.
    result = assert_exact_fisher(sb=1, sa=3, rb=3, ra=1, confidence=0.95)
    assert result.estimate == pytest.approx(6.408309, rel=2e-6)
    assert result.low == pytest.approx(0.2117329, rel=2e-5)
    # R finds the upper end as 1 / uniroot(t) on (eps, 1), with uniroot's default tolerance
    # eps^0.25 = 1.22e-4 on t: its 621.93 only holds to that (the tail there is 0.02517, not
    # 0.025). The exact end is 626.2435, which assert_exact_fisher verified by summation.
    assert abs(1 / result.high - 1 / 621.9337505) < 1.22e-4
    assert result.high == pytest.approx(626.24353, rel=1e-7)


def test_relative_change_of_ten_twenty_thirty_forty() -> None:
    # fisher.test(matrix(c(10, 20, 30, 40), 2)): x11 = 10 (scope after), x21 = 20 (rest after),
    # x12 = 30 (scope before), x22 = 40 (rest before). The brief's rough 0.6702 (0.2605, 1.6945)
    # do not solve the defining equations (the tails there are 0.035 and 0.031, the mean 10.006),
    # so only what summation verifies is pinned: 0.669338 (0.242026, 1.764285).
    result = assert_exact_fisher(sb=30, sa=10, rb=40, ra=20, confidence=0.95)
    assert result.estimate == pytest.approx(0.669338, abs=1e-6)
    assert result.low == pytest.approx(0.242026, abs=1e-6)
    assert result.high == pytest.approx(1.764285, abs=1e-6)
    assert conclusion(result) is Conclusion.NO_CLEAR_CHANGE


@pytest.mark.parametrize(
    ("sb", "sa", "rb", "ra", "confidence"),
    [
        (1, 1, 1, 1, 0.95),
        (12, 4, 30, 31, 0.95),
        (5, 40, 60, 50, 0.9),
        (3, 2, 2, 3, 0.99),
        (40, 20, 7, 9, 0.95),
        # Zero cells: each one puts scope_after at an end of its support.
        (0, 5, 3, 4, 0.95),
        (5, 0, 3, 4, 0.95),
        (5, 4, 0, 3, 0.95),
        (5, 4, 3, 0, 0.95),
        (0, 6, 2, 0, 0.95),
    ],
)
def test_relative_change_solves_its_defining_equations(sb, sa, rb, ra, confidence) -> None:
    assert_exact_fisher(sb, sa, rb, ra, confidence)


@FAST
@given(
    st.integers(0, 25), st.integers(0, 25), st.integers(0, 25), st.integers(0, 25),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)  # fmt: skip
def test_relative_change_is_exact_on_any_small_table(sb, sa, rb, ra, confidence) -> None:
    _, _, _, lo, hi = table_of(sb, sa, rb, ra)
    if lo == hi:
        assert relative_change(sb, sa, rb, ra, confidence) == Interval(None, 0.0, math.inf)
    else:
        assert_exact_fisher(sb, sa, rb, ra, confidence)


def test_zero_cells_give_the_ends_r_gives() -> None:
    # R: a zero scope_after or rest_before gives odds ratio 0 and a lower end 0; a zero
    # scope_before or rest_after gives Inf and an upper end Inf.
    assert relative_change(3, 0, 4, 5).estimate == 0.0
    assert relative_change(3, 5, 0, 4).estimate == 0.0
    assert relative_change(0, 5, 3, 4).estimate == math.inf
    assert relative_change(4, 5, 3, 0).high == math.inf
    # No freedom left: nothing in the scope, or nothing at all before.
    for counts in [(0, 0, 3, 4), (0, 7, 0, 4), (0, 0, 0, 0), (3, 0, 4, 0)]:
        assert relative_change(*counts) == Interval(None, 0.0, math.inf), counts


def test_swapping_before_and_after_inverts_the_interval() -> None:
    for sb, sa, rb, ra in [(12, 4, 30, 31), (1, 3, 3, 1), (250, 180, 900, 1000), (0, 5, 3, 4)]:
        forward, backward = relative_change(sb, sa, rb, ra), relative_change(sa, sb, ra, rb)
        assert backward.low == pytest.approx(1 / forward.high, rel=1e-9, abs=0)
        assert backward.high == pytest.approx(1 / forward.low if forward.low else math.inf)
        assert forward.estimate is not None and backward.estimate is not None
        inverse = 1 / forward.estimate if forward.estimate else math.inf
        assert backward.estimate == pytest.approx(inverse, rel=1e-9)
        # Scope and rest swapped is the inverse too.
        other = relative_change(rb, ra, sb, sa)
        assert (other.estimate, other.low, other.high) == pytest.approx(
            (backward.estimate, backward.low, backward.high), rel=1e-9
        )
    for after, before in [(5, 9), (0, 4), (30, 11)]:
        forward, backward = rate_ratio(after, before), rate_ratio(before, after)
        assert backward.low == pytest.approx(1 / forward.high, rel=1e-9)
        assert backward.high == pytest.approx(1 / forward.low if forward.low else math.inf)


def test_more_after_in_the_scope_moves_everything_up() -> None:
    for rb, ra in [(20, 20), (5, 60)]:
        results = [relative_change(10, sa, rb, ra) for sa in range(1, 40)]
        for smaller, larger in itertools.pairwise(results):
            assert smaller.low < larger.low
            assert smaller.high < larger.high
            assert smaller.estimate is not None and larger.estimate is not None
            assert smaller.estimate < larger.estimate
        # More in the rest after makes the scope's change look smaller.
        results = [relative_change(10, 10, rb, ra + extra) for extra in range(30)]
        for smaller, larger in itertools.pairwise(results):
            assert larger.low < smaller.low and larger.high < smaller.high
    rates = [rate_ratio(after, 10) for after in range(30)]
    for smaller, larger in itertools.pairwise(rates):
        assert smaller.low <= larger.low and smaller.high < larger.high


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    intervals = [relative_change(30, 18, 200, 210, c) for c in (0.8, 0.9, 0.95, 0.99)]
    for narrow, wide in itertools.pairwise(intervals):
        assert wide.low < narrow.low and narrow.high < wide.high


# -- Huge counts: the work grows with the spread, not with the counts --------------------------


def woolf(sb: int, sa: int, rb: int, ra: int) -> tuple[float, float, float]:
    """The large-sample (Woolf) odds ratio and 95% interval: close to exact for large counts."""
    log_or = math.log(sa * rb / (sb * ra))
    se = math.sqrt(1 / sa + 1 / sb + 1 / ra + 1 / rb)
    return math.exp(log_or), math.exp(log_or - 1.959964 * se), math.exp(log_or + 1.959964 * se)


@pytest.mark.parametrize(
    "counts",
    [
        (10**6, 10**6 - 3000, 10**6, 10**6),
        (10**6, 10**6, 10**6, 10**6),
        (400_000, 10**6, 10**6, 700_000),
    ],
)
def test_huge_counts_are_exact_and_cheap(counts: tuple[int, int, int, int]) -> None:
    sb, sa, rb, ra = counts
    family = ratio._NoncentralHypergeometric(after=sa + ra, before=sb + rb, scope=sa + sb)
    result = ratio._conditional_interval(family, sa, 0.95, with_mle=True)
    assert result == relative_change(*counts)
    # One sum over the whole support would already be ~2 * 10^6 weights: every evaluation
    # stays within a few standard deviations (~500) of the mode.
    assert family.terms < 500_000
    estimate, low, high = woolf(*counts)
    assert result.estimate == pytest.approx(estimate, rel=1e-5)
    assert result.low == pytest.approx(low, rel=1e-4)
    assert result.high == pytest.approx(high, rel=1e-4)

    binomial = ratio._Binomial(sa + sb)
    rate = ratio._conditional_interval(binomial, sa, 0.95)
    assert binomial.terms < 500_000
    se = math.sqrt(1 / sa + 1 / sb)
    assert rate.low == pytest.approx(sa / sb * math.exp(-1.959964 * se), rel=1e-4)
    assert rate.high == pytest.approx(sa / sb * math.exp(1.959964 * se), rel=1e-4)


def test_extreme_huge_tables_stay_finite() -> None:
    tiny = relative_change(10**6, 1, 1, 10**6)
    huge = relative_change(1, 10**6, 10**6, 1)
    for result in (tiny, huge):
        assert result.estimate is not None
        assert 0 < result.low < result.estimate < result.high < math.inf
    assert huge.low == pytest.approx(1 / tiny.high, rel=1e-9)
    assert conclusion(tiny) is Conclusion.FEWER and conclusion(huge) is Conclusion.MORE
    nearly_nothing = relative_change(10**6, 10, 10**6, 10**6)
    assert nearly_nothing.covers(1e-5)


# -- Simulations: a planted effect is found, no effect and a general trend are not -------------


def simulate(rng: random.Random, scope: tuple[float, float], rest: tuple[float, float]) -> Interval:
    return relative_change(
        poisson(rng, scope[0]), poisson(rng, scope[1]), poisson(rng, rest[0]), poisson(rng, rest[1])
    )


def test_a_halved_rate_in_the_scope_is_found() -> None:
    rng = random.Random(2101)
    for _ in range(40):
        result = simulate(rng, scope=(400, 200), rest=(2000, 2000))
        assert conclusion(result) is Conclusion.FEWER
        assert result.covers(0.5) or abs(math.log(result.low / 0.5)) < 0.1


def test_no_effect_is_covered_by_the_interval() -> None:
    rng = random.Random(2102)
    results = [simulate(rng, scope=(30, 30), rest=(150, 150)) for _ in range(400)]
    covered = sum(result.covers(1.0) for result in results)
    # Exact conditional intervals are conservative: 95% at least, in expectation.
    assert covered >= 0.93 * 400


def test_a_trend_everywhere_is_not_credited_to_the_measure() -> None:
    rng = random.Random(2103)
    credited = naive = 0
    for _ in range(200):
        sb, sa = poisson(rng, 30), poisson(rng, 60)
        rb, ra = poisson(rng, 150), poisson(rng, 300)
        credited += conclusion(relative_change(sb, sa, rb, ra)) is not Conclusion.NO_CLEAR_CHANGE
        naive += conclusion(rate_ratio(sa, sb)) is Conclusion.MORE
    assert credited <= 0.07 * 200
    # The scope compared only with itself would mostly report a change.
    assert naive >= 0.7 * 200


# -- Words and rounding -----------------------------------------------------------------------


def test_conclusion_in_words() -> None:
    assert conclusion(Interval(0.5, 0.3, 0.9)) is Conclusion.FEWER
    assert conclusion(Interval(2.0, 1.2, math.inf)) is Conclusion.MORE
    assert conclusion(Interval(1.0, 0.4, 2.5)) is Conclusion.NO_CLEAR_CHANGE
    assert conclusion(Interval(None, 0.0, math.inf)) is Conclusion.NO_CLEAR_CHANGE
    # An end exactly at 1 is covering 1.
    assert conclusion(Interval(0.6, 0.3, 1.0)) == "no_clear_change"
    assert conclusion(Interval(1.6, 1.0, 3.0)) == "no_clear_change"
    assert {c.value for c in Conclusion} == {"fewer", "more", "no_clear_change"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.62, -40),
        (1.0, 0),
        (2.0, 100),
        (0.0, -100),
        (1.024, 0),
        (1.026, 5),
        (0.975, -5),  # -2.5 rounds away from zero
        (1.125, 15),  # 12.5 likewise
        (0.874, -15),
        (1.3, 30),
        (0.7, -30),
        (math.inf, None),
        (None, None),
    ],
)
def test_percent_rounds_to_the_nearest_five(value: float | None, expected: int | None) -> None:
    assert percent(value) == expected


def test_interval_covers_and_refuses_nonsense() -> None:
    interval = Interval(1.0, 0.5, math.inf)
    assert interval.covers(0.5) and interval.covers(1e300) and not interval.covers(0.49)
    for low, high in [(2.0, 1.0), (-0.1, 1.0), (math.nan, 1.0), (0.0, math.nan)]:
        with pytest.raises(ValueError, match="not an interval"):
            Interval(None, low, high)


@pytest.mark.parametrize(
    "call",
    [
        lambda: rate_ratio(-1, 3),
        lambda: rate_ratio(True, 3),
        lambda: rate_ratio(2.5, 3),  # type: ignore[arg-type]
        lambda: rate_ratio(2, 3, confidence=1.0),
        lambda: rate_ratio(2, 3, confidence=0.0),
        lambda: rate_ratio(2, 3, exposure_ratio=0.0),
        lambda: rate_ratio(2, 3, exposure_ratio=math.inf),
        lambda: relative_change(1, 2, 3, -4),
        lambda: relative_change(1, 2, 3, 4, confidence=95),
    ],
)
def test_bad_input_is_refused(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_far_tails_keep_their_size_in_log_space() -> None:
    # Far beyond the weights summed around the mode (below 1e-17 of them), a tail is summed
    # from its own end in log space: the root search needs its size, not 0.
    for lam, k in [(-5.0, 15), (-9.0, 20), (4.0, 0)]:
        member = ratio._Distribution(ratio._Binomial(20), lam)
        upper, lower = binomial_tails(20, k, math.exp(lam))
        if k > member.mode:
            assert member.upper(k).log_p == pytest.approx(math.log(upper), rel=1e-12)
        else:
            assert member.lower(k).log_p == pytest.approx(math.log(lower), rel=1e-12)
    assert math.log(binomial_tails(20, 20, math.exp(-9.0))[0]) < -180
