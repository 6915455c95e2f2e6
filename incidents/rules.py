"""The aftercare protocol as data plus pure functions.

The protocol (``protocol.toml``) holds the severity rules, the aftercare steps with their
deadlines, and the working-day calendar. This module loads and validates it, assesses the
severity of an incident from its facts (always with the rule that set the level), and plans the
aftercare steps with their due moments.

Pure on purpose: no Flask, no database, nothing from the rest of the app. The names of incident
types and aggravating facts are repeated here as plain strings; a unit test keeps them in step
with ``incidents.models``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeGuard, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INCIDENT_TYPES: frozenset[str] = frozenset(
    {
        "verbal",
        "intimidation",
        "threat",
        "discrimination",
        "sexual",
        "physical",
        "damage",
        "online",
    }
)
"""Names of the incident types (the values of ``models.IncidentType``)."""

FACT_NAMES: tuple[str, ...] = ("weapon", "threat_home", "injury", "absence", "hospital")
"""Names of the aggravating facts (boolean columns of ``models.Incident``, fields of `Facts`)."""

MIN_LEVEL = 1
MAX_LEVEL = 4
END_OF_WORKING_DAY = "end_of_working_day"
DURATION_HELP = "use 24h, 3d, 2wd, 4w or end_of_working_day"
MAX_DURATION_COUNT = 9999  # keeps every deadline inside the calendar, whatever the unit

_DURATION = re.compile(r"([0-9]+)(h|d|wd|w)")
_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_E = TypeVar("_E", bound=enum.StrEnum)
_GENERIC_REASON = {
    "nl": "Geen regel van toepassing: een gemeld incident wordt altijd geregistreerd (niveau 1).",
    "en": "No rule applies: a reported incident is always registered (level 1).",
}


class StepKind(enum.StrEnum):
    """What an aftercare step is about."""

    CONTACT = "contact"  # manager contacts the employee, same working day
    POLICE_REPORT = "police_report"  # decision on the police report (aangifte)
    PERPETRATOR_RESPONSE = "perpetrator_response"
    LABOUR_INSPECTORATE = "labour_inspectorate"
    AFTERCARE_CONVERSATION = "aftercare_conversation"  # first opvanggesprek
    FOLLOW_UP_CONVERSATION = "follow_up_conversation"
    REFERRAL_DECISION = "referral_decision"
    CLOSING_CONVERSATION = "closing_conversation"
    TEAM_EVALUATION = "team_evaluation"


class Subject(enum.StrEnum):
    """Whom a step is planned for."""

    VICTIM = "victim"  # one step per affected employee
    WITNESS = "witness"  # one step per colleague witness
    INCIDENT = "incident"  # one step for the incident (owned by the first victim's manager)


class ProtocolError(ValueError):
    """The protocol file is unreadable or invalid.

    The message names the file, the key path (e.g. ``steps[3].due``; list positions count
    from 0) and what is wrong. The parts are also available as attributes.
    """

    def __init__(self, problem: str, *, key: str = "", source: str = "") -> None:
        self.problem = problem
        self.key = key
        self.source = source
        super().__init__(": ".join([part for part in (source, key) if part] + [problem]))


@dataclass(frozen=True)
class Facts:
    """What is known of an incident that the severity rules look at."""

    types: frozenset[str]
    weapon: bool = False
    threat_home: bool = False
    injury: bool = False
    absence: bool = False
    hospital: bool = False

    def true_facts(self) -> frozenset[str]:
        """The names of the aggravating facts that hold."""
        values = {
            "weapon": self.weapon,
            "threat_home": self.threat_home,
            "injury": self.injury,
            "absence": self.absence,
            "hospital": self.hospital,
        }
        return frozenset(name for name, value in values.items() if value)


@dataclass(frozen=True)
class Rule:
    """A severity rule: when its conditions hold, the incident is at least `level`."""

    id: str
    level: int
    reason_nl: str
    reason_en: str
    types_any: frozenset[str] = frozenset()
    facts_all: frozenset[str] = frozenset()
    facts_any: frozenset[str] = frozenset()

    def matches(self, facts: Facts) -> bool:
        """True when every condition given holds (an empty condition is not given)."""
        true = facts.true_facts()
        if self.types_any and self.types_any.isdisjoint(facts.types):
            return False
        if not self.facts_all <= true:
            return False
        return not (self.facts_any and self.facts_any.isdisjoint(true))

    def reason(self, language: str) -> str:
        """The reason in Dutch for a language starting with "nl", else in English."""
        return self.reason_nl if language.lower().startswith("nl") else self.reason_en


@dataclass(frozen=True)
class Assessment:
    """The severity of an incident and why."""

    level: int
    rule: Rule | None  # the rule that set the level; None when no rule matched
    reasons: tuple[Rule, ...]  # every matching rule, highest level first, then file order

    def reason(self, language: str) -> str:
        """The winning rule's reason in "nl" or "en", or a generic text when no rule matched."""
        if self.rule is not None:
            return self.rule.reason(language)
        return _GENERIC_REASON["nl" if language.lower().startswith("nl") else "en"]


@dataclass(frozen=True)
class StepDefinition:
    """One step of the aftercare protocol, planned for incidents of the levels it covers."""

    id: str
    kind: StepKind
    subject: Subject
    min_level: int
    max_level: int
    due: str
    title_nl: str
    title_en: str
    repeat_if_declined_after: str | None = None

    def applies_to(self, level: int) -> bool:
        """True when incidents of `level` get this step."""
        return self.min_level <= level <= self.max_level

    def title(self, language: str) -> str:
        """The title in Dutch for a language starting with "nl", else in English."""
        return self.title_nl if language.lower().startswith("nl") else self.title_en


@dataclass(frozen=True)
class Calendar:
    """Which days are working days and when a working day ends, in which time zone."""

    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # isoweekday numbers
    end_of_day: dt.time = dt.time(17, 0)
    timezone: str = "Europe/Amsterdam"

    def is_working_day(self, day: dt.date) -> bool:
        """True when `day` is a working day."""
        return day.isoweekday() in self.working_days


@dataclass(frozen=True)
class Protocol:
    """A validated protocol. `version` is the declared version plus a hash of the file."""

    version: str
    rules: tuple[Rule, ...]
    steps: tuple[StepDefinition, ...]
    calendar: Calendar


@dataclass(frozen=True)
class PlannedStep:
    """A step to create: for one person (VICTIM, WITNESS) or the incident (subject_id None)."""

    definition: StepDefinition
    subject_id: int | None
    due_at: dt.datetime  # aware, UTC


# --- loading and validation -------------------------------------------------------------------


def default_protocol_path() -> Path:
    """The protocol shipped with the app, next to this module."""
    return Path(__file__).with_name("protocol.toml")


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file; raises ProtocolError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProtocolError(f"cannot read the file ({exc.strerror})", source=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("the file is not UTF-8 text", source=str(path)) from exc
    return _parse(text, raw, str(path))


def parse_protocol(text: str, source: str = "protocol.toml") -> Protocol:
    """Validate protocol TOML text; `source` names it in error messages. Raises ProtocolError."""
    return _parse(text, text.encode("utf-8"), source)


def _parse(text: str, raw: bytes, source: str) -> Protocol:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise ProtocolError(f"invalid TOML: {exc}", source=source) from exc
    reader = _Reader(source)
    reader.check_keys(data, {"version", "rules", "steps", "calendar"}, "")
    declared = reader.text(data, "version", "")
    rules = tuple(
        reader.rule(table, f"rules[{i}]") for i, table in enumerate(reader.tables(data, "rules"))
    )
    reader.unique_ids(rules, "rules")
    steps = tuple(
        reader.step(table, f"steps[{i}]") for i, table in enumerate(reader.tables(data, "steps"))
    )
    reader.unique_ids(steps, "steps")
    calendar = reader.calendar(data.get("calendar", {}))
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return Protocol(version=f"{declared}+{digest}", rules=rules, steps=steps, calendar=calendar)


class _Reader:
    """Validating accessors that name the key path of every problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ProtocolError(problem, key=key, source=self.source)

    def check_keys(self, table: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                self.fail(_join(path, key), f"unknown key (known: {', '.join(sorted(allowed))})")

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"must be an array of tables (write [[{key}]] above each entry)")
        return value

    def text(self, table: dict[str, Any], key: str, path: str) -> str:
        if key not in table:
            self.fail(_join(path, key), "missing")
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(_join(path, key), f"{value!r} is not a non-empty string")
        return value

    def level(self, table: dict[str, Any], key: str, path: str) -> int:
        if key not in table:
            self.fail(_join(path, key), "missing")
        value = table[key]
        if not _is_level(value):
            self.fail(
                _join(path, key),
                f"{value!r} is not a level (use a whole number {MIN_LEVEL} to {MAX_LEVEL})",
            )
        return int(value)

    def names(
        self, table: dict[str, Any], key: str, path: str, known: Iterable[str], what: str
    ) -> frozenset[str]:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(path, key), f"must be a list of {what} names")
        known = sorted(known)
        for i, name in enumerate(value):
            if name not in known:
                self.fail(
                    f"{_join(path, key)}[{i}]",
                    f"unknown {what} {name!r} (known: {', '.join(known)})",
                )
        return frozenset(value)

    def duration(self, table: dict[str, Any], key: str, path: str) -> str:
        value = table[key]
        problem = _duration_problem(value)
        if problem:
            self.fail(_join(path, key), problem)
        return str(value)

    def unique_ids(self, items: Sequence[Rule | StepDefinition], path: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                self.fail(f"{path}[{i}].id", f"duplicate id {item.id!r}")
            seen.add(item.id)

    def rule(self, table: dict[str, Any], path: str) -> Rule:
        self.check_keys(
            table,
            {"id", "level", "reason_nl", "reason_en", "types_any", "facts_all", "facts_any"},
            path,
        )
        rule = Rule(
            id=self.text(table, "id", path),
            level=self.level(table, "level", path),
            reason_nl=self.text(table, "reason_nl", path),
            reason_en=self.text(table, "reason_en", path),
            types_any=self.names(table, "types_any", path, INCIDENT_TYPES, "type"),
            facts_all=self.names(table, "facts_all", path, FACT_NAMES, "fact"),
            facts_any=self.names(table, "facts_any", path, FACT_NAMES, "fact"),
        )
        if not (rule.types_any or rule.facts_all or rule.facts_any):
            # A rule without conditions would match every incident: almost surely a mistake.
            self.fail(path, "has no condition (give types_any, facts_all or facts_any)")
        return rule

    def step(self, table: dict[str, Any], path: str) -> StepDefinition:
        self.check_keys(
            table,
            {
                "id",
                "kind",
                "subject",
                "min_level",
                "max_level",
                "due",
                "title_nl",
                "title_en",
                "repeat_if_declined_after",
            },
            path,
        )
        step_id = self.text(table, "id", path)
        kind = self.choice(table, "kind", path, StepKind)
        subject = self.choice(table, "subject", path, Subject)
        min_level = self.level(table, "min_level", path)
        max_level = self.level(table, "max_level", path)
        if min_level > max_level:
            self.fail(path, f"min_level {min_level} is above max_level {max_level}")
        if "due" not in table:
            self.fail(_join(path, "due"), "missing")
        due = self.duration(table, "due", path)
        repeat = None
        if "repeat_if_declined_after" in table:
            repeat = self.duration(table, "repeat_if_declined_after", path)
        return StepDefinition(
            id=step_id,
            kind=kind,
            subject=subject,
            min_level=min_level,
            max_level=max_level,
            due=due,
            title_nl=self.text(table, "title_nl", path),
            title_en=self.text(table, "title_en", path),
            repeat_if_declined_after=repeat,
        )

    def choice(self, table: dict[str, Any], key: str, path: str, enum_type: type[_E]) -> _E:
        value = self.text(table, key, path)
        try:
            return enum_type(value)
        except ValueError:
            known = ", ".join(member.value for member in enum_type)
            self.fail(_join(path, key), f"unknown {key} {value!r} (known: {known})")

    def calendar(self, table: object) -> Calendar:
        if not isinstance(table, dict):
            self.fail("calendar", "must be a table (write [calendar] above its keys)")
        self.check_keys(table, {"working_days", "end_of_day", "timezone"}, "calendar")
        default = Calendar()
        working_days = table.get("working_days", sorted(default.working_days))
        if (
            not isinstance(working_days, list)
            or not working_days
            or not all(_is_int(day) and 1 <= day <= 7 for day in working_days)
        ):
            self.fail(
                "calendar.working_days",
                f"{working_days!r} is not a non-empty list of weekday numbers "
                "(1 = Monday ... 7 = Sunday)",
            )
        end_of_day = default.end_of_day
        if "end_of_day" in table:
            value = table["end_of_day"]
            match = _TIME_OF_DAY.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                self.fail("calendar.end_of_day", f'{value!r} is not a time of day (use "HH:MM")')
            end_of_day = dt.time(int(match[1]), int(match[2]))
        timezone = table.get("timezone", default.timezone)
        if not _is_timezone(timezone):
            self.fail(
                "calendar.timezone",
                f'{timezone!r} is not a known time zone (e.g. "Europe/Amsterdam")',
            )
        return Calendar(frozenset(working_days), end_of_day, timezone)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML true is no number


def _is_level(value: object) -> bool:
    return _is_int(value) and MIN_LEVEL <= value <= MAX_LEVEL


def _is_timezone(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _duration_problem(value: object) -> str | None:
    """None when `value` is a valid duration, else what is wrong with it."""
    try:
        _parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None


def _parse_duration(value: object) -> tuple[int, str]:
    """(count, unit) of a duration; unit "eowd" for end_of_working_day. Raises ValueError."""
    if value == END_OF_WORKING_DAY:
        return 0, "eowd"
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration ({DURATION_HELP})")
    count = int(match[1])
    if count > MAX_DURATION_COUNT:
        raise ValueError(f"{value!r} is too long (at most {MAX_DURATION_COUNT} of any unit)")
    return count, match[2]


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
    count, unit = _parse_duration(due)
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
    if not _is_level(level):
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
