"""The aftercare protocol as data plus pure functions.

The protocol (``protocol.toml``) holds the severity rules, the aftercare steps with their
deadlines, the outcomes each kind of step can record, and the working-day calendar.

- ``protocol``: the enums and dataclasses a validated protocol is made of;
- ``loader``: reads and validates the file, naming the key of every problem;
- ``planning``: assesses the severity of an incident from its facts (always with the rule that
  set the level) and plans the aftercare steps with their due moments;
- ``outcomes``: checks what a manager records when completing a step.

Pure on purpose: no Flask, no database, nothing from the rest of the app.
"""

from incidents.rules.loader import (
    default_protocol_path,
    load_protocol,
    parse_protocol,
    shipped_measures,
    shipped_outcomes,
)
from incidents.rules.outcomes import OUTCOMES_KEY, Problem, Recorded, check_outcome
from incidents.rules.planning import assess, due_at, plan
from incidents.rules.protocol import (
    DURATION_HELP,
    END_OF_WORKING_DAY,
    FACT_NAMES,
    FILED,
    INCIDENT_TYPES,
    MAX_DURATION_COUNT,
    MAX_LEVEL,
    MIN_LEVEL,
    Assessment,
    Calendar,
    Facts,
    Field,
    MeasureKind,
    Outcome,
    OutcomeRules,
    PlannedStep,
    Protocol,
    ProtocolError,
    Rule,
    StepDefinition,
    StepKind,
    Subject,
)

__all__ = [
    "DURATION_HELP",
    "END_OF_WORKING_DAY",
    "FACT_NAMES",
    "FILED",
    "INCIDENT_TYPES",
    "MAX_DURATION_COUNT",
    "MAX_LEVEL",
    "MIN_LEVEL",
    "OUTCOMES_KEY",
    "Assessment",
    "Calendar",
    "Facts",
    "Field",
    "MeasureKind",
    "Outcome",
    "OutcomeRules",
    "PlannedStep",
    "Problem",
    "Protocol",
    "ProtocolError",
    "Recorded",
    "Rule",
    "StepDefinition",
    "StepKind",
    "Subject",
    "assess",
    "check_outcome",
    "default_protocol_path",
    "due_at",
    "load_protocol",
    "parse_protocol",
    "plan",
    "shipped_measures",
    "shipped_outcomes",
]
