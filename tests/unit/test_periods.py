"""Which periods the statistics may show: closed months, the delay, whole quarters, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidents.stats.periods import (
    Period,
    change_months,
    closes_at,
    comparison,
    first_open_month,
    first_open_quarter,
    periods,
)

ZONE = "Europe/Amsterdam"


@pytest.mark.parametrize(
    ("month", "delay", "closes"),
    [
        # January ends at midnight Amsterdam time (23:00 UTC), plus the delay.
        (date(2026, 1, 1), 7, datetime(2026, 2, 7, 23, 0, tzinfo=UTC)),
        (date(2026, 1, 1), 0, datetime(2026, 1, 31, 23, 0, tzinfo=UTC)),
        # March ends in winter time; seven days later it is summer time (22:00 UTC).
        (date(2026, 3, 1), 7, datetime(2026, 4, 7, 22, 0, tzinfo=UTC)),
        (date(2025, 12, 1), 7, datetime(2026, 1, 7, 23, 0, tzinfo=UTC)),
    ],
)
def test_a_month_closes_after_it_ended_and_the_delay(month, delay, closes) -> None:
    assert closes_at(month, ZONE, delay) == closes


@pytest.mark.parametrize(
    ("now", "delay", "first_open"),
    [
        (datetime(2026, 2, 7, 22, 59, tzinfo=UTC), 7, date(2026, 1, 1)),  # January not yet
        (datetime(2026, 2, 7, 23, 0, tzinfo=UTC), 7, date(2026, 2, 1)),  # January closed
        (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), 0, date(2026, 2, 1)),
        (datetime(2026, 1, 31, 22, 59, tzinfo=UTC), 0, date(2026, 1, 1)),
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), 0, date(2026, 2, 1)),  # 00:30 in Amsterdam
        (datetime(2026, 3, 15, 12, 0, tzinfo=UTC), 60, date(2026, 1, 1)),  # a long delay
    ],
)
def test_first_open_month(now, delay, first_open) -> None:
    assert first_open_month(now, ZONE, delay) == first_open


@pytest.mark.parametrize(
    ("now", "first_open"),
    [
        (datetime(2026, 4, 7, 21, 59, tzinfo=UTC), date(2026, 1, 1)),  # March not closed yet
        (datetime(2026, 4, 7, 22, 0, tzinfo=UTC), date(2026, 4, 1)),  # Q1 closed
        (datetime(2026, 6, 30, 12, 0, tzinfo=UTC), date(2026, 4, 1)),  # May closed, not Q2
    ],
)
def test_only_whole_quarters_close(now, first_open) -> None:
    assert first_open_quarter(now, ZONE, 7) == first_open


@pytest.mark.parametrize(
    ("key", "closed_before", "expected"),
    [
        ("2025", date(2026, 1, 1), Period("2025", date(2025, 1, 1), date(2026, 1, 1))),
        ("2026", date(2026, 7, 1), None),  # a year appears once it has closed
        ("2026", date(2027, 1, 1), Period("2026", date(2026, 1, 1), date(2027, 1, 1))),
        ("2026-Q2", date(2026, 7, 1), Period("2026-Q2", date(2026, 4, 1), date(2026, 7, 1))),
        ("2026-Q3", date(2026, 7, 1), None),  # not closed
        ("2026-Q5", date(2027, 1, 1), None),
        ("1999", date(2026, 1, 1), None),
        ("abcd", date(2026, 1, 1), None),
        ("2026-05", date(2027, 1, 1), None),  # a month is not a period
    ],
)
def test_parse_period(key, closed_before, expected) -> None:
    assert Period.parse(key, closed_before) == expected


def test_a_year_is_made_of_its_four_quarters() -> None:
    year = Period.parse("2025", date(2026, 10, 1))
    assert year is not None and year.is_year
    assert [q.key for q in year.quarters()] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert year.months()[-1] == "2025-12"


def test_periods_offered_are_years_and_their_closed_quarters_newest_first() -> None:
    # The year that has not closed offers its closed quarters only.
    assert periods([2025, 2026], date(2026, 4, 1)) == [
        "2026-Q1",
        "2025",
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
    ]
    assert periods([2026], date(2026, 1, 1)) == []


@pytest.mark.parametrize(
    ("change", "months", "closed_before", "allowed"),
    [
        (date(2025, 7, 1), 3, date(2026, 1, 1), True),
        (date(2025, 7, 1), 12, date(2026, 7, 1), True),
        (date(2025, 7, 1), 12, date(2026, 4, 1), False),  # the after window is not closed
        (date(2025, 8, 1), 3, date(2026, 1, 1), False),  # not a quarter start
        (date(2025, 7, 1), 6, date(2026, 7, 1), False),  # 6 = 3 + 3: not offered
        (date(2025, 10, 1), 3, date(2026, 1, 1), True),
        (None, 3, date(2026, 1, 1), False),
    ],
)
def test_comparisons_change_at_a_quarter_and_compare_3_or_12_closed_months(
    change, months, closed_before, allowed
) -> None:
    chosen = comparison(change, months, closed_before)
    assert (chosen is not None) == allowed
    if chosen:
        before, after = chosen
        assert before.end == after.start == change
        assert len(before.months()) == len(after.months()) == months


def test_change_months_are_quarter_starts_with_room_for_three_months() -> None:
    assert change_months(2025, date(2026, 1, 1)) == [
        date(2025, 4, 1),
        date(2025, 7, 1),
        date(2025, 10, 1),
    ]
