"""Reading an uploaded CSV file of client conversation counts: pure, no Flask, no database.

`split` checks the file as a whole and finds its header; `parse` reads the lines below it
against a `Lookup` the caller builds (the active teams, the names of the channels, this
month). What is wrong comes back as `Finding`s, a `Problem` and the value it is about, which
the service puts in the user's language. The single values (a month, a count) are checked
here too, so the counts form and the upload apply the same rules.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from incidents.models import Channel

MAX_COUNT = 10_000_000
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_LINES = 20_000
EARLIEST_MONTH = date(2000, 1, 1)

# The CSV columns, by their English and Dutch header names.
COLUMNS = {
    "month": "month",
    "maand": "month",
    "team": "team",
    "channel": "channel",
    "kanaal": "channel",
    "count": "count",
    "aantal": "count",
}
SEPARATORS = (",", ";")

RowKey: TypeAlias = "tuple[date, int, Channel]"  # (month, team id, channel)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_WHOLE_NUMBER = re.compile(r"([+-]?)([0-9]+)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Problem(enum.Enum):
    """What can be wrong with an upload; the value a `Finding` carries is noted per kind."""

    # The file as a whole: nothing is stored.
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_LINES = "too_many_lines"
    FILE_EMPTY = "file_empty"
    NO_HEADER = "no_header"
    NO_LINES = "no_lines"
    # One line: that line is not stored.
    UNREADABLE_LINE = "unreadable_line"
    WRONG_NUMBER_OF_VALUES = "wrong_number_of_values"  # how many values the line has
    DUPLICATE_LINE = "duplicate_line"  # the number of the line that is used
    MONTH_MISSING = "month_missing"
    NOT_A_MONTH = "not_a_month"  # the text
    MONTH_TOO_EARLY = "month_too_early"  # EARLIEST_MONTH as YYYY-MM
    MONTH_NOT_BEGUN = "month_not_begun"  # the month as YYYY-MM
    TEAM_MISSING = "team_missing"
    TEAM_AMBIGUOUS = "team_ambiguous"  # the text
    TEAM_UNKNOWN = "team_unknown"  # the text
    CHANNEL_MISSING = "channel_missing"
    CHANNEL_UNKNOWN = "channel_unknown"  # the text
    COUNT_MISSING = "count_missing"
    NOT_A_NUMBER = "not_a_number"  # the text
    COUNT_NEGATIVE = "count_negative"
    COUNT_TOO_LARGE = "count_too_large"


@dataclass(frozen=True)
class Finding:
    """One thing wrong, with the value the message about it names (see `Problem`)."""

    problem: Problem
    value: str | int | None = None


class UnusableFile(Exception):
    """The file as a whole cannot be used; nothing of it may be stored."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.finding = Finding(problem)


@dataclass(frozen=True)
class Sheet:
    """A file whose header was read: the separator, the column order, and the lines below the
    header as (line number, line)."""

    separator: str
    order: tuple[str, ...]
    rows: list[tuple[int, str]]


@dataclass(frozen=True)
class Lookup:
    """What the lines are checked against: this month, the active teams by number and by
    (case-folded) name, and the channels by (case-folded) label or code."""

    this_month: date
    team_ids: frozenset[int]
    team_names: Mapping[str, frozenset[int]]
    channels: Mapping[str, Channel]

    @classmethod
    def of(
        cls,
        this_month: date,
        teams: Iterable[tuple[int, Iterable[str]]],
        channel_labels: Iterable[tuple[str, Channel]],
        channels: Iterable[Channel],
    ) -> Lookup:
        """From the active teams as (id, names), the channels' labels in every language as
        (label, channel) (the first of a label wins), and the channels (their codes win over
        labels)."""
        team_ids: set[int] = set()
        team_names: dict[str, set[int]] = {}
        for team_id, names in teams:
            team_ids.add(team_id)
            for name in names:
                if name.strip():
                    team_names.setdefault(name.strip().casefold(), set()).add(team_id)
        by_name: dict[str, Channel] = {}
        for label, channel in channel_labels:
            by_name.setdefault(label.casefold(), channel)
        for channel in channels:
            by_name[channel.value] = channel
        return cls(
            this_month=this_month,
            team_ids=frozenset(team_ids),
            team_names={name: frozenset(ids) for name, ids in team_names.items()},
            channels=by_name,
        )


@dataclass
class Parsed:
    """The lines of a file: the valid counts by (month, team id, channel), and the rejected
    lines as (line number, the line as given, what is wrong with it)."""

    valid: dict[RowKey, int] = field(default_factory=dict)
    rejected: list[tuple[int, str, list[Finding]]] = field(default_factory=list)


# Single values, shared by the counts form and the upload.


def parse_month(text: str) -> date | None:
    """`YYYY-MM` as the first day of that month; None when it is no month."""
    match = _MONTH.fullmatch(text.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if year < 1 or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def format_month(month: date) -> str:
    """A month as `YYYY-MM`, as the page address and the CSV file write it."""
    return f"{month.year:04d}-{month.month:02d}"


def parse_count(text: str) -> int | None:
    """A whole number (possibly negative, so the range check can say what is wrong);
    None when the text is no whole number. Absurdly long numbers come back as a huge value."""
    match = _WHOLE_NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    sign = -1 if match[1] == "-" else 1
    digits = match[2].lstrip("0") or "0"
    # Far beyond MAX_COUNT: no need to convert thousands of digits (Python refuses > 4300).
    return sign * (int(digits) if len(digits) <= 12 else 10**12)


def check_month(month: date, this_month: date) -> Finding | None:
    """Why counts cannot be registered for `month` (the first of a month), or None."""
    if month < EARLIEST_MONTH:
        return Finding(Problem.MONTH_TOO_EARLY, format_month(EARLIEST_MONTH))
    if month > this_month:
        return Finding(Problem.MONTH_NOT_BEGUN, format_month(month))
    return None


def check_count(count: int) -> Finding | None:
    """Why `count` is no valid number of conversations, or None when it is."""
    if count < 0:
        return Finding(Problem.COUNT_NEGATIVE)
    if count > MAX_COUNT:
        return Finding(Problem.COUNT_TOO_LARGE)
    return None


# The file.


def split(text: str) -> Sheet:
    """The header and the lines of a file. Raises UnusableFile when it is too large, has too
    many lines, is empty or does not start with the header `month,team,channel,count` (in any
    order; `;` may separate instead of `,`; the Dutch maand, kanaal, aantal are understood).
    Empty lines before the header are skipped."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
        raise UnusableFile(Problem.FILE_TOO_LARGE)
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line break
    if len(lines) > MAX_LINES:
        raise UnusableFile(Problem.TOO_MANY_LINES)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise UnusableFile(Problem.FILE_EMPTY)
    found = _read_header(lines[header_at])
    if found is None:
        raise UnusableFile(Problem.NO_HEADER)
    separator, order = found
    rows = list(enumerate(lines[header_at + 1 :], start=header_at + 2))
    return Sheet(separator, tuple(order), rows)


def parse(sheet: Sheet, lookup: Lookup) -> Parsed:
    """The valid and the rejected lines below the header. Empty lines (also `;;;`) are no
    data; of lines with the same month, team and channel the first is used. Raises
    UnusableFile when there are no lines at all."""
    parsed = Parsed()
    first_line: dict[RowKey, int] = {}
    for number, line in sheet.rows:
        if not line.strip():
            continue  # empty lines are no data
        try:
            cells = line_values(line, sheet.separator)
        except csv.Error:
            parsed.rejected.append((number, line, [Finding(Problem.UNREADABLE_LINE)]))
            continue
        if not any(cells):
            continue  # ";;;": an empty row, as spreadsheets write it
        key, count, findings = parse_line(cells, sheet.order, lookup)
        if key is not None and key in first_line:
            findings.append(Finding(Problem.DUPLICATE_LINE, first_line[key]))
        if findings or key is None or count is None:
            parsed.rejected.append((number, line, findings))
            continue
        first_line[key] = number
        parsed.valid[key] = count
    if not parsed.valid and not parsed.rejected:
        raise UnusableFile(Problem.NO_LINES)
    return parsed


def parse_line(
    cells: list[str], order: Iterable[str], lookup: Lookup
) -> tuple[RowKey | None, int | None, list[Finding]]:
    """(month, team id, channel), the count, and what is wrong with one line's values."""
    order = list(order)
    if len(cells) != len(order):
        return None, None, [Finding(Problem.WRONG_NUMBER_OF_VALUES, len(cells))]
    values = dict(zip(order, cells, strict=True))
    findings: list[Finding] = []
    month = _month(values["month"], lookup, findings)
    team_id = _team(values["team"], lookup, findings)
    channel = _channel(values["channel"], lookup, findings)
    count = _count(values["count"], findings)
    if month is None or team_id is None or channel is None:
        return None, count, findings
    return (month, team_id, channel), count, findings


def line_values(line: str, separator: str) -> list[str]:
    """The values of one CSV line, without surrounding spaces or trailing empty cells."""
    cells = [cell.strip() for cell in next(csv.reader([line], delimiter=separator), [])]
    while len(cells) > len(set(COLUMNS.values())) and not cells[-1]:
        cells.pop()
    return cells


def _read_header(line: str) -> tuple[str, list[str]] | None:
    """The separator and the column order, when `line` is a valid header."""
    wanted = set(COLUMNS.values())
    for separator in SEPARATORS:
        try:
            names = [COLUMNS.get(cell.casefold(), "") for cell in line_values(line, separator)]
        except csv.Error:
            return None
        if len(names) == len(wanted) and set(names) == wanted:
            return separator, names
    return None


def _month(text: str, lookup: Lookup, findings: list[Finding]) -> date | None:
    month = parse_month(text)
    if month is None:
        findings.append(
            Finding(Problem.NOT_A_MONTH, text) if text else Finding(Problem.MONTH_MISSING)
        )
        return None
    finding = check_month(month, lookup.this_month)
    if finding:
        findings.append(finding)
        return None
    return month


def _team(text: str, lookup: Lookup, findings: list[Finding]) -> int | None:
    if not text:
        findings.append(Finding(Problem.TEAM_MISSING))
        return None
    if text.isascii() and text.isdigit() and int(text) in lookup.team_ids:
        return int(text)
    found = lookup.team_names.get(text.casefold(), frozenset())
    if len(found) == 1:
        return next(iter(found))
    problem = Problem.TEAM_AMBIGUOUS if len(found) > 1 else Problem.TEAM_UNKNOWN
    findings.append(Finding(problem, text))
    return None


def _channel(text: str, lookup: Lookup, findings: list[Finding]) -> Channel | None:
    if not text:
        findings.append(Finding(Problem.CHANNEL_MISSING))
        return None
    channel = lookup.channels.get(text.casefold())
    if channel is None:
        findings.append(Finding(Problem.CHANNEL_UNKNOWN, text))
    return channel


def _count(text: str, findings: list[Finding]) -> int | None:
    if not text:
        findings.append(Finding(Problem.COUNT_MISSING))
        return None
    count = parse_count(text)
    if count is None:
        findings.append(Finding(Problem.NOT_A_NUMBER, text))
        return None
    finding = check_count(count)
    if finding:
        findings.append(finding)
        return None
    return count
