"""Which periods the statistics may show: closed months, whole quarters and years.

Pure (no web framework, no database). A month is *closed* once it has ended in the
organisation's time zone and a delay (`STATS_PUBLISH_DELAY_DAYS`, default 7) has passed: late
reports have come in, and from then on its figures are published and never move. Figures are
shown for whole closed quarters and whole closed years only: a year-to-date that grew as the
year went on would let anyone subtract what it showed before from what it shows now, and learn
the last months' figures by level and team, which no page shows.
A before/after comparison changes at the start of a quarter and compares 3 or 12 months on
either side, all of them closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

COMPARE_MONTHS = (3, 12)


def add_months(start: date, months: int) -> date:
    """The first day of the month `months` after the month of `start`."""
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_key(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def closes_at(month: date, zone: str, delay_days: int) -> datetime:
    """The moment (UTC) a month's figures are published: its end in `zone` plus the delay."""
    end = add_months(month, 1)
    local = datetime(end.year, end.month, 1, tzinfo=ZoneInfo(zone))
    return (local + timedelta(days=delay_days)).astimezone(UTC)


def first_open_month(now: datetime, zone: str, delay_days: int) -> date:
    """The first month that is not closed at `now`: every month before it is published."""
    local = now.astimezone(ZoneInfo(zone))
    month = date(local.year, local.month, 1)
    # The current month is open; step back while the month before has not closed yet.
    while closes_at(add_months(month, -1), zone, delay_days) > now:
        month = add_months(month, -1)
    return month


def first_open_quarter(now: datetime, zone: str, delay_days: int) -> date:
    """The first day of the first quarter that is not wholly closed."""
    month = first_open_month(now, zone, delay_days)
    return date(month.year, month.month - (month.month - 1) % 3, 1)


@dataclass(frozen=True)
class Period:
    """A year or a quarter in the organisation's time zone ("2026", "2026-Q2"); `end` is
    exclusive."""

    key: str
    start: date
    end: date

    @property
    def is_year(self) -> bool:
        return len(self.key) == 4

    @property
    def year(self) -> int:
        return self.start.year

    @staticmethod
    def month(key: str) -> date | None:
        """The first day of a month given as "YYYY-MM"; None for anything else."""
        if (
            len(key) != 7
            or key[4] != "-"
            or not (key[:4] + key[5:]).isascii()
            or not (key[:4] + key[5:]).isdigit()
        ):
            return None
        year, month = int(key[:4]), int(key[5:])
        return date(year, month, 1) if 2000 <= year <= 2100 and 1 <= month <= 12 else None

    @classmethod
    def of_year(cls, year: int, closed_before: date | None = None) -> Period | None:
        """The year, if it has closed before `closed_before` (a quarter start); else None."""
        end = date(year + 1, 1, 1)
        if closed_before is not None and end > closed_before:
            return None
        return cls(str(year), date(year, 1, 1), end)

    @classmethod
    def of_quarter(cls, year: int, quarter: int) -> Period:
        start = date(year, 3 * quarter - 2, 1)
        return cls(f"{year}-Q{quarter}", start, add_months(start, 3))

    @classmethod
    def parse(cls, key: str, closed_before: date) -> Period | None:
        """ "2026" or "2026-Q1".."2026-Q4", if (some of) it has closed; None otherwise."""
        if len(key) == 4 and key.isascii() and key.isdigit() and 2000 <= int(key) <= 2100:
            return cls.of_year(int(key), closed_before)
        if (
            len(key) == 7
            and key[4:6] == "-Q"
            and key[:4].isascii()
            and key[:4].isdigit()
            and key[6] in "1234"
        ):
            year, quarter = int(key[:4]), int(key[6])
            if not 2000 <= year <= 2100:
                return None
            period = cls.of_quarter(year, quarter)
            return period if period.end <= closed_before else None
        return None

    def quarters(self) -> list[Period]:
        """The quarters of the period (the quarter itself for a quarter)."""
        if not self.is_year:
            return [self]
        return [Period.of_quarter(self.year, q) for q in range(1, 5)]

    def months(self) -> list[str]:
        """The months of the period as "YYYY-MM"."""
        keys, current = [], self.start
        while current < self.end:
            keys.append(month_key(current))
            current = add_months(current, 1)
        return keys

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """The period as UTC moments."""
        tz = ZoneInfo(zone)
        return (
            datetime(self.start.year, self.start.month, 1, tzinfo=tz).astimezone(UTC),
            datetime(self.end.year, self.end.month, 1, tzinfo=tz).astimezone(UTC),
        )


def periods(years: list[int], closed_before: date) -> list[str]:
    """The periods offered, newest first: each closed year followed by its quarters, and the
    closed quarters of a year that has not closed yet."""
    keys: list[str] = []
    for year in sorted(years, reverse=True):
        if Period.of_year(year, closed_before) is not None:
            keys.append(str(year))
        keys.extend(
            f"{year}-Q{q}" for q in range(1, 5) if Period.of_quarter(year, q).end <= closed_before
        )
    return keys


def comparison(
    change: date | None, months: int, closed_before: date
) -> tuple[Period, Period] | None:
    """The windows before and after a change at the start of a quarter, `months` (3 or 12)
    long, both wholly closed; None for anything else."""
    if change is None or months not in COMPARE_MONTHS or change.month % 3 != 1:
        return None
    before = Period("before", add_months(change, -months), change)
    after = Period("after", change, add_months(change, months))
    if after.end > closed_before or before.start.year < 2000:
        return None
    return before, after


def change_months(first_year: int, closed_before: date) -> list[date]:
    """Quarter starts at which a comparison of at least 3 months fits the closed months."""
    result = []
    month = date(first_year, 4, 1)
    while add_months(month, 3) <= closed_before:
        result.append(month)
        month = add_months(month, 3)
    return result
