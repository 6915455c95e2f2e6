"""Pure tests of disclosure control: suppression, rounding, totals, differencing and units."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.stats import disclosure
from incidents.stats.disclosure import (
    WITHHELD,
    Figure,
    Release,
    Series,
    Table,
    count,
    median,
    median_of,
    merge_small_units,
    min_headcount,
    rate,
    series,
    share,
    table,
)

SUPPRESSED = Figure(None, suppressed=True)
NO_DATA = Figure(None)
FAST = settings(max_examples=80, deadline=None, database=None)


def all_figures(t: Table) -> list[Figure]:
    """Cells, row totals, column totals and the grand total."""
    assert t.row_totals is not None and t.total is not None  # a two-way table has both
    return [
        *(t.cells[(r, c)] for r in t.rows for c in t.columns),
        *(t.row_totals[r] for r in t.rows),
        *(t.column_totals[c] for c in t.columns),
        t.total,
    ]


def shown_ints(figures: list[Figure]) -> list[int]:
    values = []
    for figure in figures:
        if figure.value is not None:
            assert isinstance(figure.value, int)
            values.append(figure.value)
    return values


# --- the module stays pure -----------------------------------------------------------------


def test_module_imports_nothing_from_the_app() -> None:
    tree = ast.parse(Path(disclosure.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "sqlalchemy", "incidents", "flask_sqlalchemy"}


# --- count ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k", "expected"),
    [
        (0, 5, SUPPRESSED),  # zero is not told apart from 1..k-1
        (1, 5, SUPPRESSED),
        (4, 5, SUPPRESSED),
        (5, 5, Figure(5)),
        (6, 5, Figure(5)),
        (7, 5, Figure(5)),
        (8, 5, Figure(10)),
        (12, 5, Figure(10)),
        (13, 5, Figure(15)),
        (102, 5, Figure(100)),
        (103, 5, Figure(105)),
        (0, 10, SUPPRESSED),
        (1, 10, SUPPRESSED),
        (9, 10, SUPPRESSED),
        (10, 10, Figure(10)),
        (12, 10, Figure(10)),
        (13, 10, Figure(10)),
        (14, 10, Figure(10)),
        (15, 10, Figure(20)),  # a half rounds up
        (25, 10, Figure(30)),
        (2, 2, Figure(2)),
        (3, 2, Figure(4)),
        (1, 2, SUPPRESSED),
    ],
)
def test_count(n: int, k: int, expected: Figure) -> None:
    assert count(n, k) == expected


@pytest.mark.parametrize(("n", "k"), [(-1, 5), (3, 1), (3, 0), (3, -5)])
def test_count_rejects_bad_input(n: int, k: int) -> None:
    with pytest.raises(ValueError):
        count(n, k)


@FAST
@given(n=st.integers(0, 10_000), k=st.integers(2, 50))
def test_count_properties(n: int, k: int) -> None:
    figure = count(n, k)
    if n < k:
        assert figure == SUPPRESSED
    else:
        assert isinstance(figure.value, int)
        assert not figure.suppressed
        assert figure.value % k == 0
        assert figure.value >= k
        assert abs(figure.value - n) <= k / 2


# --- rate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "denominator", "k", "per", "expected"),
    [
        (0, 1000, 5, 1000, SUPPRESSED),
        (3, 1000, 5, 1000, SUPPRESSED),
        (4, 1000, 5, 1000, SUPPRESSED),
        (5, 1000, 5, 1000, Figure(5.0)),
        (7, 1000, 5, 1000, Figure(5.0)),  # from the rounded count 5, not from 7
        (8, 1000, 5, 1000, Figure(10.0)),
        (7, 3000, 5, 1000, Figure(1.7)),  # 5 / 3000 * 1000 = 1.666...
        (5, 4000, 5, 1000, Figure(1.3)),  # 1.25 rounds half up
        (12, 7, 10, 100, Figure(142.9)),
        (3, None, 5, 1000, NO_DATA),
        (30, None, 5, 1000, NO_DATA),
        (30, 0, 5, 1000, NO_DATA),
        (0, 0, 5, 1000, NO_DATA),
        (9, 500, 10, 1000, SUPPRESSED),
        (10, 500, 10, 1000, Figure(20.0)),
    ],
)
def test_rate(n: int, denominator: int | None, k: int, per: int, expected: Figure) -> None:
    assert rate(n, denominator, k, per=per) == expected


def test_rate_default_is_per_thousand() -> None:
    assert rate(10, 2000, 5) == Figure(5.0)


@pytest.mark.parametrize(
    ("n", "denominator", "k", "per"),
    [(-1, 100, 5, 1000), (5, -100, 5, 1000), (5, 100, 1, 1000), (5, 100, 5, 0)],
)
def test_rate_rejects_bad_input(n: int, denominator: int, k: int, per: int) -> None:
    with pytest.raises(ValueError):
        rate(n, denominator, k, per=per)


def test_rate_csv_has_one_decimal() -> None:
    assert rate(5, 1000, 5).csv(5) == "5.0"
    assert rate(7, 3000, 5).csv(5) == "1.7"
    assert rate(3, 1000, 5).csv(5) == "<5"
    assert rate(3, None, 5).csv(5) == ""


@FAST
@given(
    n=st.integers(0, 500),
    other=st.integers(0, 500),
    denominator=st.integers(1, 100_000),
    k=st.sampled_from([3, 5, 10]),
    per=st.sampled_from([100, 1000]),
)
def test_rate_reveals_nothing_beyond_the_shown_count(
    n: int, other: int, denominator: int, k: int, per: int
) -> None:
    shown = count(n, k)
    figure = rate(n, denominator, k, per=per)
    if shown.suppressed:
        assert figure == SUPPRESSED
        return
    assert isinstance(figure.value, float)
    # Two raw counts shown the same give the same rate: the rate depends only on the shown count.
    if count(other, k) == shown:
        assert rate(other, denominator, k, per=per) == figure
    # Working back with the denominator lands within rounding error of the shown count, and
    # exactly on it when the rate is precise enough to invert at all.
    assert isinstance(shown.value, int)
    back = figure.value * denominator / per
    assert abs(back - shown.value) <= 0.05 * denominator / per + 1e-9
    if denominator <= per:
        assert round(back) == shown.value


# --- share ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "k", "expected"),
    [
        (0, 0, 5, NO_DATA),
        (0, 3, 5, SUPPRESSED),  # whole below k
        (3, 3, 5, SUPPRESSED),
        (0, 5, 5, SUPPRESSED),  # 0% would say that nobody was
        (5, 5, 5, SUPPRESSED),  # 100% would say that everybody was
        (1, 10, 5, SUPPRESSED),  # small part
        (4, 10, 5, SUPPRESSED),
        (6, 10, 5, SUPPRESSED),  # small rest (10 - 6 = 4)
        (9, 10, 5, SUPPRESSED),
        (5, 10, 5, Figure(50)),
        (7, 14, 5, Figure(33)),  # rounded 5 of rounded 15
        (8, 16, 5, Figure(67)),  # rounded 10 of rounded 15
        (13, 13, 5, SUPPRESSED),
        (5, 12, 5, Figure(50)),  # rounded 5 of rounded 10, rest 7 is not small
        (1, 8, 5, SUPPRESSED),
        (0, 12, 10, SUPPRESSED),  # a part of 0 is small too
        (10, 20, 10, Figure(50)),
        (9, 20, 10, SUPPRESSED),
        (11, 20, 10, SUPPRESSED),  # rest 9
        (25, 200, 10, Figure(15)),  # rounded 30 of rounded 200 = 15
        (5, 40, 5, Figure(13)),  # 12.5 rounds half up
    ],
)
def test_share(part: int, whole: int, k: int, expected: Figure) -> None:
    assert share(part, whole, k) == expected


@pytest.mark.parametrize(("part", "whole", "k"), [(-1, 5, 5), (1, -5, 5), (6, 5, 5), (1, 5, 1)])
def test_share_rejects_bad_input(part: int, whole: int, k: int) -> None:
    with pytest.raises(ValueError):
        share(part, whole, k)


@FAST
@given(whole=st.integers(0, 400), data=st.data(), k=st.sampled_from([3, 5, 10]))
def test_share_properties(whole: int, data: st.DataObject, k: int) -> None:
    part = data.draw(st.integers(0, whole))
    figure = share(part, whole, k)
    if whole == 0:
        assert figure == NO_DATA
        return
    rest = whole - part
    if part < k or rest < k:
        assert figure == SUPPRESSED
        return
    assert isinstance(figure.value, int)
    assert 0 <= figure.value <= 100
    # Computed from the shown (rounded) numbers only.
    shown_part, shown_whole = count(part, k).value, count(whole, k).value
    assert isinstance(shown_part, int)
    assert isinstance(shown_whole, int)
    assert abs(figure.value - 100 * shown_part / shown_whole) <= 0.5


# --- median ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "k", "expected"),
    [
        ([], 5, NO_DATA),
        ([3.0], 5, SUPPRESSED),
        ([1.0, 2.0, 3.0, 4.0], 5, SUPPRESSED),
        ([1.0, 2.0, 3.0, 4.0, 100.0], 5, Figure(3.0)),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 5, Figure(3.5)),
        ([0.25, 0.25, 0.25, 0.25, 0.25], 5, Figure(0.3)),  # halves round up
        ([1.04, 1.04, 1.04, 1.04, 1.04], 5, Figure(1.0)),
        ([2, 2, 7, 7, 7], 5, Figure(7.0)),
        ([1.0] * 9, 10, SUPPRESSED),
        ([1.0] * 10, 10, Figure(1.0)),
    ],
)
def test_median(values: list[float], k: int, expected: Figure) -> None:
    assert median(values, k) == expected


def test_median_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        median([1.0, float("nan"), 2.0, 3.0, 4.0], 5)
    with pytest.raises(ValueError):
        median([1.0, 2.0], 1)


@pytest.mark.parametrize(
    ("n", "value", "k", "expected"),
    [
        (0, None, 5, NO_DATA),
        (3, 12.0, 5, SUPPRESSED),
        (4, None, 5, SUPPRESSED),
        (5, 12.25, 5, Figure(12.3)),
        (50, 3.0, 10, Figure(3.0)),
        (5, None, 5, NO_DATA),
    ],
)
def test_median_of(n: int, value: float | None, k: int, expected: Figure) -> None:
    assert median_of(n, value, k) == expected


def test_median_of_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        median_of(-1, None, 5)
    with pytest.raises(ValueError):
        median_of(5, float("inf"), 5)


# --- Figure.csv -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figure", "k", "text"),
    [
        (NO_DATA, 5, ""),
        (SUPPRESSED, 5, "<5"),
        (SUPPRESSED, 10, "<10"),
        (Figure(0), 5, "0"),
        (Figure(1250), 5, "1250"),
        (Figure(2.0), 5, "2.0"),
        (Figure(12.3), 5, "12.3"),
        (Figure(0.0), 5, "0.0"),
    ],
)
def test_figure_csv(figure: Figure, k: int, text: str) -> None:
    assert figure.csv(k) == text


# --- tables ---------------------------------------------------------------------------------


@st.composite
def raw_tables(draw: st.DrawFn) -> tuple[dict[tuple[str, str], int], list[str], list[str], int]:
    k = draw(st.sampled_from([3, 5, 10]))
    rows = [f"r{i}" for i in range(draw(st.integers(1, 6)))]
    columns = [f"c{j}" for j in range(draw(st.integers(1, 6)))]
    raw = {
        (r, c): draw(st.integers(0, 60))
        for r in rows
        for c in columns
        if draw(st.booleans()) or draw(st.booleans())  # some keys missing: they count 0
    }
    return raw, rows, columns, k


def test_table_example() -> None:
    raw = {("a", "x"): 3, ("a", "y"): 40, ("b", "y"): 22}
    t = table(raw, ["a", "b"], ["x", "y"], 5)
    assert t.rows == ("a", "b")
    assert t.columns == ("x", "y")
    assert t.cells[("a", "x")] == SUPPRESSED
    assert t.cells[("a", "y")] == Figure(40)
    assert t.cells[("b", "x")] == SUPPRESSED  # missing key counts 0, shown like 1..k-1
    assert t.cells[("b", "y")] == Figure(20)
    # Row a is 43: shown as 45 (43..47) beside 40 (at most 42) it would prove x >= 1, so it is
    # top-coded at the largest count that proves nothing: "40 or more". Row b alike.
    assert t.row_totals == {"a": Figure(40, at_least=True), "b": Figure(20, at_least=True)}
    # Column x is 3 + 0 over two cells that both show "< 5": withheld, whatever its value.
    assert t.column_totals == {"x": WITHHELD, "y": Figure(60)}  # 62, counted on its own
    assert t.total == Figure(60, at_least=True)  # 65 beside y's 60 (at most 62) and x


def test_table_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="not among"):
        table({("a", "z"): 1}, ["a"], ["x"], 5)
    with pytest.raises(ValueError, match="not among"):
        table({("z", "x"): 1}, ["a"], ["x"], 5)
    with pytest.raises(ValueError, match="twice"):
        table({}, ["a", "a"], ["x"], 5)
    with pytest.raises(ValueError, match="negative"):
        table({("a", "x"): -1}, ["a"], ["x"], 5)
    with pytest.raises(ValueError):
        table({}, ["a"], ["x"], 1)


@FAST
@given(raw_tables())
def test_no_shown_table_figure_is_small_and_all_are_multiples_of_k(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
) -> None:
    raw, rows, columns, k = case
    t = table(raw, rows, columns, k)
    for figure in all_figures(t):
        if figure.suppressed or figure.withheld:
            assert figure.value is None
            continue
        assert isinstance(figure.value, int)
        assert not 1 <= figure.value < k
        assert figure.value % k == 0


@FAST
@given(raw_tables())
def test_table_figures_are_counts_of_raw_sums_or_coarser(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
) -> None:
    """Cells are counts; a total is its count, or top-coded below it, or withheld (always
    when it has two parts that both show "< k": no count of k or more is safe beside them)."""
    raw, rows, columns, k = case
    t = table(raw, rows, columns, k)

    def hidden(figures: list[Figure]) -> bool:
        return len(figures) == 2 and all(f.suppressed or f.withheld for f in figures)

    def coarser(shown: Figure, n: int) -> bool:
        exact = count(n, k)
        if shown in (exact, WITHHELD):
            return True
        return (
            shown.at_least
            and isinstance(shown.value, int)
            and isinstance(exact.value, int)
            and k <= shown.value <= exact.value
            and shown.value % k == 0
        )

    for r, c in itertools.product(rows, columns):
        assert t.cells[(r, c)] == count(raw.get((r, c), 0), k)
    assert t.row_totals is not None and t.total is not None
    for r in rows:
        cells = [t.cells[(r, c)] for c in columns]
        assert coarser(t.row_totals[r], sum(raw.get((r, c), 0) for c in columns))
        if hidden(cells):
            assert t.row_totals[r] == WITHHELD
    for c in columns:
        cells = [t.cells[(r, c)] for r in rows]
        assert coarser(t.column_totals[c], sum(raw.get((r, c), 0) for r in rows))
        if hidden(cells):
            assert t.column_totals[c] == WITHHELD
    assert coarser(t.total, sum(raw.values()))


def _lowest(figure: Figure, k: int) -> int:
    """The lowest count a shown figure stands for, as the attacker reads it."""
    if figure.suppressed or figure.withheld or not isinstance(figure.value, int):
        return 0
    return max(k, figure.value - k // 2)


def _highest(figure: Figure, k: int) -> float:
    if figure.suppressed:
        return k - 1
    if figure.withheld or figure.at_least or not isinstance(figure.value, int):
        return float("inf")
    return figure.value + (k - 1) // 2


@FAST
@given(raw_tables())
def test_no_total_proves_a_small_cell_nonzero(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
) -> None:
    """The attacker's best single step: a total's lowest count minus the other parts' highest.
    It never reaches 1 for a cell that shows "< k"."""
    raw, rows, columns, k = case
    t = table(raw, rows, columns, k)
    assert t.row_totals is not None and t.total is not None
    lines = [([t.cells[(r, c)] for c in columns], t.row_totals[r]) for r in rows]
    lines += [([t.cells[(r, c)] for r in rows], t.column_totals[c]) for c in columns]
    lines += [(list(t.row_totals.values()), t.total), (list(t.column_totals.values()), t.total)]
    for parts, total in lines:
        for j, part in enumerate(parts):
            if part.suppressed:
                others = sum(_highest(p, k) for i, p in enumerate(parts) if i != j)
                assert _lowest(total, k) - others <= 0, (parts, total)


@FAST
@given(raw_tables())
def test_no_difference_of_two_shown_table_figures_is_small(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
) -> None:
    raw, rows, columns, k = case
    values = shown_ints(all_figures(table(raw, rows, columns, k)))
    for a, b in itertools.combinations(values, 2):
        assert not 1 <= abs(a - b) < k
    # Nor does a total minus the sum of its shown cells give a small number.
    t = table(raw, rows, columns, k)
    assert t.row_totals is not None
    for r in rows:
        total = t.row_totals[r].value
        if isinstance(total, int):
            rest = total - sum(shown_ints([t.cells[(r, c)] for c in columns]))
            assert rest % k == 0


@FAST
@given(raw_tables(), st.integers(1, 100_000), st.sampled_from([100, 1000]))
def test_rates_from_shown_table_counts_cannot_be_inverted_to_a_small_count(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
    denominator: int,
    per: int,
) -> None:
    raw, rows, columns, k = case
    sums = [raw.get(key, 0) for key in itertools.product(rows, columns)]
    sums += [sum(raw.get((r, c), 0) for c in columns) for r in rows]
    sums += [sum(raw.values())]
    for n in sums:
        figure = rate(n, denominator, k, per=per)
        if n < k:
            assert figure == SUPPRESSED
            continue
        assert isinstance(figure.value, float)
        # The rate is the rate of the shown count: a raw count is never recovered from it.
        shown = count(n, k).value
        assert isinstance(shown, int)
        assert figure == rate(shown, denominator, k, per=per)
        if denominator <= per:
            assert round(figure.value * denominator / per) == shown


@FAST
@given(raw_tables(), st.data())
def test_attacker_all_versus_all_but_one_group(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int], data: st.DataObject
) -> None:
    """A filter gives "all" and "all but one group": subtracting the totals reveals nothing."""
    raw, rows, columns, k = case
    dropped = data.draw(st.sampled_from(rows))
    kept = [r for r in rows if r != dropped]
    everything = table(raw, rows, columns, k)
    filtered = table({key: n for key, n in raw.items() if key[0] != dropped}, kept, columns, k)
    assert everything.total is not None and filtered.total is not None
    pairs = [(everything.total, filtered.total)]
    pairs += [(everything.column_totals[c], filtered.column_totals[c]) for c in columns]
    pairs += [(everything.cells[(r, c)], filtered.cells[(r, c)]) for r in kept for c in columns]
    for a, b in pairs:
        if isinstance(a.value, int) and isinstance(b.value, int):
            assert not 1 <= abs(a.value - b.value) < k
            assert (a.value - b.value) % k == 0
    # The same attack against a one-way breakdown of the row totals.
    row_sums = {r: sum(raw.get((r, c), 0) for c in columns) for r in rows}
    full = series(row_sums, rows, k)
    part = series({r: n for r, n in row_sums.items() if r != dropped}, kept, k)
    if isinstance(full.total.value, int) and isinstance(part.total.value, int):
        assert not 1 <= abs(full.total.value - part.total.value) < k


def test_attacker_example_small_group_stays_hidden() -> None:
    # 97 others and a group of 3: "all" is 100, "all but the group" is 97.
    everything = series({"others": 97, "group": 3}, ["others", "group"], 5)
    filtered = series({"others": 97}, ["others"], 5)
    assert everything.figures["group"] == SUPPRESSED
    assert everything.figures["others"] == Figure(95)  # 93..97
    # Shown as 100 (98..102), the total would prove the group at least 1 (98 - 97): it is
    # top-coded at the largest count that proves nothing.
    assert everything.total == Figure(95, at_least=True)
    assert filtered.total == Figure(95)
    # A group of 1 or of 4 looks the same.
    for group in (1, 4):
        shown = series({"others": 97, "group": group}, ["others", "group"], 5)
        assert shown.total == Figure(95, at_least=True)


# --- CSV rows -------------------------------------------------------------------------------


def test_table_csv_rows() -> None:
    raw = {("a", "x"): 3, ("a", "y"): 40, ("b", "y"): 22}
    t = table(raw, ["a", "b"], ["x", "y"], 5)
    assert t.csv_rows(5, "Team", {"x": "Level X"}, {"a": "Team A"}, total_label="Totaal") == [
        ["Team", "Level X", "y", "Totaal"],
        ["Team A", "<5", "40", ">=40"],
        ["b", "<5", "20", ">=20"],
        ["Totaal", "*", "60", ">=60"],
    ]
    assert t.csv_rows(5, "Team")[-1][0] == "Total"


def test_series_csv_rows() -> None:
    s = series({"verbal": 12, "physical": 2}, ["verbal", "physical", "online"], 5)
    assert s.keys == ("verbal", "physical", "online")
    assert s.csv_rows(5, "Type", "Incidents", {"verbal": "Verbal"}) == [
        ["Type", "Incidents"],
        ["Verbal", "10"],
        ["physical", "<5"],
        ["online", "<5"],
        ["Total", ">=15"],  # 14 beside 10 (at most 12) and two "< 5": "15 or more"
    ]


def test_series_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="not among"):
        series({"z": 1}, ["a"], 5)
    with pytest.raises(ValueError, match="twice"):
        series({}, ["a", "a"], 5)
    with pytest.raises(ValueError, match="negative"):
        series({"a": -2}, ["a"], 5)


def test_series_built_directly_writes_its_figures() -> None:
    s = Series(keys=("a",), figures={"a": rate(5, 1000, 5)}, total=rate(3, 1000, 5))
    assert s.csv_rows(5, "Channel", "Rate") == [["Channel", "Rate"], ["a", "5.0"], ["Total", "<5"]]


@FAST
@given(raw_tables())
def test_csv_rows_show_no_suppressed_raw_value(
    case: tuple[dict[tuple[str, str], int], list[str], list[str], int],
) -> None:
    raw, rows, columns, k = case
    t = table(raw, rows, columns, k)
    csv = t.csv_rows(k, "Row")
    assert len(csv) == len(rows) + 2
    assert csv[0] == ["Row", *columns, "Total"]
    assert csv[-1][0] == "Total"
    assert all(len(line) == len(columns) + 2 for line in csv)
    allowed_numbers = {str(m) for m in range(0, 60 * 36 + k + 1, k)}
    texts = [text for line in csv[1:] for text in line[1:]]
    assert all(
        text in (f"<{k}", "*") or text.removeprefix(">=") in allowed_numbers for text in texts
    )
    for r, c in itertools.product(rows, columns):
        n = raw.get((r, c), 0)
        if 1 <= n < k:
            assert csv[1 + rows.index(r)][1 + columns.index(c)] == f"<{k}"
            assert str(n) not in texts
    for value in range(1, k):
        assert str(value) not in texts


# --- organisation units ---------------------------------------------------------------------


def test_large_units_report_as_themselves() -> None:
    assert merge_small_units({1: 20, 2: 6, 3: 5}, {1: None, 2: 1, 3: 1}, 5) == {1: 1, 2: 2, 3: 3}


def test_small_team_is_merged_into_its_department() -> None:
    sizes = {1: 30, 2: 3, 3: 8}
    parents = {1: None, 2: 1, 3: 1}
    assert merge_small_units(sizes, parents, 5) == {1: 1, 2: 1, 3: 3}


def test_small_children_can_lift_a_small_parent() -> None:
    # Department 1 has 2 members of its own; teams 2 and 3 (2 each) bring it to 6.
    sizes = {1: 2, 2: 2, 3: 2}
    parents = {1: None, 2: 1, 3: 1}
    assert merge_small_units(sizes, parents, 5) == {1: 1, 2: 1, 3: 1}


def test_chain_of_small_units_merges_to_the_first_large_enough() -> None:
    # 4 -> 3 -> 2 -> 1; 4 and 3 are small, 3 with 4 has 4 members, 2 with both has 5.
    sizes = {1: 50, 2: 1, 3: 2, 4: 2}
    parents = {1: None, 2: 1, 3: 2, 4: 3}
    assert merge_small_units(sizes, parents, 5) == {1: 1, 2: 2, 3: 2, 4: 2}
    # With k = 10 the chain goes all the way to the top.
    assert merge_small_units(sizes, parents, 10) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_a_large_child_does_not_count_for_its_parent() -> None:
    sizes = {1: 1, 2: 40, 3: 2}
    parents = {1: None, 2: 1, 3: 1}
    # 1 with 3 has only 3 members: reported as itself, and the caller suppresses it.
    assert merge_small_units(sizes, parents, 5) == {1: 1, 2: 2, 3: 1}


def test_small_top_level_unit_reports_as_itself() -> None:
    assert merge_small_units({7: 2, 8: 1}, {7: None, 8: 7}, 5) == {7: 7, 8: 7}


def test_units_missing_from_either_mapping() -> None:
    # Unit 9 appears only as a parent (0 members); unit 5 has no parent entry (top-level).
    result = merge_small_units({1: 2, 5: 6}, {1: 9}, 5)
    assert result == {1: 9, 5: 5, 9: 9}


@pytest.mark.parametrize(
    ("sizes", "parents"),
    [
        ({1: 2}, {1: 1}),  # its own parent
        ({1: 2, 2: 2}, {1: 2, 2: 1}),
        ({1: 1, 2: 1, 3: 1, 4: 1}, {1: 2, 2: 3, 3: 4, 4: 2}),  # a cycle below a tail
        ({1: 6, 2: 1, 3: 1}, {1: 2, 2: 3, 3: 1}),
    ],
)
def test_cycles_end(sizes: dict[int, int], parents: dict[int, int | None]) -> None:
    result = merge_small_units(sizes, parents, 5)
    assert set(result) == set(sizes)
    # Every reporting unit reports as itself: the result is a proper merging.
    assert all(result[unit] == unit for unit in result.values())


def test_cycle_is_cut_at_its_smallest_unit() -> None:
    assert merge_small_units({1: 2, 2: 2}, {1: 2, 2: 1}, 5) == {1: 1, 2: 1}
    assert merge_small_units({1: 6, 2: 1, 3: 1}, {1: 2, 2: 3, 3: 1}, 5) == {1: 1, 2: 1, 3: 1}


def test_merge_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        merge_small_units({1: -1}, {1: None}, 5)
    with pytest.raises(ValueError):
        merge_small_units({1: 1}, {1: None}, 1)


@FAST
@given(
    st.dictionaries(st.integers(0, 15), st.integers(0, 12), max_size=16),
    st.dictionaries(st.integers(0, 15), st.none() | st.integers(0, 15), max_size=16),
    st.sampled_from([3, 5, 10]),
)
def test_merge_properties(sizes: dict[int, int], parents: dict[int, int | None], k: int) -> None:
    result = merge_small_units(sizes, parents, k)
    units = set(sizes) | set(parents) | {p for p in parents.values() if p is not None}
    assert set(result) == units
    # Reporting units report as themselves.
    assert all(result[unit] == unit for unit in result.values())
    # Members add up per reporting unit; a unit with >= k members of its own is never merged away.
    for unit, size in sizes.items():
        if size >= k:
            assert result[unit] == unit
    # A unit is merged only into a unit above it.
    for unit, reported in result.items():
        if reported != unit:
            assert reported in ancestors(unit, parents)
    # A reporting unit that stays below k has nowhere to go: it is top-level, or the smallest
    # unit of a cycle (where the cycle was cut). The caller suppresses it.
    totals: dict[int, int] = {}
    for unit, reported in result.items():
        totals[reported] = totals.get(reported, 0) + sizes.get(unit, 0)
    for reported, total in totals.items():
        if total < k and parents.get(reported) is not None:
            assert reported in ancestors(reported, parents)


def ancestors(unit: int, parents: dict[int, int | None]) -> set[int]:
    """The units above `unit` (including itself again when it lies on a cycle)."""
    found: set[int] = set()
    node = parents.get(unit)
    while node is not None and node not in found:
        found.add(node)
        node = parents.get(node)
    return found


# --- releases: totals over parts that all show "< k" ----------------------------------------


def test_a_total_over_parts_that_all_show_below_k_is_withheld_whatever_its_value() -> None:
    for halves in ((4, 4), (0, 0), (1, 3)):
        release = Release(5)
        release.add("a", halves[0])
        release.add("b", halves[1])
        release.add("total", sum(halves))
        release.partition("total", ["a", "b"])
        shown = release.resolve()
        assert shown["total"] == WITHHELD
        assert shown["a"] == shown["b"] == SUPPRESSED


def test_withholding_cascades_through_partitions() -> None:
    release = Release(5)
    for quarter, n in zip(("q1", "q2", "q3", "q4"), (4, 3, 4, 2), strict=True):
        release.add(quarter, n)
    release.add("h1", 7)
    release.add("h2", 6)
    release.add("year", 13)
    release.partition("h1", ["q1", "q2"])
    release.partition("h2", ["q3", "q4"])
    release.partition("year", ["h1", "h2"])
    release.partition("year", ["q1", "q2", "q3", "q4"])
    shown = release.resolve()
    assert shown["h1"] == shown["h2"] == WITHHELD  # two halves of "< 5" each
    # The year (13) over two withheld halves of at most 8 each, and over four quarters of at
    # most 4: no count whose lowest value exceeds 8 may be shown.
    assert shown["year"] == Figure(10, at_least=True)


def test_a_withheld_group_is_never_shown_and_counts_as_hidden() -> None:
    release = Release(5)
    release.add("small unit", 12)
    release.withhold("small unit")
    release.add("other", 2)
    release.add("total", 14)
    release.partition("total", ["small unit", "other"])
    shown = release.resolve()
    assert shown["small unit"] == WITHHELD and shown["total"] == WITHHELD


def test_a_figure_added_twice_must_agree() -> None:
    release = Release(5)
    release.add("a", 3)
    release.add("a", 3)
    with pytest.raises(ValueError, match="two counts"):
        release.add("a", 4)


@FAST
@given(st.lists(st.integers(0, 12), min_size=2, max_size=6))
def test_withholding_depends_only_on_what_the_parts_show(parts: list[int]) -> None:
    """Whether a total is withheld depends on what its parts show, never on its own value, so
    "*" says nothing about the total; what is shown proves no small part nonzero."""
    k = 5
    decisions = []
    for extra in (0, 1, 7):
        release = Release(k)
        for i, n in enumerate(parts):
            release.add(i, n)
        release.add("total", sum(parts) + extra)  # the hidden total differs
        release.partition("total", range(len(parts)))
        shown = release.resolve()
        decisions.append(shown["total"].withheld)
        shown_parts = [shown[i] for i in range(len(parts))]
        for j, part in enumerate(shown_parts):
            if part.suppressed:
                others = sum(_highest(p, k) for i, p in enumerate(shown_parts) if i != j)
                assert _lowest(shown["total"], k) - others <= 0
    assert len(set(decisions)) == 1
    assert decisions[0] == (len(parts) == 2 and all(n < k for n in parts))


# --- unit sizes as of the period ------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_a_team_is_as_small_as_it_was_at_its_smallest() -> None:
    four_all_year = [(day(-10), None)] * 4
    assert min_headcount(four_all_year, day(0), day(365)) == 4
    # A fifth member in December: still a team of four for the year.
    assert min_headcount([*four_all_year, (day(340), None)], day(0), day(365)) == 4
    # ... and a team of five for December.
    assert min_headcount([*four_all_year, (day(340), None)], day(340), day(365)) == 5
    # Someone who left in March: four for the year although five were there in January.
    assert min_headcount([*four_all_year, (day(-5), day(70))], day(0), day(365)) == 4
    # A swap on the same moment keeps the team at five.
    swap = [*four_all_year, (day(-5), day(100)), (day(100), None)]
    assert min_headcount(swap, day(0), day(365)) == 5
    assert min_headcount([], day(0), day(1)) == 0
    with pytest.raises(ValueError):
        min_headcount([], day(1), day(1))


@FAST
@given(
    st.lists(
        st.tuples(st.integers(-20, 60), st.one_of(st.none(), st.integers(-20, 80))),
        max_size=12,
    ),
    st.integers(0, 30),
    st.integers(1, 30),
)
def test_min_headcount_is_the_minimum_over_every_moment(
    spans: list[tuple[int, int | None]], start: int, length: int
) -> None:
    intervals = [(day(a), None if b is None else day(b)) for a, b in spans]
    end = start + length

    def members(t: int) -> int:
        return sum(1 for a, b in spans if a <= t and (b is None or t < b) and (b is None or a < b))

    assert min_headcount(intervals, day(start), day(end)) == min(
        members(t) for t in range(start, end)
    )
