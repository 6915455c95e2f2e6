"""Load and validate a protocol file; every problem names the key that is wrong."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.rules.protocol import (
    FACT_NAMES,
    INCIDENT_TYPES,
    MAX_LEVEL,
    MIN_LEVEL,
    Calendar,
    Field,
    MeasureKind,
    Outcome,
    OutcomeRules,
    Protocol,
    ProtocolError,
    Rule,
    StepDefinition,
    StepKind,
    Subject,
    duration_problem,
    is_int,
    is_level,
)

MAX_MEASURE_DAYS = 3 * 366  # no measure is proposed for longer than three years
_TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_E = TypeVar("_E", bound=enum.StrEnum)

# --- loading and validation -------------------------------------------------------------------


def default_protocol_path() -> Path:
    """The protocol shipped with the app, next to this module."""
    return Path(__file__).parent.parent / "protocol.toml"


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
    reader.check_keys(
        data, {"version", "rules", "steps", "calendar", "outcomes", "alarm", "measures"}, ""
    )
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
    outcomes = reader.outcomes(data.get("outcomes", {}))
    if source != _SHIPPED_SOURCE:
        # An organisation's protocol may leave out a kind's outcomes: the shipped ones apply.
        outcomes = {**shipped_outcomes(), **outcomes}
    else:
        missing = [kind.value for kind in StepKind if kind not in outcomes]
        if missing:
            reader.fail("outcomes", f"no outcomes for {', '.join(missing)}")
    measures = tuple(
        reader.measure(table, f"measures[{i}]")
        for i, table in enumerate(reader.tables(data, "measures"))
    )
    reader.unique_ids(measures, "measures")
    if source == _SHIPPED_SOURCE and not measures:
        reader.fail("measures", "no measure kinds")
    if not measures:  # an organisation's protocol may leave them out: the shipped ones apply
        measures = shipped_measures()
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return Protocol(
        version=f"{declared}+{digest}",
        rules=rules,
        steps=steps,
        calendar=calendar,
        outcomes=outcomes,
        alarm_steps=reader.alarm_steps(data.get("alarm"), steps),
        measures=measures,
    )


_SHIPPED_SOURCE = "<shipped protocol>"
_shipped: list[Protocol] = []


def _shipped_protocol() -> Protocol:
    """The protocol shipped with the app (read once)."""
    if not _shipped:
        text = default_protocol_path().read_text(encoding="utf-8")
        _shipped.append(parse_protocol(text, source=_SHIPPED_SOURCE))
    return _shipped[0]


def shipped_outcomes() -> dict[StepKind, OutcomeRules]:
    """The outcomes of every step kind in the protocol shipped with the app."""
    return dict(_shipped_protocol().outcomes)


def shipped_measures() -> tuple[MeasureKind, ...]:
    """The measure kinds of the protocol shipped with the app."""
    return _shipped_protocol().measures


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
        if not is_level(value):
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
        problem = duration_problem(value)
        if problem:
            self.fail(_join(path, key), problem)
        return str(value)

    def unique_ids(self, items: Sequence[Rule | StepDefinition | MeasureKind], path: str) -> None:
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
        # The reason in both languages, or in neither: then the condition's labels say it.
        own = "reason_nl" in table or "reason_en" in table
        rule = Rule(
            id=self.text(table, "id", path),
            level=self.level(table, "level", path),
            reason_nl=self.text(table, "reason_nl", path) if own else "",
            reason_en=self.text(table, "reason_en", path) if own else "",
            types_any=self.names(table, "types_any", path, INCIDENT_TYPES, "type"),
            facts_all=self.names(table, "facts_all", path, FACT_NAMES, "fact"),
            facts_any=self.names(table, "facts_any", path, FACT_NAMES, "fact"),
        )
        if not (rule.types_any or rule.facts_all or rule.facts_any):
            # A rule without conditions would match every incident: almost surely a mistake.
            self.fail(path, "has no condition (give types_any, facts_all or facts_any)")
        if not own and not rule.names_its_reason:
            self.fail(
                _join(path, "reason_nl"),
                "missing (a rule on incident types only, or on one fact, may leave out "
                "reason_nl and reason_en; this one needs both)",
            )
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

    def outcomes(self, table: object) -> dict[StepKind, OutcomeRules]:
        if not isinstance(table, dict):
            self.fail("outcomes", "must be a table (write [outcomes.<kind>] above each entry)")
        result: dict[StepKind, OutcomeRules] = {}
        for name, entry in table.items():
            path = f"outcomes.{name}"
            if name not in {kind.value for kind in StepKind}:
                known = ", ".join(kind.value for kind in StepKind)
                self.fail(path, f"unknown step kind {name!r} (known: {known})")
            if not isinstance(entry, dict):
                self.fail(path, f"must be a table (write [outcomes.{name}] above its keys)")
            result[StepKind(name)] = self.outcome_rules(StepKind(name), entry, path)
        return result

    def outcome_rules(self, kind: StepKind, table: dict[str, Any], path: str) -> OutcomeRules:
        self.check_keys(table, {"choose", "multiple", "exclusive", "fields", "needs"}, path)
        if "choose" not in table:
            self.fail(_join(path, "choose"), "missing")
        choose = self.members(table, "choose", path, Outcome)
        if not choose:
            self.fail(_join(path, "choose"), "must name at least one outcome")
        multiple = table.get("multiple", False)
        if not isinstance(multiple, bool):
            self.fail(_join(path, "multiple"), f"{multiple!r} is not true or false")
        exclusive = self.members(table, "exclusive", path, Outcome, within=choose)
        fields = self.members(table, "fields", path, Field)
        needs_table = table.get("needs", {})
        if not isinstance(needs_table, dict):
            self.fail(_join(path, "needs"), "must be a table of outcome = [fields]")
        needs: dict[Outcome, frozenset[Field]] = {}
        for outcome, _fields in needs_table.items():
            key = f"{path}.needs.{outcome}"
            if outcome not in choose:
                self.fail(key, f"{outcome!r} is not one of choose")
            needed = self.members(needs_table, outcome, f"{path}.needs", Field, within=fields)
            needs[Outcome(outcome)] = frozenset(needed)
        if multiple and Outcome.NOT_REACHED in choose and Outcome.NOT_REACHED not in exclusive:
            # "Not reached" records an attempt: combined with a decision it would be both.
            self.fail(_join(path, "exclusive"), "must list not_reached when multiple is true")
        return OutcomeRules(
            kind=kind,
            choose=choose,
            multiple=multiple,
            exclusive=frozenset(exclusive),
            fields=fields,
            needs=needs,
        )

    def members(
        self,
        table: dict[str, Any],
        key: str,
        path: str,
        enum_type: type[_E],
        within: Sequence[_E] | None = None,
    ) -> tuple[_E, ...]:
        """A list of enum values without repeats; `within`: they must also be in that list."""
        value = table.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(path, key), "must be a list of names")
        known = [member.value for member in (within if within is not None else enum_type)]
        for i, name in enumerate(value):
            if name not in known:
                self.fail(
                    f"{_join(path, key)}[{i}]", f"unknown {name!r} (known: {', '.join(known)})"
                )
            if name in value[:i]:
                self.fail(f"{_join(path, key)}[{i}]", f"{name!r} is listed twice")
        return tuple(enum_type(name) for name in value)

    def alarm_steps(self, table: object, steps: Sequence[StepDefinition]) -> frozenset[str]:
        """The steps an alarm starts at once: ids of steps for the victim that are planned at
        the lowest level. Without [alarm], every such contact step (an alarm means contact)."""
        if table is None:
            return frozenset(
                s.id
                for s in steps
                if s.kind == StepKind.CONTACT
                and s.subject == Subject.VICTIM
                and s.applies_to(MIN_LEVEL)
            )
        if not isinstance(table, dict):
            self.fail("alarm", "must be a table (write [alarm] above its keys)")
        self.check_keys(table, {"steps"}, "alarm")
        chosen = self.names(table, "steps", "alarm", [s.id for s in steps], "step")
        for i, step_id in enumerate(table.get("steps", [])):
            step = next(s for s in steps if s.id == step_id)
            if step.subject != Subject.VICTIM or not step.applies_to(MIN_LEVEL):
                self.fail(
                    f"alarm.steps[{i}]",
                    f"step {step_id!r} is not for the victim at level {MIN_LEVEL}",
                )
        return chosen

    def measure(self, table: dict[str, Any], path: str) -> MeasureKind:
        keys = {"id", "title_nl", "title_en", "rule_nl", "rule_en", "default_days", "max_days"}
        self.check_keys(table, keys | {"hearing", "contact_person"}, path)
        kind_id = self.text(table, "id", path)
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", kind_id):
            self.fail(_join(path, "id"), f"{kind_id!r} is not a name of lowercase letters and _")
        days = {}
        for key in ("default_days", "max_days"):
            value = table.get(key)
            if not is_int(value) or not 1 <= value <= MAX_MEASURE_DAYS:
                self.fail(
                    _join(path, key), f"{value!r} is not a number of days 1..{MAX_MEASURE_DAYS}"
                )
            days[key] = value
        if days["default_days"] > days["max_days"]:
            self.fail(_join(path, "default_days"), "is longer than max_days")
        flags = {}
        for key in ("hearing", "contact_person"):
            value = table.get(key, False)
            if not isinstance(value, bool):
                self.fail(_join(path, key), f"{value!r} is not true or false")
            flags[key] = value
        return MeasureKind(
            id=kind_id,
            title_nl=self.text(table, "title_nl", path),
            title_en=self.text(table, "title_en", path),
            rule_nl=self.text(table, "rule_nl", path),
            rule_en=self.text(table, "rule_en", path),
            default_days=days["default_days"],
            max_days=days["max_days"],
            **flags,
        )

    def calendar(self, table: object) -> Calendar:
        if not isinstance(table, dict):
            self.fail("calendar", "must be a table (write [calendar] above its keys)")
        self.check_keys(table, {"working_days", "end_of_day", "timezone"}, "calendar")
        default = Calendar()
        working_days = table.get("working_days", sorted(default.working_days))
        if (
            not isinstance(working_days, list)
            or not working_days
            or not all(is_int(day) and 1 <= day <= 7 for day in working_days)
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


def _is_timezone(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
