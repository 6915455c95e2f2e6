"""Tests of the attacker model: bounds propagation over published figures. No app."""

from __future__ import annotations

import ast
import itertools
import random
from collections.abc import Hashable
from pathlib import Path

import pytest

from tests import attacker
from tests.attacker import Contradiction, Inference

Terms = dict[Hashable, int]
Constraint = tuple[Terms, int | None, int | None]


def around(total: int) -> tuple[int, int]:
    """A published figure: the true total rounded to a multiple of 5, plus or minus 2."""
    rounded = 5 * round(total / 5)
    return max(0, rounded - 2), rounded + 2


def floor_div(a: int, b: int) -> int:
    return a // b


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def assert_fixpoint(inference: Inference, constraints: list[Constraint]) -> None:
    """No constraint tightens any bound any further (rule re-derived with the public API)."""
    for terms, low, high in constraints:
        total_min, total_max = inference.sum_bounds(terms)
        assert low is None or total_max >= low
        assert high is None or total_min <= high
        for name, coef in terms.items():
            term_min, term_max = inference.sum_bounds({name: coef})
            lo, hi = inference.bounds(name)
            if low is not None:  # coef * x >= low - (the other terms at their greatest)
                need = low - (total_max - term_max)
                if coef > 0:
                    assert lo >= ceil_div(need, coef)
                else:
                    assert hi <= floor_div(need, coef)
            if high is not None:  # coef * x <= high - (the other terms at their least)
                room = high - (total_min - term_min)
                if coef > 0:
                    assert hi <= floor_div(room, coef)
                else:
                    assert lo >= ceil_div(room, coef)


# --- soundness on random instances -----------------------------------------------------------


def test_a_large_random_instance_keeps_the_truth_within_the_bounds() -> None:
    rng = random.Random(20260101)
    n_variables, n_constraints, upper = 10_000, 5_000, 20
    truth = [0 if rng.random() < 0.6 else rng.randint(1, 12) for _ in range(n_variables)]
    inference = Inference(upper)
    members: list[list[int]] = []
    for label in range(n_constraints):
        chosen = rng.sample(range(n_variables), rng.randint(1, 500))
        low, high = around(sum(truth[v] for v in chosen))
        inference.constrain(dict.fromkeys(chosen, 1), low, high, label)
        members.append(chosen)

    rounds = inference.propagate()

    assert 1 <= rounds < 1000
    assert inference.propagate() == 0  # the fixpoint was reached
    known = set(inference.variables)
    used = [v for v in range(n_variables) if v in known]
    narrowed = 0
    for v in used:
        value = truth[v]
        lo, hi = inference.bounds(v)
        assert 0 <= lo <= value <= hi <= upper
        narrowed += (lo, hi) != (0, upper)
    assert narrowed > 100  # the attacker learns something
    for chosen in members:
        lo, hi = inference.sum_bounds(dict.fromkeys(chosen, 1))
        assert lo <= sum(truth[v] for v in chosen) <= hi
    for _ in range(200):
        terms = {v: rng.choice((1, -1, 2, -3)) for v in rng.sample(used, 50)}
        lo, hi = inference.sum_bounds(terms)
        assert lo <= sum(coef * truth[v] for v, coef in terms.items()) <= hi


def random_terms(rng: random.Random, names: list[str], most: int) -> Terms:
    chosen = rng.sample(names, rng.randint(1, min(most, len(names))))
    return {name: rng.choice((1, 1, 1, -1, -1, 2, -2, 3, -3)) for name in chosen}


def test_medium_random_instances_with_mixed_coefficients_are_sound_and_at_a_fixpoint() -> None:
    rng = random.Random(7)
    for _ in range(30):
        upper = rng.choice((3, 10, 40))
        names = [f"x{i}" for i in range(rng.randint(5, 300))]
        truth: dict[Hashable, int] = {n: rng.choice((0, 0, rng.randint(0, upper))) for n in names}
        inference = Inference(upper)
        constraints: list[Constraint] = []
        for label in range(rng.randint(1, 200)):
            terms = random_terms(rng, names, 40)
            value = sum(coef * truth[name] for name, coef in terms.items())
            low: int | None = value - rng.randint(0, 3)
            high: int | None = value + rng.randint(0, 3)
            if rng.random() < 0.2:
                low = None
            elif rng.random() < 0.2:
                high = None
            inference.constrain(terms, low, high, label)
            constraints.append((terms, low, high))
        inference.propagate()
        for name in inference.variables:
            lo, hi = inference.bounds(name)
            assert lo <= truth[name] <= hi
        assert_fixpoint(inference, constraints)


def satisfies(values: dict[Hashable, int], constraints: list[Constraint]) -> bool:
    for terms, low, high in constraints:
        total = sum(coef * values[name] for name, coef in terms.items())
        if (low is not None and total < low) or (high is not None and total > high):
            return False
    return True


def test_small_random_instances_agree_with_brute_force() -> None:
    """Every solution lies within the bounds; a Contradiction only when there is none."""
    rng = random.Random(11)
    names = ["a", "b", "c", "d"]
    contradictions = 0
    for _ in range(400):
        upper = rng.randint(1, 4)
        inference = Inference(upper)
        constraints: list[Constraint] = []
        for label in range(rng.randint(1, 4)):
            terms = random_terms(rng, names, 4)
            low = rng.randint(-6, 10)
            high = low + rng.randint(0, 4)
            inference.constrain(terms, low, high, label)
            constraints.append((terms, low, high))
        used = inference.variables
        assignments = (
            dict(zip(used, values, strict=True))
            for values in itertools.product(range(upper + 1), repeat=len(used))
        )
        solutions = [values for values in assignments if satisfies(values, constraints)]
        try:
            inference.propagate()
        except Contradiction as error:
            assert solutions == []
            assert error.label in range(len(constraints))
            contradictions += 1
            continue
        for solution in solutions:
            for name, value in solution.items():
                lo, hi = inference.bounds(name)
                assert lo <= value <= hi
        assert_fixpoint(inference, constraints)
    assert contradictions > 20


# --- worked examples ---------------------------------------------------------------------------


def test_four_quarters_of_at_least_one_and_a_total_of_at_most_four_are_each_exactly_one() -> None:
    inference = Inference(4)
    quarters = ["q1", "q2", "q3", "q4"]
    for quarter in quarters:
        inference.fix_lower(quarter, 1)
    inference.constrain(dict.fromkeys(quarters, 1), 1, 4, "year")

    inference.propagate()

    assert [inference.bounds(q) for q in quarters] == [(1, 1)] * 4
    assert inference.sum_bounds(dict.fromkeys(quarters, 1)) == (4, 4)


def test_a_total_of_at_least_eight_over_two_parts_of_at_most_four_pins_both_to_four() -> None:
    inference = Inference(4)
    inference.constrain({"a": 1, "b": 1}, 8, 12, "total")

    inference.propagate()

    assert inference.bounds("a") == (4, 4)
    assert inference.bounds("b") == (4, 4)


def test_a_total_that_fits_the_parts_pins_nothing() -> None:
    inference = Inference(100)
    inference.constrain({"a": 1}, 5, 7, "a")
    inference.constrain({"b": 1}, 0, 4, "b")
    inference.constrain({"a": 1, "b": 1}, 5, 7, "total")

    inference.propagate()

    assert inference.bounds("a") == (5, 7)
    assert inference.bounds("b") == (0, 2)  # narrowed, not pinned


def test_a_larger_total_proves_a_lower_bound_for_the_small_part() -> None:
    inference = Inference(100)
    inference.constrain({"a": 1}, 5, 7, "a")
    inference.constrain({"b": 1}, 0, 4, "b")
    inference.constrain({"a": 1, "b": 1}, 9, 13, "total")

    inference.propagate()

    assert inference.bounds("a") == (5, 7)
    assert inference.bounds("b") == (2, 4)


def test_months_quarters_and_year_reach_their_fixpoint_over_several_rounds() -> None:
    """Q1 is "fewer than 5", Q3 is "about 10", the year is "about 40"; months are 0 to 4.

    The year comes before the quarter figures, so each deduction needs a round. Round 1:
    every quarter >= 38 - 3 * 12 = 2 (year), months <= 4, q3 >= 8, q1 <= 4. Round 2:
    q2, q4 >= 38 - 4 - 12 - 12 = 10 and q3 >= 10 (year). Round 3: months 4 to 12 >=
    10 - 4 - 4 = 2 (links). Round 4 finds nothing new.
    """
    months = [f"m{i}" for i in range(1, 13)]
    quarters = [f"q{i}" for i in range(1, 5)]
    inference = Inference(12)
    inference.constrain(dict.fromkeys(quarters, 1), 38, 42, "year")
    for k, quarter in enumerate(quarters):
        inference.constrain(
            {quarter: 1, **dict.fromkeys(months[3 * k : 3 * k + 3], -1)}, 0, 0, quarter
        )
    for month in months:
        inference.fix_upper(month, 4)
    inference.constrain({"q3": 1}, 8, 12, "Q3 figure")
    inference.constrain({"q1": 1}, 0, 4, "Q1 figure")

    assert inference.propagate(max_rounds=1) == 1
    assert [inference.bounds(q) for q in quarters] == [(2, 4), (2, 12), (8, 12), (2, 12)]
    assert inference.bounds("m4") == (0, 4)
    rounds = 1 + inference.propagate()

    assert rounds >= 3
    assert inference.propagate() == 0
    assert inference.bounds("q1") == (2, 4)
    assert [inference.bounds(q) for q in quarters[1:]] == [(10, 12)] * 3
    assert [inference.bounds(m) for m in months[:3]] == [(0, 4)] * 3
    assert [inference.bounds(m) for m in months[3:]] == [(2, 4)] * 9
    assert inference.sum_bounds(dict.fromkeys(quarters, 1)) == (32, 40)
    assert inference.sum_bounds(dict.fromkeys(months, 1)) == (18, 48)


# --- coefficients ------------------------------------------------------------------------------


def test_a_subset_is_at_most_its_total() -> None:
    inference = Inference(10)
    inference.constrain([("w", 1), ("z", -1)], 0, None, "z <= w")
    inference.constrain({"w": 1}, None, 3, "w figure")

    inference.propagate()

    assert inference.bounds("z") == (0, 3)
    assert inference.bounds("w") == (0, 3)


def test_a_total_is_covered_by_its_parts() -> None:
    inference = Inference(10)
    inference.constrain({"z1": 1, "z2": 1, "w": -1}, 0, None, "w <= z1 + z2")
    inference.fix_lower("w", 6, "w figure")
    inference.fix_upper("z1", 2, "z1 figure")

    inference.propagate()

    assert inference.bounds("z2") == (4, 10)
    assert inference.bounds("z1") == (0, 2)
    assert inference.bounds("w") == (6, 10)
    assert inference.sum_bounds({"z1": 1, "z2": 1, "w": -1}) == (-6, 6)


def test_a_negative_upper_bound_on_the_sum_raises_the_subtracted_variable() -> None:
    inference = Inference(10)
    inference.constrain({"x": 1, "y": -1}, None, -7, "x - y <= -7")

    inference.propagate()

    assert inference.bounds("y") == (7, 10)
    assert inference.bounds("x") == (0, 3)


def test_other_coefficients_round_inwards() -> None:
    inference = Inference(10)
    inference.constrain({"x": 3}, 4, 8, "3x")
    inference.constrain({"y": -2}, -7, -3, "-2y")
    inference.constrain({"u": 2, "v": 3}, 25, None, "2u + 3v")

    inference.propagate()

    assert inference.bounds("x") == (2, 2)
    assert inference.bounds("y") == (2, 3)
    assert inference.bounds("u") == (0, 10)  # 2u >= 25 - 30
    assert inference.bounds("v") == (2, 10)  # 3v >= 25 - 20


def test_an_even_sum_cannot_be_odd() -> None:
    inference = Inference(10)
    inference.constrain({"x": 2}, 3, 3, "2x = 3")

    with pytest.raises(Contradiction) as raised:
        inference.propagate()
    assert raised.value.label == "2x = 3"


# --- contradictions ----------------------------------------------------------------------------


def test_disjoint_intervals_for_one_count_raise_a_contradiction_with_the_label() -> None:
    inference = Inference(20)
    inference.constrain({"x": 1}, 0, 4, "first figure")
    inference.constrain({"x": 1}, 6, 9, "second figure")

    with pytest.raises(Contradiction) as raised:
        inference.propagate()

    assert raised.value.label == "second figure"
    assert "second figure" in str(raised.value)


def test_a_contradiction_found_only_by_propagation() -> None:
    inference = Inference(20)
    inference.constrain({"a": 1, "b": 1}, 10, 10, "total")
    inference.constrain({"a": 1}, None, 3, "a")
    inference.constrain({"b": 1}, None, 4, "b")

    with pytest.raises(Contradiction) as raised:
        inference.propagate()

    assert raised.value.label == "total"  # a <= 3 and b <= 4 are learnt in round 1


def test_an_empty_sum_outside_its_interval_is_a_contradiction() -> None:
    inference = Inference(5)
    inference.constrain([("a", 1), ("a", -1)], 1, 2, "empty")

    with pytest.raises(Contradiction) as raised:
        inference.propagate()
    assert raised.value.label == "empty"


def test_a_constraint_without_bounds_changes_nothing() -> None:
    inference = Inference(5)
    inference.constrain({"a": 1, "b": -1}, None, None)

    assert inference.propagate() == 1
    assert inference.bounds("a") == (0, 5)


# --- terms -------------------------------------------------------------------------------------


def test_repeated_names_add_their_coefficients() -> None:
    inference = Inference(10)
    inference.constrain([("a", 1), ("a", 1)], 6, 6, "2a = 6")

    inference.propagate()

    assert inference.bounds("a") == (3, 3)
    assert inference.sum_bounds([("a", 1), ("a", 1), ("a", 1)]) == (9, 9)


def test_a_coefficient_that_adds_up_to_zero_is_dropped() -> None:
    inference = Inference(10)
    inference.constrain([("a", 1), ("b", 1), ("a", -1)], 5, 5, "b = 5")
    inference.constrain({"c": 0, "d": 1}, 2, 2, "d = 2")

    inference.propagate()

    assert inference.bounds("b") == (5, 5)
    assert inference.bounds("d") == (2, 2)
    assert inference.bounds("a") == (0, 10)
    assert inference.bounds("c") == (0, 10)
    assert inference.sum_bounds([("a", 2), ("a", -2), ("b", 1)]) == (5, 5)


def test_variables_are_created_on_first_use_in_order() -> None:
    inference = Inference(3)
    assert inference.variables == []
    inference.constrain([(("team", 1), 1), ("x", 1)], 0, None)
    inference.fix_upper("y", 2)
    inference.constrain({"x": 1, ("team", 1): -1}, None, 0)

    assert inference.variables == [("team", 1), "x", "y"]
    assert inference.bounds("y") == (0, 3)  # nothing inferred before propagate
    inference.propagate()
    assert inference.bounds("y") == (0, 2)


def test_unknown_names_and_bad_arguments_are_refused() -> None:
    inference = Inference(3)
    inference.constrain({"x": 1}, 0, 1)
    with pytest.raises(KeyError):
        inference.bounds("nobody")
    with pytest.raises(KeyError):
        inference.sum_bounds({"x": 1, "nobody": 1})
    with pytest.raises(TypeError):
        inference.constrain({"x": 1.5}, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        inference.constrain({"x": 1}, 0.5, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Inference(-1)


def test_the_module_uses_the_standard_library_only() -> None:
    tree = ast.parse(Path(attacker.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {"__future__", "collections", "typing"}
