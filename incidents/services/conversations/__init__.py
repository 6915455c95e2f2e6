"""Client conversation counts: the denominator of "incidents per 1,000 client conversations".

HR or an administrator registers how many client conversations each team had through each
channel in a month, in a form (`set_counts`) or by uploading a CSV file (`import_csv`).
A count is stored per team, channel and month (the first day of the month); storing it again
replaces it. Zero is a count; an empty value leaves what is stored alone.

Reading and checking the CSV file is pure, in `csvfile`; this module stores, and says what is
wrong in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import assert_never
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_number, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.labels import CHANNEL_LABELS
from incidents.models import AuditAction, Channel, ConversationCount, Team, User, utcnow
from incidents.services.base import InvalidInput, ServiceError, audit, transaction
from incidents.services.conversations import csvfile
from incidents.services.conversations.csvfile import (
    COLUMNS,
    EARLIEST_MONTH,
    MAX_COUNT,
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    SEPARATORS,
    Finding,
    Problem,
    RowKey,
    format_month,
    parse_count,
    parse_month,
)

__all__ = [
    "COLUMNS",
    "EARLIEST_MONTH",
    "MAX_COUNT",
    "MAX_LINES",
    "MAX_UPLOAD_BYTES",
    "SEPARATORS",
    "CountKey",
    "ImportReport",
    "active_teams",
    "count_field",
    "count_problem",
    "counts_in",
    "current_month",
    "describe",
    "format_month",
    "import_csv",
    "month_problem",
    "parse_count",
    "parse_month",
    "previous_month",
    "set_counts",
    "too_large_message",
]

CountKey = tuple[int, Channel]  # (team id, channel)


@dataclass
class ImportReport:
    """What an upload did: how many lines were stored, and which were not and why."""

    imported: int
    # (line number, the line as given, the reason in the user's language)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


# Checking single values, for the forms and `set_counts`: the rules are csvfile's.


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
    finding = csvfile.check_month(month, current_month())
    return describe(finding) if finding else None


def count_problem(count: int) -> str | None:
    """Why `count` is no valid number of conversations, or None when it is."""
    finding = csvfile.check_count(count)
    return describe(finding) if finding else None


def count_field(team_id: int, channel: Channel) -> str:
    """The form field of one team and channel; errors of `set_counts` are keyed by it."""
    return f"count-{team_id}-{channel.value}"


def too_large_message() -> str:
    """What is said about a file over the size limit (the upload form checks it first)."""
    return describe(Finding(Problem.FILE_TOO_LARGE))


def describe(finding: Finding) -> str:
    """What is wrong, in the user's language."""
    value = finding.value
    match finding.problem:
        case Problem.FILE_TOO_LARGE:
            return _(
                "The file is larger than %(size)s MB. Split it into smaller files.",
                size=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
        case Problem.TOO_MANY_LINES:
            return ngettext(
                "The file has more than %(max)s line. Split it into smaller files.",
                "The file has more than %(max)s lines. Split it into smaller files.",
                MAX_LINES,
                max=format_number(MAX_LINES),
            )
        case Problem.FILE_EMPTY:
            return _("The file is empty.")
        case Problem.NO_HEADER:
            return _(
                "The first line must be the header month,team,channel,count or "
                "maand,team,kanaal,aantal (separated by commas or semicolons)."
            )
        case Problem.NO_LINES:
            return _("The file has no lines below the header.")
        case Problem.UNREADABLE_LINE:
            return _("This line cannot be read as CSV.")
        case Problem.WRONG_NUMBER_OF_VALUES:
            return _(
                "Expected 4 values (month, team, channel, count), found %(found)s.",
                found=value,
            )
        case Problem.DUPLICATE_LINE:
            return _(
                "The same month, team and channel as line %(line)s; only that line is used.",
                line=value,
            )
        case Problem.MONTH_MISSING:
            return _("The month is missing.")
        case Problem.NOT_A_MONTH:
            return _(
                "“%(value)s” is not a month; write it as YYYY-MM, for example 2025-03.",
                value=value,
            )
        case Problem.MONTH_TOO_EARLY:
            return _("Counts can be registered from %(month)s on.", month=value)
        case Problem.MONTH_NOT_BEGUN:
            return _("The month %(month)s has not begun yet.", month=value)
        case Problem.TEAM_MISSING:
            return _("The team is missing.")
        case Problem.TEAM_AMBIGUOUS:
            return _("More than one team is called “%(value)s”; use its number.", value=value)
        case Problem.TEAM_UNKNOWN:
            return _("No active team has the number or name “%(value)s”.", value=value)
        case Problem.CHANNEL_MISSING:
            return _("The channel is missing.")
        case Problem.CHANNEL_UNKNOWN:
            return _("Unknown channel “%(value)s”.", value=value)
        case Problem.COUNT_MISSING:
            return _("The count is missing.")
        case Problem.NOT_A_NUMBER:
            return _(
                "“%(value)s” is not a whole number; write digits only, such as 1200.", value=value
            )
        case Problem.COUNT_NEGATIVE:
            return _("The number must be 0 or more.")
        case Problem.COUNT_TOO_LARGE:
            return _("The number must be at most %(max)s.", max=format_number(MAX_COUNT))
        case _:
            assert_never(finding.problem)


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
    try:
        sheet = csvfile.split(text)
        parsed = csvfile.parse(sheet, _lookup())
    except csvfile.UnusableFile as unusable:
        raise InvalidInput({"file": describe(unusable.finding)}) from None
    if parsed.valid:
        _store(actor, parsed.valid, source="csv")
    rejected = [
        (number, line, " ".join(describe(finding) for finding in findings))
        for number, line, findings in parsed.rejected
    ]
    return ImportReport(imported=len(parsed.valid), rejected=rejected)


def _lookup() -> csvfile.Lookup:
    """What the lines of a file are checked against: the active teams by number and name (in
    both languages), the channels by code and by label in every language, this month."""
    teams = db.session.scalars(select(Team).where(Team.active)).all()
    labels: list[tuple[str, Channel]] = []
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            labels.extend((str(label), channel) for channel, label in CHANNEL_LABELS.items())
    return csvfile.Lookup.of(
        this_month=current_month(),
        teams=[(team.id, (team.name_nl, team.name_en)) for team in teams],
        channel_labels=labels,
        channels=Channel,
    )


def _active_team_ids(team_ids: Iterable[int]) -> set[int]:
    wanted = set(team_ids)
    if not wanted:
        return set()
    return set(db.session.scalars(select(Team.id).where(Team.id.in_(wanted), Team.active)))


def _store(actor: User, rows: dict[RowKey, int], source: str = "form") -> dict[date, int]:
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
                    AuditAction.CONVERSATIONS_SET,
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
