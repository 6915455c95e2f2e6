"""Bounds on the numbers and dates that forms, services and query strings accept.

Pure: no Flask, no database. Whatever a user types or a client sends, a number fits an INTEGER
column on both databases and a date stays far from the ends of the calendar, so no conversion to
UTC or between time zones can overflow: an out-of-range value gets a message, never a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# The largest INTEGER of PostgreSQL (4 bytes); SQLite's hold 8 bytes, so this fits both.
INT_MAX = 2**31 - 1
# Nothing the organisation records happened before this day: no incident, no step.
EARLIEST_DAY = date(1990, 1, 1)
EARLIEST_MOMENT = datetime(1990, 1, 1, tzinfo=UTC)
# A measure against a perpetrator (a building ban) ends at most this long after today.
MEASURE_MAX_YEARS = 10


def parse_int(text: str, maximum: int = INT_MAX) -> int | None:
    """A whole number from 0 to `maximum` written in ASCII digits, else None (never raises:
    `str.isdigit` also accepts "²" and other digits that `int` refuses)."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def latest_measure_end(today: date) -> date:
    """The last day a measure that starts `today` may end on."""
    return today + timedelta(days=round(365.25 * MEASURE_MAX_YEARS))
