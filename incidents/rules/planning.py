"""Severity and planning: assess(facts) -> level with reasons; plan(...) -> steps with deadlines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from incidents.rules.protocol import (
    END_OF_WORKING_DAY,
    MAX_LEVEL,
    MIN_LEVEL,
    Assessment,
    Calendar,
    Facts,
    PlannedStep,
    Protocol,
    Subject,
    is_level,
    parse_duration,
)

# --- severity -------------------------------------------------------------------------------


def assess(facts: Facts, protocol: Protocol) -> Assessment:
    """The severity level of an incident with the rule that set it and every rule that matched.

    The highest level wins; between rules of the same level the first in the file wins.
    Without any matching rule the level is 1: a submitted incident is at least registered.
    """
    matched = [rule for rule in protocol.rules if rule.matches(facts)]
    reasons = tuple(sorted(matched, key=lambda rule: -rule.level))  # stable: file order in a tie
    if not reasons:
        return Assessment(level=MIN_LEVEL, rule=None, reasons=())
    return Assessment(level=reasons[0].level, rule=reasons[0], reasons=reasons)


# --- deadlines ------------------------------------------------------------------------------


def due_at(base: dt.datetime, due: str, calendar: Calendar) -> dt.datetime:
    """The moment a deadline `due` after `base` falls, as an aware UTC datetime.

    - "Nh": N hours of elapsed time.
    - "Nd" / "Nw": N calendar days / weeks later at the same local wall-clock time.
    - "Nwd": N working days later at the same local time, skipping non-working days.
    - "end_of_working_day": the end of `base`'s day if that is a working day and `base` is
      before its end, otherwise the end of the next working day.

    Days and weeks are counted in the calendar's time zone, so a deadline keeps its local
    time across a daylight-saving change. Raises ValueError for a naive `base` or a bad `due`.
    """
    if base.tzinfo is None or base.utcoffset() is None:
        raise ValueError("base must be a timezone-aware datetime")
    count, unit = parse_duration(due)
    if not calendar.working_days:
        raise ValueError("the calendar has no working days")
    if unit == "h":
        return base.astimezone(dt.UTC) + dt.timedelta(hours=count)
    zone = ZoneInfo(calendar.timezone)
    local = base.astimezone(zone)
    day, time = local.date(), local.time()
    if unit == "eowd":
        if not (calendar.is_working_day(day) and time < calendar.end_of_day):
            day = _next_working_day(day, calendar)
        time = calendar.end_of_day
    elif unit == "d":
        day += dt.timedelta(days=count)
    elif unit == "w":
        day += dt.timedelta(weeks=count)
    else:  # "wd"
        for _ in range(count):
            day = _next_working_day(day, calendar)
    # A wall-clock time in a spring-forward gap resolves to the later side of the gap.
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.UTC)


def _next_working_day(day: dt.date, calendar: Calendar) -> dt.date:
    day += dt.timedelta(days=1)
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


# --- planning -------------------------------------------------------------------------------


def plan(
    level: int,
    victim_ids: Sequence[int],
    witness_ids: Sequence[int],
    occurred_at: dt.datetime,
    reported_at: dt.datetime,
    protocol: Protocol,
) -> list[PlannedStep]:
    """The aftercare steps for an incident of `level`, in due order, then file order.

    Each VICTIM step is planned once per victim, each WITNESS step once per colleague witness
    (ids repeated in a list count once), and each INCIDENT step once when there is at least one
    victim. Deadlines count from `occurred_at`, but no step is due before the end of the
    working day on which the incident was reported (`reported_at`).
    """
    if not is_level(level):
        raise ValueError(f"{level!r} is not a level ({MIN_LEVEL} to {MAX_LEVEL})")
    calendar = protocol.calendar
    earliest = due_at(reported_at, END_OF_WORKING_DAY, calendar)
    victims = list(dict.fromkeys(victim_ids))
    witnesses = list(dict.fromkeys(witness_ids))
    planned: list[PlannedStep] = []
    for definition in protocol.steps:
        if not definition.applies_to(level):
            continue
        subject_ids: list[int | None]
        if definition.subject is Subject.VICTIM:
            subject_ids = list(victims)
        elif definition.subject is Subject.WITNESS:
            subject_ids = list(witnesses)
        else:
            subject_ids = [None] if victims else []
        if not subject_ids:
            continue
        due = max(due_at(occurred_at, definition.due, calendar), earliest)
        planned.extend(PlannedStep(definition, subject_id, due) for subject_id in subject_ids)
    planned.sort(key=lambda step: step.due_at)  # stable: file order among equal deadlines
    return planned
