"""The protocol's data: its enums, the dataclasses a validated protocol is made of, durations.

Pure on purpose: no Flask, no database, nothing from the rest of the app. The names of incident
types and aggravating facts are repeated here as plain strings; a unit test keeps them in step
with ``incidents.models``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

TYPE_ORDER: tuple[str, ...] = (
    "verbal",
    "intimidation",
    "threat",
    "discrimination",
    "sexual",
    "physical",
    "damage",
    "online",
)
"""Names of the incident types (the values of ``models.IncidentType``), in the order the report
form lists them; a reason naming several types names them in this order."""

INCIDENT_TYPES: frozenset[str] = frozenset(TYPE_ORDER)
"""Names of the incident types (the values of ``models.IncidentType``)."""

FACT_NAMES: tuple[str, ...] = ("weapon", "threat_home", "injury", "absence", "hospital")
"""Names of the aggravating facts (boolean columns of ``models.Incident``, fields of `Facts`)."""

MIN_LEVEL = 1
MAX_LEVEL = 4
END_OF_WORKING_DAY = "end_of_working_day"
DURATION_HELP = "use 24h, 3d, 2wd, 4w or end_of_working_day"
MAX_DURATION_COUNT = 9999  # keeps every deadline inside the calendar, whatever the unit

_DURATION = re.compile(r"([0-9]+)(h|d|wd|w)")
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


class Outcome(enum.StrEnum):
    """What a completed step records. Which outcomes a step of each kind offers, which may be
    combined and which fields each needs is protocol data (``[outcomes.<kind>]``)."""

    HELD = "held"
    DECLINED = "declined"  # the employee declined; a conversation may be offered again
    NOT_REACHED = "not_reached"  # an attempt, not a completion: the step stays open
    VICTIM_SUPPORT = "victim_support"  # Slachtofferhulp
    SOCIAL_WORK = "social_work"  # bedrijfsmaatschappelijk werk
    OCCUPATIONAL_PHYSICIAN = "occupational_physician"
    GP = "gp"
    NONE_NEEDED = "none_needed"
    FILED_BY_EMPLOYER = "filed_by_employer"  # aangifte op domicilie
    FILED_BY_EMPLOYEE = "filed_by_employee"
    NOT_FILED = "not_filed"
    WARNING_LETTER = "warning_letter"
    CONVERSATION = "conversation"
    BUILDING_BAN = "building_ban"  # toegangsverbod: a measure with an end date
    NONE = "none"
    REPORTED = "reported"  # to the Labour Inspectorate
    NOT_REQUIRED = "not_required"


FILED = frozenset({Outcome.FILED_BY_EMPLOYER, Outcome.FILED_BY_EMPLOYEE})
"""A police report was filed: what came of it may be recorded later."""


class Field(enum.StrEnum):
    """What a manager may record beside the outcomes of a step."""

    HELD_ON = "held_on"  # when it took place, or was reported
    REFERENCE = "reference"  # a report number
    END_DATE = "end_date"  # when a measure ends; a needed end date lies after today
    CITIZEN_HEARD = "citizen_heard"  # the citizen was heard before the decision
    REASON = "reason"


@dataclass(frozen=True)
class OutcomeRules:
    """The outcomes a step of one kind can record, and what each needs."""

    kind: StepKind
    choose: tuple[Outcome, ...]  # offered in this order
    multiple: bool = False  # True: one or more; False: exactly one
    exclusive: frozenset[Outcome] = frozenset()  # never combined with another
    fields: tuple[Field, ...] = ()  # shown on the form, in this order
    needs: dict[Outcome, frozenset[Field]] = field(default_factory=dict)

    def needed(self, chosen: frozenset[Outcome]) -> frozenset[Field]:
        """The fields the chosen outcomes need together."""
        return frozenset().union(*(self.needs.get(outcome, frozenset()) for outcome in chosen))


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
    # Empty: the reason is the condition in the words of the app's own labels (`reason`).
    reason_nl: str = ""
    reason_en: str = ""
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

    @property
    def names_its_reason(self) -> bool:
        """True when the reason can be built from the condition's own labels: a rule on
        incident types only, or on one aggravating fact only."""
        if self.types_any:
            return not (self.facts_all or self.facts_any)
        return len(self.facts_all | self.facts_any) == 1

    def reason(self, language: str, names: Mapping[str, str] | None = None) -> str:
        """The reason in Dutch for a language starting with "nl", else in English.

        A rule without reason_nl/reason_en is given by its condition: `names` maps incident
        types and fact names to the labels the app shows for them in `language` (the type
        "damage" reads as the type does on the incident page, so reason and type never
        drift apart); several types are joined by commas. Without `names`, the ids."""
        own = self.reason_nl if language.lower().startswith("nl") else self.reason_en
        if own:
            return own
        names = names or {}
        if self.types_any:
            ordered = [t for t in TYPE_ORDER if t in self.types_any]
            return ", ".join(names.get(t, t) for t in ordered)
        (fact,) = self.facts_all | self.facts_any
        return names.get(fact, fact)


@dataclass(frozen=True)
class Assessment:
    """The severity of an incident and why."""

    level: int
    rule: Rule | None  # the rule that set the level; None when no rule matched
    reasons: tuple[Rule, ...]  # every matching rule, highest level first, then file order

    def reason(self, language: str, names: Mapping[str, str] | None = None) -> str:
        """The winning rule's reason in "nl" or "en" (`names` as for `Rule.reason`), or a
        generic text when no rule matched."""
        if self.rule is not None:
            return self.rule.reason(language, names)
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
class MeasureKind:
    """A kind of measure against a perpetrator ([[measures]]): how long it lasts by default,
    the longest it may last with one approval, and what the counter reads while it is in force."""

    id: str
    title_nl: str
    title_en: str
    rule_nl: str  # what staff at the counter read: "conversations only with two colleagues"
    rule_en: str
    default_days: int
    max_days: int
    hearing: bool = False  # the citizen is heard (or why not) before it can be approved
    contact_person: bool = False  # names the one employee the citizen deals with

    def title(self, language: str) -> str:
        return self.title_nl if language.lower().startswith("nl") else self.title_en

    def rule(self, language: str) -> str:
        return self.rule_nl if language.lower().startswith("nl") else self.rule_en


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
    outcomes: dict[StepKind, OutcomeRules] = field(default_factory=dict)
    # The steps an alarm button starts at once, before the report is completed ([alarm]).
    alarm_steps: frozenset[str] = frozenset()
    # The kinds of measure against a perpetrator a manager may propose ([[measures]]).
    measures: tuple[MeasureKind, ...] = ()

    def measure_kind(self, kind_id: str) -> MeasureKind | None:
        """The measure kind with this id; None for one the protocol does not (or no longer)
        know."""
        return next((kind for kind in self.measures if kind.id == kind_id), None)

    def outcomes_of(self, kind: StepKind | str) -> OutcomeRules:
        """The outcome rules of a step kind; KeyError for a kind the protocol does not know."""
        return self.outcomes[StepKind(kind)]


@dataclass(frozen=True)
class PlannedStep:
    """A step to create: for one person (VICTIM, WITNESS) or the incident (subject_id None)."""

    definition: StepDefinition
    subject_id: int | None
    due_at: dt.datetime  # aware, UTC


# --- durations and levels ---------------------------------------------------------------------


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML true is no number


def is_level(value: object) -> bool:
    return is_int(value) and MIN_LEVEL <= value <= MAX_LEVEL


def duration_problem(value: object) -> str | None:
    """None when `value` is a valid duration, else what is wrong with it."""
    try:
        parse_duration(value)
    except ValueError as exc:
        return str(exc)
    return None


def parse_duration(value: object) -> tuple[int, str]:
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
