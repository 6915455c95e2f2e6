"""Client conversation counts: the denominator of "incidents per 1,000 client conversations".

HR or an administrator registers how many client conversations each team had through each
channel in a month, in a form (`set_counts`) or by uploading a CSV file (`import_csv`).
A count is stored per team, channel and month (the first day of the month); storing it again
replaces it. Zero is a count; an empty value leaves what is stored alone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_number, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.labels import CHANNEL_LABELS
from incidents.models import Channel, ConversationCount, Team, User, utcnow
from incidents.services.base import InvalidInput, ServiceError, audit, transaction

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

CountKey = tuple[int, Channel]  # (team id, channel)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_WHOLE_NUMBER = re.compile(r"([+-]?)([0-9]+)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class ImportReport:
    """What an upload did: how many lines were stored, and which were not and why."""

    imported: int
    # (line number, the line as given, the reason in the user's language)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


# Parsing and checking single values: pure, shared by the forms and the CSV import.


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


def current_month() -> date:
    """The first day of this month in the organisation's time zone."""
    today = datetime.now(ZoneInfo(current_app.config["ORG_TIMEZONE"])).date()
    return today.replace(day=1)


def previous_month() -> date:
    """The month before this one: the one usually registered."""
    this = current_month()
    return date(this.year - 1, 12, 1) if this.month == 1 else date(this.year, this.month - 1, 1)


def month_problem(month: date) -> str | None:
    """Why counts cannot be registered for `month`, or None when they can."""
    if month < EARLIEST_MONTH:
        return _("Counts can be registered from %(month)s on.", month=format_month(EARLIEST_MONTH))
    if month > current_month():
        return _("The month %(month)s has not begun yet.", month=format_month(month))
    return None


def count_problem(count: int) -> str | None:
    """Why `count` is no valid number of conversations, or None when it is."""
    if count < 0:
        return _("The number must be 0 or more.")
    if count > MAX_COUNT:
        return _("The number must be at most %(max)s.", max=format_number(MAX_COUNT))
    return None


def count_field(team_id: int, channel: Channel) -> str:
    """The form field of one team and channel; errors of `set_counts` are keyed by it."""
    return f"count-{team_id}-{channel.value}"


# Reading.


def active_teams() -> list[Team]:
    """The teams counts are registered for, by name in the user's language."""
    language = str(get_locale() or "nl")
    teams = db.session.scalars(select(Team).where(Team.active)).all()
    return sorted(teams, key=lambda team: (team.name(language).casefold(), team.id))


def counts_in(month: date) -> dict[CountKey, int]:
    """The stored counts of one month, by team and channel."""
    rows = db.session.execute(
        select(ConversationCount.team_id, ConversationCount.channel, ConversationCount.count).where(
            ConversationCount.month == month
        )
    ).all()
    return {(team_id, channel): count for team_id, channel, count in rows}


# Changing.


def set_counts(actor: User, month: date, counts: dict[CountKey, int | None]) -> int:
    """Store the counts of one month per (team id, channel), replacing stored ones.

    A count of None leaves a stored count untouched. Returns how many counts were added or
    changed. Raises InvalidInput keyed by `count_field(...)` (or "month") for a bad value.
    """
    month = month.replace(day=1)
    problem = month_problem(month)
    if problem:
        raise InvalidInput({"month": problem})
    given = {key: count for key, count in counts.items() if count is not None}
    if not given:
        return 0
    team_ids = _active_team_ids({team_id for team_id, _channel in given})
    errors: dict[str, str] = {}
    for (team_id, channel), count in given.items():
        problem = (
            count_problem(count)
            if team_id in team_ids
            else _("This team does not exist or is no longer active.")
        )
        if problem:
            errors[count_field(team_id, channel)] = problem
    if errors:
        raise InvalidInput(errors)
    changed = _store(
        actor, {(month, team_id, channel): count for (team_id, channel), count in given.items()}
    )
    return changed.get(month, 0)


def import_csv(actor: User, text: str) -> ImportReport:
    """Store the valid lines of a CSV file in one transaction; report the others.

    The first line is the header `month,team,channel,count` (in any order; `;` may separate
    instead of `,`; Dutch names maand, kanaal, aantal are understood). Raises InvalidInput
    keyed "file" when the file as a whole cannot be used; then nothing is stored.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
        raise InvalidInput({"file": too_large_message()})
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line break
    if len(lines) > MAX_LINES:
        raise InvalidInput(
            {
                "file": _(
                    "The file has more than %(max)s lines. Split it into smaller files.",
                    max=format_number(MAX_LINES),
                )
            }
        )
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise InvalidInput({"file": _("The file is empty.")})
    found = _read_header(lines[header_at])
    if found is None:
        raise InvalidInput(
            {
                "file": _(
                    "The first line must be the header month,team,channel,count or "
                    "maand,team,kanaal,aantal (separated by commas or semicolons)."
                )
            }
        )
    separator, order = found

    parser = _LineParser()
    valid: dict[tuple[date, int, Channel], int] = {}
    first_line: dict[tuple[date, int, Channel], int] = {}
    rejected: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not line.strip():
            continue  # empty lines are no data
        try:
            cells = _cells(line, separator)
        except csv.Error:
            rejected.append((number, line, _("This line cannot be read as CSV.")))
            continue
        if not any(cells):
            continue  # ";;;": an empty row, as spreadsheets write it
        key, count, problems = parser.parse(cells, order)
        if key is not None and key in first_line:
            problems.append(
                _(
                    "The same month, team and channel as line %(line)s; only that line is used.",
                    line=first_line[key],
                )
            )
        if problems or key is None or count is None:
            rejected.append((number, line, " ".join(problems)))
            continue
        first_line[key] = number
        valid[key] = count
    if not valid and not rejected:
        raise InvalidInput({"file": _("The file has no lines below the header.")})
    if valid:
        _store(actor, valid, source="csv")
    return ImportReport(imported=len(valid), rejected=rejected)


def too_large_message() -> str:
    """What is said about a file over the size limit (the upload form checks it first)."""
    return _(
        "The file is larger than %(size)s MB. Split it into smaller files.",
        size=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


def _active_team_ids(team_ids: Iterable[int]) -> set[int]:
    wanted = set(team_ids)
    if not wanted:
        return set()
    return set(db.session.scalars(select(Team.id).where(Team.id.in_(wanted), Team.active)))


def _store(
    actor: User, rows: dict[tuple[date, int, Channel], int], source: str = "form"
) -> dict[date, int]:
    """Insert or replace counts in one transaction, with one audit event per month that
    changed. Returns the number of added or changed counts per month."""
    months = {month for month, _team, _channel in rows}
    team_ids = {team_id for _month, team_id, _channel in rows}
    changed: dict[date, int] = {}
    try:
        with transaction():
            stored = {
                (row.month, row.team_id, row.channel): row
                for row in db.session.scalars(
                    select(ConversationCount).where(
                        ConversationCount.month.in_(months),
                        ConversationCount.team_id.in_(team_ids),
                    )
                )
            }
            now = utcnow()
            for (month, team_id, channel), count in rows.items():
                row = stored.get((month, team_id, channel))
                if row is None:
                    db.session.add(
                        ConversationCount(
                            team_id=team_id,
                            channel=channel,
                            month=month,
                            count=count,
                            updated_at=now,
                            updated_by_id=actor.id,
                        )
                    )
                elif row.count != count:
                    row.count, row.updated_at, row.updated_by_id = count, now, actor.id
                else:
                    continue
                changed[month] = changed.get(month, 0) + 1
            for month in sorted(changed):
                audit(
                    actor,
                    "conversations.set",
                    month=format_month(month),
                    rows=changed[month],
                    source=source,
                )
    except IntegrityError as error:
        # Someone else added the same count between our read and our write.
        raise ServiceError(
            _("Someone else saved counts at the same moment. Please try again.")
        ) from error
    return changed


def _cells(line: str, separator: str) -> list[str]:
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
            names = [COLUMNS.get(cell.casefold(), "") for cell in _cells(line, separator)]
        except csv.Error:
            return None
        if len(names) == len(wanted) and set(names) == wanted:
            return separator, names
    return None


class _LineParser:
    """Reads the values of one data line; knows the active teams and the channel names."""

    def __init__(self) -> None:
        teams = db.session.scalars(select(Team).where(Team.active)).all()
        self.team_ids = {team.id for team in teams}
        self.team_names: dict[str, set[int]] = {}
        for team in teams:
            for name in (team.name_nl, team.name_en):
                if name.strip():
                    self.team_names.setdefault(name.strip().casefold(), set()).add(team.id)
        self.channels: dict[str, Channel] = {}
        for language in current_app.config["LANGUAGES"]:
            with force_locale(language):
                for channel, label in CHANNEL_LABELS.items():
                    self.channels.setdefault(str(label).casefold(), channel)
        for channel in Channel:  # codes win over labels
            self.channels[channel.value] = channel

    def parse(
        self, cells: list[str], order: list[str]
    ) -> tuple[tuple[date, int, Channel] | None, int | None, list[str]]:
        """(month, team id, channel), the count, and what is wrong with the line."""
        if len(cells) != len(order):
            return (
                None,
                None,
                [
                    _(
                        "Expected 4 values (month, team, channel, count), found %(count)s.",
                        count=len(cells),
                    )
                ],
            )
        values = dict(zip(order, cells, strict=True))
        problems: list[str] = []
        month = self._month(values["month"], problems)
        team_id = self._team(values["team"], problems)
        channel = self._channel(values["channel"], problems)
        count = self._count(values["count"], problems)
        if month is None or team_id is None or channel is None:
            return None, count, problems
        return (month, team_id, channel), count, problems

    def _month(self, text: str, problems: list[str]) -> date | None:
        month = parse_month(text)
        if month is None:
            problems.append(
                _(
                    "“%(value)s” is not a month; write it as YYYY-MM, for example 2025-03.",
                    value=text,
                )
                if text
                else _("The month is missing.")
            )
            return None
        problem = month_problem(month)
        if problem:
            problems.append(problem)
            return None
        return month

    def _team(self, text: str, problems: list[str]) -> int | None:
        if not text:
            problems.append(_("The team is missing."))
            return None
        if text.isascii() and text.isdigit() and int(text) in self.team_ids:
            return int(text)
        found = self.team_names.get(text.casefold(), set())
        if len(found) == 1:
            return next(iter(found))
        if len(found) > 1:
            problems.append(
                _("More than one team is called “%(value)s”; use its number.", value=text)
            )
        else:
            problems.append(
                _(
                    "No active team has the number or name “%(value)s”.",
                    value=text,
                )
            )
        return None

    def _channel(self, text: str, problems: list[str]) -> Channel | None:
        if not text:
            problems.append(_("The channel is missing."))
            return None
        channel = self.channels.get(text.casefold())
        if channel is None:
            problems.append(_("Unknown channel “%(value)s”.", value=text))
        return channel

    def _count(self, text: str, problems: list[str]) -> int | None:
        if not text:
            problems.append(_("The count is missing."))
            return None
        count = parse_count(text)
        if count is None:
            problems.append(
                _("“%(value)s” is not a whole number; write digits only, such as 1200.", value=text)
            )
            return None
        problem = count_problem(count)
        if problem:
            problems.append(problem)
            return None
        return count
