"""Pure tests of the protocol: severity rules, deadlines, planning and validation. No app."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from incidents import rules
from incidents.rules import (
    Calendar,
    Facts,
    Protocol,
    ProtocolError,
    StepKind,
    Subject,
    assess,
    default_protocol_path,
    due_at,
    load_protocol,
    parse_protocol,
    plan,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CALENDAR = Calendar()  # Monday to Friday, 17:00, Europe/Amsterdam


def local(day: str, clock: str) -> datetime:
    """An Amsterdam wall-clock moment, e.g. local("2026-01-02", "17:30")."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=AMSTERDAM)


def utc(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(default_protocol_path())


# --- the default protocol --------------------------------------------------------------------


def test_the_default_protocol_file_loads(protocol: Protocol) -> None:
    assert protocol.version.startswith("2026.1+")
    assert protocol.calendar == Calendar(frozenset({1, 2, 3, 4, 5}), time(17), "Europe/Amsterdam")
    assert [step.id for step in protocol.steps] == [
        "contact",
        "police_report",
        "perpetrator_response",
        "labour_inspectorate",
        "aftercare_conversation",
        "witness_aftercare_conversation",
        "follow_up_conversation",
        "referral_decision",
        "referral_decision_at_once",
        "closing_conversation",
        "team_evaluation",
    ]
    aftercare = {step.id: step for step in protocol.steps}
    assert aftercare["witness_aftercare_conversation"].kind is StepKind.AFTERCARE_CONVERSATION
    assert aftercare["witness_aftercare_conversation"].subject is Subject.WITNESS
    assert aftercare["aftercare_conversation"].repeat_if_declined_after == "14d"


def test_rules_import_neither_flask_nor_the_database_nor_the_app() -> None:
    package = Path(rules.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "protocol.py", "loader.py", "planning.py"}
    imported: set[str] = set()
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
    forbidden = {
        name
        for name in imported
        if name.split(".")[0] in {"flask", "sqlalchemy", "incidents"}
        and not name.startswith("incidents.rules.")
    }
    assert not forbidden


def test_the_names_in_rules_match_the_models() -> None:
    from incidents.models import Incident, IncidentType

    assert {member.value for member in IncidentType} == rules.INCIDENT_TYPES
    assert all(hasattr(Incident, name) for name in rules.FACT_NAMES)
    assert tuple(field.name for field in dataclasses.fields(Facts)) == ("types", *rules.FACT_NAMES)
    # The database side may pass enum members instead of strings.
    physical = parse_protocol(
        'version = "1"\n[[rules]]\nid = "p"\nlevel = 3\ntypes_any = ["physical"]\n'
        'reason_nl = "x"\nreason_en = "x"\n'
    )
    assert assess(Facts(types=frozenset({IncidentType.PHYSICAL})), physical).level == 3


# --- severity --------------------------------------------------------------------------------

SEVERITY = [
    # types, facts that hold, expected level, expected winning rule (None: no rule matched)
    pytest.param(set(), set(), 1, None, id="nothing ticked: registered anyway"),
    pytest.param(set(), {"injury"}, 1, None, id="injury alone matches no rule"),
    pytest.param({"verbal"}, set(), 1, "verbal", id="verbal"),
    pytest.param({"intimidation"}, set(), 1, "intimidation", id="intimidation"),
    pytest.param({"intimidation", "verbal"}, set(), 1, "verbal", id="tie: first in file wins"),
    pytest.param({"verbal"}, {"injury"}, 1, "verbal", id="injury without absence adds nothing"),
    pytest.param({"threat"}, set(), 2, "threat", id="threat"),
    pytest.param({"discrimination"}, set(), 2, "discrimination", id="discrimination"),
    pytest.param({"sexual"}, set(), 2, "sexual", id="sexual"),
    pytest.param({"damage"}, set(), 2, "damage", id="damage"),
    pytest.param({"online"}, set(), 2, "online", id="online"),
    pytest.param({"verbal", "online"}, set(), 2, "online", id="highest level wins"),
    pytest.param({"physical"}, set(), 3, "physical", id="physical"),
    pytest.param({"threat"}, {"weapon"}, 3, "threat_with_weapon", id="threat with weapon"),
    pytest.param({"threat"}, {"threat_home"}, 3, "threat_home", id="threat at home or family"),
    pytest.param({"verbal"}, {"threat_home"}, 3, "threat_home", id="threat_home without type"),
    pytest.param({"verbal"}, {"weapon"}, 3, "weapon", id="weapon with any type"),
    pytest.param(set(), {"weapon"}, 3, "weapon", id="weapon alone"),
    pytest.param({"physical"}, {"injury"}, 3, "physical", id="injury without absence"),
    pytest.param({"physical"}, {"absence"}, 3, "physical", id="absence without injury"),
    pytest.param(
        {"physical"}, {"injury", "absence"}, 4, "injury_with_absence", id="injury+absence"
    ),
    pytest.param({"verbal"}, {"hospital"}, 4, "hospital", id="hospital"),
    pytest.param(set(), {"hospital", "injury", "absence"}, 4, "hospital", id="level-4 tie"),
]


@pytest.mark.parametrize(("types", "true_facts", "level", "rule_id"), SEVERITY)
def test_assess(
    protocol: Protocol, types: set[str], true_facts: set[str], level: int, rule_id: str | None
) -> None:
    facts = Facts(types=frozenset(types), **{name: True for name in true_facts})
    assessment = assess(facts, protocol)
    assert assessment.level == level
    assert (assessment.rule.id if assessment.rule else None) == rule_id
    assert (assessment.reasons[0] if assessment.reasons else None) == assessment.rule


def test_the_severity_table_covers_every_rule_of_the_default_protocol(protocol: Protocol) -> None:
    winners = {param.values[3] for param in SEVERITY}
    assert {rule.id for rule in protocol.rules} <= winners
    assert None in winners


def test_every_matching_rule_is_a_reason_highest_level_first(protocol: Protocol) -> None:
    facts = Facts(types=frozenset({"threat", "physical"}), weapon=True)
    assessment = assess(facts, protocol)
    assert [rule.id for rule in assessment.reasons] == [
        "physical",
        "threat_with_weapon",
        "weapon",
        "threat",
    ]
    # The rule has no words of its own: the app's label of the type says it.
    assert assessment.reason("nl", {"physical": "Fysiek geweld"}) == "Fysiek geweld"
    assert assessment.reason("en") == "physical"  # without labels: the type's id


def test_a_rule_without_its_own_words_is_named_by_its_types_or_its_fact() -> None:
    protocol = parse_protocol(
        V
        + rule(id='"types"', types_any='["physical", "threat"]', reason_nl=None, reason_en=None)
        + rule(id='"fact"', types_any=None, facts_any='["weapon"]', reason_nl=None, reason_en=None)
        + rule(id='"own"', types_any='["verbal"]', reason_nl='"Eigen"', reason_en='"Own"')
    )
    names = {"physical": "Physical violence", "threat": "Threat", "weapon": "A weapon"}
    types, fact, own = protocol.rules
    assert types.reason("en", names) == "Threat, Physical violence"  # in the form's order
    assert fact.reason("en", names) == "A weapon"
    assert (own.reason("nl", names), own.reason("en", names)) == ("Eigen", "Own")


def test_without_a_matching_rule_the_reason_is_a_generic_text(protocol: Protocol) -> None:
    assessment = assess(Facts(types=frozenset()), protocol)
    assert assessment.rule is None
    assert assessment.reasons == ()
    assert "niveau 1" in assessment.reason("nl")
    assert "level 1" in assessment.reason("en")


# --- deadlines -------------------------------------------------------------------------------
# 2026-01-02 is a Friday. Daylight saving starts on 2026-03-29 and ends on 2026-10-25.

DEADLINES = [
    pytest.param(local("2026-01-07", "10:00"), "end_of_working_day", local("2026-01-07", "17:00"), id="eowd same day"),
    pytest.param(local("2026-01-05", "06:00"), "end_of_working_day", local("2026-01-05", "17:00"), id="eowd early morning"),
    pytest.param(local("2026-01-02", "15:00"), "end_of_working_day", local("2026-01-02", "17:00"), id="eowd friday afternoon"),
    pytest.param(local("2026-01-02", "17:30"), "end_of_working_day", local("2026-01-05", "17:00"), id="eowd friday after 17:00 -> monday"),
    pytest.param(local("2026-01-02", "17:00"), "end_of_working_day", local("2026-01-05", "17:00"), id="eowd at 17:00 sharp -> monday"),
    pytest.param(local("2026-01-03", "10:00"), "end_of_working_day", local("2026-01-05", "17:00"), id="eowd saturday -> monday"),
    pytest.param(local("2026-01-07", "18:00"), "end_of_working_day", local("2026-01-08", "17:00"), id="eowd after 17:00 -> next day"),
    pytest.param(utc("2026-01-07", "16:30"), "end_of_working_day", local("2026-01-08", "17:00"), id="eowd in local time, not UTC"),
    pytest.param(local("2026-01-07", "10:00"), "0h", local("2026-01-07", "10:00"), id="0h"),
    pytest.param(local("2026-01-07", "10:00"), "24h", local("2026-01-08", "10:00"), id="24h"),
    pytest.param(local("2026-01-02", "10:00"), "72h", local("2026-01-05", "10:00"), id="72h over a weekend"),
    pytest.param(local("2026-01-02", "10:00"), "3d", local("2026-01-05", "10:00"), id="3d"),
    pytest.param(local("2026-01-05", "10:00"), "4w", local("2026-02-02", "10:00"), id="4w"),
    pytest.param(local("2026-01-07", "10:00"), "0wd", local("2026-01-07", "10:00"), id="0wd"),
    pytest.param(local("2026-01-08", "10:00"), "2wd", local("2026-01-12", "10:00"), id="2wd over a weekend"),
    pytest.param(local("2026-01-09", "10:00"), "1wd", local("2026-01-12", "10:00"), id="1wd friday -> monday"),
    pytest.param(local("2026-01-03", "10:00"), "1wd", local("2026-01-05", "10:00"), id="1wd saturday -> monday"),
    pytest.param(local("2026-01-05", "10:00"), "5wd", local("2026-01-12", "10:00"), id="5wd a full week"),
    pytest.param(local("2026-03-28", "10:00"), "1d", utc("2026-03-29", "08:00"), id="DST spring: 1d keeps 10:00"),
    pytest.param(local("2026-03-28", "10:00"), "24h", utc("2026-03-29", "09:00"), id="DST spring: 24h elapsed"),
    pytest.param(local("2026-03-27", "17:30"), "end_of_working_day", utc("2026-03-30", "15:00"), id="DST spring: eowd"),
    pytest.param(local("2026-03-27", "10:00"), "1wd", utc("2026-03-30", "08:00"), id="DST spring: 1wd"),
    pytest.param(local("2026-10-24", "10:00"), "1w", utc("2026-10-31", "09:00"), id="DST autumn: 1w keeps 10:00"),
    pytest.param(local("2026-03-28", "02:30"), "1d", utc("2026-03-29", "01:30"), id="DST gap: later side"),
]  # fmt: skip


@pytest.mark.parametrize(("base", "due", "expected"), DEADLINES)
def test_due_at(base: datetime, due: str, expected: datetime) -> None:
    result = due_at(base, due, CALENDAR)
    assert result == expected
    assert result.tzinfo is UTC


def test_due_at_follows_the_calendar() -> None:
    # Tuesday to Saturday, ending at 16:00 UTC.
    calendar = Calendar(frozenset({2, 3, 4, 5, 6}), time(16), "UTC")
    saturday, tuesday = "2026-01-03", "2026-01-06"
    eowd = "end_of_working_day"
    assert due_at(utc(saturday, "10:00"), eowd, calendar) == utc(saturday, "16:00")
    assert due_at(utc(saturday, "16:00"), eowd, calendar) == utc(tuesday, "16:00")
    assert due_at(utc(saturday, "10:00"), "1wd", calendar) == utc(tuesday, "10:00")


@pytest.mark.parametrize(
    ("base", "due", "message"),
    [
        (datetime(2026, 1, 5, 10), "24h", "timezone-aware"),
        (local("2026-01-05", "10:00"), "5x", "'5x' is not a duration"),
        (local("2026-01-05", "10:00"), "", "'' is not a duration"),
    ],
)
def test_due_at_refuses_a_naive_base_or_a_bad_duration(
    base: datetime, due: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        due_at(base, due, CALENDAR)


# --- planning --------------------------------------------------------------------------------

VICTIMS, WITNESSES = [11, 12], [21]
LEVEL_2_STEPS = {
    "contact": (11, 12),
    "police_report": (None,),
    "perpetrator_response": (None,),
    "aftercare_conversation": (11, 12),
    "witness_aftercare_conversation": (21,),
    "follow_up_conversation": (11, 12),
}
LEVEL_3_4_STEPS = {"closing_conversation": (11, 12), "team_evaluation": (None,)}


@pytest.mark.parametrize(
    ("level", "expected", "per_person"),
    [
        pytest.param(1, {"contact": (11, 12)}, {11: 1, 12: 1}, id="level 1"),
        pytest.param(2, LEVEL_2_STEPS, {11: 3, 12: 3, 21: 1, None: 2}, id="level 2"),
        pytest.param(
            3,
            LEVEL_2_STEPS | LEVEL_3_4_STEPS | {"referral_decision": (11, 12)},
            {11: 5, 12: 5, 21: 1, None: 3},
            id="level 3",
        ),
        pytest.param(
            4,
            LEVEL_2_STEPS
            | LEVEL_3_4_STEPS
            | {"labour_inspectorate": (None,), "referral_decision_at_once": (11, 12)},
            {11: 5, 12: 5, 21: 1, None: 4},
            id="level 4",
        ),
    ],
)
def test_plan_for_every_level(
    protocol: Protocol,
    level: int,
    expected: dict[str, tuple[int | None, ...]],
    per_person: dict[int | None, int],
) -> None:
    occurred = local("2026-01-05", "10:00")
    steps = plan(level, VICTIMS, WITNESSES, occurred, occurred, protocol)
    by_definition: dict[str, tuple[int | None, ...]] = {}
    for step in steps:
        by_definition[step.definition.id] = (
            *by_definition.get(step.definition.id, ()),
            step.subject_id,
        )
    assert by_definition == expected
    assert Counter(step.subject_id for step in steps) == per_person
    people: dict[Subject, list[int | None]] = {
        Subject.VICTIM: list(VICTIMS),
        Subject.WITNESS: list(WITNESSES),
        Subject.INCIDENT: [None],
    }
    assert all(step.subject_id in people[step.definition.subject] for step in steps)
    assert all(step.due_at.tzinfo is UTC for step in steps)
    assert [step.due_at for step in steps] == sorted(step.due_at for step in steps)


def test_plan_orders_by_due_moment_then_file_order(protocol: Protocol) -> None:
    occurred = local("2026-01-05", "10:00")  # a Monday
    steps = plan(4, [11], [], occurred, occurred, protocol)
    assert [(step.definition.id, step.due_at) for step in steps] == [
        ("contact", local("2026-01-05", "17:00")),
        (
            "labour_inspectorate",
            local("2026-01-05", "17:00"),
        ),  # "0h", but not before the end of day
        ("police_report", local("2026-01-06", "10:00")),
        ("perpetrator_response", local("2026-01-06", "10:00")),
        ("referral_decision_at_once", local("2026-01-06", "10:00")),
        ("aftercare_conversation", local("2026-01-08", "10:00")),
        ("follow_up_conversation", local("2026-01-19", "10:00")),
        ("team_evaluation", local("2026-01-19", "10:00")),
        ("closing_conversation", local("2026-02-16", "10:00")),
    ]


@pytest.mark.parametrize(
    ("occurred", "reported", "earliest"),
    [
        pytest.param(local("2026-01-05", "10:00"), local("2026-01-08", "09:00"), local("2026-01-08", "17:00"), id="three days later"),
        pytest.param(local("2026-01-09", "10:00"), local("2026-01-10", "12:00"), local("2026-01-12", "17:00"), id="on a saturday"),
        pytest.param(local("2026-01-09", "10:00"), local("2026-01-09", "18:00"), local("2026-01-12", "17:00"), id="friday evening"),
    ],
)  # fmt: skip
def test_no_step_is_due_before_the_end_of_the_working_day_it_was_reported(
    protocol: Protocol, occurred: datetime, reported: datetime, earliest: datetime
) -> None:
    steps = plan(2, [11], [21], occurred, reported, protocol)
    assert len(steps) == 6
    for step in steps:
        normal = due_at(occurred, step.definition.due, protocol.calendar)
        assert step.due_at == max(normal, earliest)
    follow_up = next(step for step in steps if step.definition.id == "follow_up_conversation")
    assert follow_up.due_at == occurred + (
        local("2026-01-19", "10:00") - local("2026-01-05", "10:00")
    )


def test_plan_without_victims_has_no_victim_or_incident_steps(protocol: Protocol) -> None:
    occurred = local("2026-01-05", "10:00")
    steps = plan(4, [], [21], occurred, occurred, protocol)
    assert [(step.definition.id, step.subject_id) for step in steps] == [
        ("witness_aftercare_conversation", 21)
    ]
    assert plan(4, [], [], occurred, occurred, protocol) == []


def test_plan_counts_a_repeated_person_once(protocol: Protocol) -> None:
    occurred = local("2026-01-05", "10:00")
    assert len(plan(1, [11, 11], [], occurred, occurred, protocol)) == 1


@pytest.mark.parametrize("level", [0, 5])
def test_plan_refuses_an_unknown_level(protocol: Protocol, level: int) -> None:
    occurred = local("2026-01-05", "10:00")
    with pytest.raises(ValueError, match="not a level"):
        plan(level, [11], [], occurred, occurred, protocol)


# --- version ---------------------------------------------------------------------------------


def test_the_version_is_the_declared_version_plus_a_hash_of_the_file(tmp_path: Path) -> None:
    text = 'version = "2026.1"\n'
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    assert parse_protocol(text).version == f"2026.1+{digest}"
    path = tmp_path / "protocol.toml"
    path.write_text(text, encoding="utf-8")
    assert load_protocol(path).version == f"2026.1+{digest}"
    # Any change, even a comment, gives another version.
    assert parse_protocol("# edited\n" + text).version != parse_protocol(text).version


def test_a_minimal_protocol_has_no_rules_no_steps_and_the_default_calendar() -> None:
    minimal = parse_protocol('version = "1"\n')
    assert (minimal.rules, minimal.steps, minimal.calendar) == ((), (), Calendar())
    custom = parse_protocol(
        'version = "1"\n[calendar]\nworking_days = [7, 1, 2]\nend_of_day = "08:30"\ntimezone = "UTC"\n'
    )
    assert custom.calendar == Calendar(frozenset({1, 2, 7}), time(8, 30), "UTC")


# --- validation ------------------------------------------------------------------------------

V = 'version = "1"\n'
RULE = {
    "id": '"r"',
    "level": "2",
    "types_any": '["threat"]',
    "reason_nl": '"x"',
    "reason_en": '"x"',
}
STEP = {
    "id": '"s"',
    "kind": '"contact"',
    "subject": '"victim"',
    "min_level": "1",
    "max_level": "4",
    "due": '"24h"',
    "title_nl": '"x"',
    "title_en": '"x"',
}


def entry(header: str, base: dict[str, str], changes: dict[str, str | None]) -> str:
    """A [[header]] table from base fields (TOML literals); a change of None removes the key."""
    fields = {**base, **changes}
    return f"[[{header}]]\n" + "".join(
        f"{key} = {value}\n" for key, value in fields.items() if value is not None
    )


def rule(**changes: str | None) -> str:
    return entry("rules", RULE, changes)


def step(**changes: str | None) -> str:
    return entry("steps", STEP, changes)


def calendar(line: str) -> str:
    return V + "[calendar]\n" + line + "\n"


INVALID = [
    # file level
    pytest.param(V + "level = = 2\n", "invalid TOML: Invalid value (at line 2", id="TOML syntax names the line"),
    pytest.param(V + 'colour = "red"\n', "colour: unknown key", id="unknown top-level key"),
    pytest.param(rule(), "version: missing", id="missing version"),
    pytest.param("version = 2026.1\n", "version: 2026.1 is not a non-empty string", id="version not a string"),
    pytest.param(V + 'rules = ["a"]\n', "rules: must be an array of tables", id="rules not tables"),
    pytest.param(V + '[steps]\nid = "s"\n', "steps: must be an array of tables", id="steps not an array"),
    # rules
    pytest.param(V + rule(id=None), "rules[0].id: missing", id="rule without id"),
    pytest.param(V + rule(id='""'), "rules[0].id: '' is not a non-empty string", id="rule with empty id"),
    pytest.param(V + rule() + rule(), "rules[1].id: duplicate id 'r'", id="duplicate rule id"),
    pytest.param(V + rule(level=None), "rules[0].level: missing", id="rule without level"),
    pytest.param(V + rule(level="0"), "rules[0].level: 0 is not a level (use a whole number 1 to 4)", id="level 0"),
    pytest.param(V + rule(level="5"), "rules[0].level: 5 is not a level", id="level 5"),
    pytest.param(V + rule(level='"2"'), "rules[0].level: '2' is not a level", id="level as text"),
    pytest.param(V + rule(level="2.5"), "rules[0].level: 2.5 is not a level", id="level not whole"),
    pytest.param(V + rule(level="true"), "rules[0].level: True is not a level", id="level boolean"),
    pytest.param(V + rule(types_any='["fysical"]'), "rules[0].types_any[0]: unknown type 'fysical' (known: damage,", id="unknown type"),
    pytest.param(V + rule(types_any='"threat"'), "rules[0].types_any: must be a list of type names", id="types not a list"),
    pytest.param(V + rule(facts_all='["knife"]'), "rules[0].facts_all[0]: unknown fact 'knife'", id="unknown fact in facts_all"),
    pytest.param(V + rule(facts_any='["weapon", "gun"]'), "rules[0].facts_any[1]: unknown fact 'gun'", id="unknown fact in facts_any"),
    pytest.param(V + rule(types_any=None), "rules[0]: has no condition", id="rule without condition"),
    pytest.param(V + rule(types_any="[]", facts_any="[]"), "rules[0]: has no condition", id="only empty conditions"),
    pytest.param(V + rule(reason_nl=None), "rules[0].reason_nl: missing", id="missing reason_nl"),
    pytest.param(V + rule(reason_en=None), "rules[0].reason_en: missing", id="missing reason_en"),
    pytest.param(
        V + rule(types_any=None, facts_all='["injury", "absence"]', reason_nl=None, reason_en=None),
        "rules[0].reason_nl: missing (a rule on incident types only, or on one fact",
        id="two facts need their own reason",
    ),
    pytest.param(
        V + rule(facts_any='["weapon"]', reason_nl=None, reason_en=None),
        "rules[0].reason_nl: missing",
        id="type and fact need their own reason",
    ),
    pytest.param(V + rule(reason_en='" "'), "rules[0].reason_en: ' ' is not a non-empty string", id="blank reason"),
    pytest.param(V + rule(facts_al='["weapon"]'), "rules[0].facts_al: unknown key", id="unknown rule key"),
    # steps
    pytest.param(V + step(id=None), "steps[0].id: missing", id="step without id"),
    pytest.param(V + step() + step(), "steps[1].id: duplicate id 's'", id="duplicate step id"),
    pytest.param(V + step(kind='"phone_call"'), "steps[0].kind: unknown kind 'phone_call' (known: contact,", id="unknown kind"),
    pytest.param(V + step(kind=None), "steps[0].kind: missing", id="missing kind"),
    pytest.param(V + step(subject='"manager"'), "steps[0].subject: unknown subject 'manager'", id="unknown subject"),
    pytest.param(V + step(min_level="0"), "steps[0].min_level: 0 is not a level", id="min_level 0"),
    pytest.param(V + step(max_level="5"), "steps[0].max_level: 5 is not a level", id="max_level 5"),
    pytest.param(V + step(max_level=None), "steps[0].max_level: missing", id="missing max_level"),
    pytest.param(V + step(min_level="3", max_level="2"), "steps[0]: min_level 3 is above max_level 2", id="min above max"),
    pytest.param(V + step(id='"a"') + step(id='"b"') + step(id='"c"') + step(id='"d"', due='"5x"'),
                 "steps[3].due: '5x' is not a duration (use 24h, 3d, 2wd, 4w or end_of_working_day)", id="bad due"),
    pytest.param(V + step(due='"-1d"'), "steps[0].due: '-1d' is not a duration", id="negative due"),
    pytest.param(V + step(due='"1.5d"'), "steps[0].due: '1.5d' is not a duration", id="fractional due"),
    pytest.param(V + step(due='"3 d"'), "steps[0].due: '3 d' is not a duration", id="due with a space"),
    pytest.param(V + step(due="24"), "steps[0].due: 24 is not a duration", id="due without unit"),
    pytest.param(V + step(due='"10000d"'), "steps[0].due: '10000d' is too long", id="due too long"),
    pytest.param(V + step(due=None), "steps[0].due: missing", id="missing due"),
    pytest.param(V + step(repeat_if_declined_after='"2 weeks"'), "steps[0].repeat_if_declined_after: '2 weeks' is not a duration", id="bad repeat"),
    pytest.param(V + step(title_nl=None), "steps[0].title_nl: missing", id="missing title_nl"),
    pytest.param(V + step(title_en=None), "steps[0].title_en: missing", id="missing title_en"),
    pytest.param(V + step(owner='"hr"'), "steps[0].owner: unknown key", id="unknown step key"),
    # calendar
    pytest.param(V + 'calendar = "mon-fri"\n', "calendar: must be a table", id="calendar not a table"),
    pytest.param(calendar("working_days = []"), "calendar.working_days: [] is not a non-empty list", id="no working days"),
    pytest.param(calendar("working_days = [0, 1]"), "calendar.working_days: [0, 1] is not", id="weekday 0"),
    pytest.param(calendar("working_days = [1, 8]"), "calendar.working_days: [1, 8] is not", id="weekday 8"),
    pytest.param(calendar('working_days = ["mon"]'), "calendar.working_days: ['mon'] is not", id="weekday names"),
    pytest.param(calendar("working_days = [true]"), "calendar.working_days: [True] is not", id="weekday boolean"),
    pytest.param(calendar('working_days = "1-5"'), "calendar.working_days: '1-5' is not", id="working days text"),
    pytest.param(calendar('end_of_day = "5pm"'), "calendar.end_of_day: '5pm' is not a time of day (use \"HH:MM\")", id="end of day 5pm"),
    pytest.param(calendar('end_of_day = "24:00"'), "calendar.end_of_day: '24:00' is not", id="end of day 24:00"),
    pytest.param(calendar('end_of_day = "17:0"'), "calendar.end_of_day: '17:0' is not", id="end of day 17:0"),
    pytest.param(calendar("end_of_day = 17:00:00"), "calendar.end_of_day: datetime.time(17, 0) is not", id="end of day TOML time"),
    pytest.param(calendar('timezone = "Mars/Olympus"'), "calendar.timezone: 'Mars/Olympus' is not a known time zone", id="unknown zone"),
    pytest.param(calendar('timezone = "Europe"'), "calendar.timezone: 'Europe' is not a known", id="zone directory"),
    pytest.param(calendar('timezone = "../etc/passwd"'), "calendar.timezone: '../etc/passwd' is not", id="zone path"),
    pytest.param(calendar("holidays = []"), "calendar.holidays: unknown key", id="unknown calendar key"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_an_invalid_protocol_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_protocol(text, source="org.toml")
    assert str(raised.value).startswith("org.toml: ")
    assert message in str(raised.value)


def test_a_protocol_error_keeps_its_parts() -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_protocol(V + step(due='"5x"'), source="org.toml")
    assert (raised.value.source, raised.value.key) == ("org.toml", "steps[0].due")
    assert raised.value.problem.startswith("'5x' is not a duration")


def test_loading_a_missing_or_non_utf8_file_is_a_protocol_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read the file"):
        load_protocol(tmp_path / "absent.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('version = "é"\n'.encode("latin-1"))
    with pytest.raises(ProtocolError, match="not UTF-8"):
        load_protocol(latin1)
