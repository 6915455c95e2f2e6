"""The quick log's "when" as a moment: pure, in the organisation's time zone, one table."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from incidents.reporting.forms import QuickWhen, quick_moment

AMS = ZoneInfo("Europe/Amsterdam")


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


@pytest.mark.parametrize(
    ("now", "when", "clock", "expected"),
    [
        (at(2026, 3, 10, 10, 30), QuickWhen.NOW, None, None),
        (at(2026, 3, 10, 10, 30, 45), QuickWhen.EARLIER_TODAY, None, at(2026, 3, 10, 9, 30)),
        (at(2026, 3, 10, 10, 30), QuickWhen.EARLIER_TODAY, time(8, 5), at(2026, 3, 10, 8, 5)),
        (at(2026, 3, 10, 10, 30), QuickWhen.YESTERDAY, None, at(2026, 3, 9, 12, 0)),
        (at(2026, 3, 10, 10, 30), QuickWhen.YESTERDAY, time(23, 59, 30), at(2026, 3, 9, 23, 59)),
        # Just after midnight: an hour ago was yesterday, so earlier today is midnight.
        (at(2026, 3, 10, 0, 10), QuickWhen.EARLIER_TODAY, None, at(2026, 3, 10, 0, 0)),
        # Yesterday across the first of the month and of the year.
        (at(2026, 3, 1, 9, 0), QuickWhen.YESTERDAY, None, at(2026, 2, 28, 12, 0)),
        (at(2027, 1, 1, 0, 5), QuickWhen.YESTERDAY, time(23, 0), at(2026, 12, 31, 23, 0)),
    ],
)
def test_quick_moment(now, when, clock, expected):
    assert quick_moment(when, clock, now) == expected


def test_an_hour_ago_counts_real_hours_when_the_clocks_change():
    # 25 October 2026: at 03:00 summer time the clocks go back to 02:00. At 02:30 winter time
    # (01:30 UTC) an hour ago was 02:30 summer time (00:30 UTC).
    now = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=AMS)
    moment = quick_moment(QuickWhen.EARLIER_TODAY, None, now)
    assert moment is not None
    assert moment.timestamp() == now.timestamp() - 3600
