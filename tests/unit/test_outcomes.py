"""Pure tests of the outcome rules: every kind of step, every rule, one table. No app."""

from __future__ import annotations

from datetime import date

import pytest

from incidents.rules import (
    OUTCOMES_KEY,
    Field,
    Outcome,
    Problem,
    Protocol,
    ProtocolError,
    Recorded,
    StepKind,
    check_outcome,
    default_protocol_path,
    load_protocol,
    parse_protocol,
)

TODAY = date(2026, 3, 2)
TOMORROW = date(2026, 3, 3)
CONVERSATIONS = [
    StepKind.CONTACT,
    StepKind.AFTERCARE_CONVERSATION,
    StepKind.FOLLOW_UP_CONVERSATION,
    StepKind.CLOSING_CONVERSATION,
]
REPORTED = Recorded(held_on=TODAY, reference="NLA-2026-17")
BAN = Recorded(end_date=TOMORROW, citizen_heard=True)
REASON = Recorded(reason="Niet nodig volgens de werkgever")
OK: dict[str, Problem] = {}
MISSING = {OUTCOMES_KEY: Problem.MISSING}
UNKNOWN = {OUTCOMES_KEY: Problem.UNKNOWN}
NOT_COMBINABLE = {OUTCOMES_KEY: Problem.NOT_COMBINABLE}


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(default_protocol_path())


def case(kind: StepKind, chosen: list[str], recorded: Recorded, expected: dict, id: str):
    return pytest.param(kind, chosen, recorded, expected, id=f"{kind.value}: {id}")


CASES = [
    *[
        c
        for kind in CONVERSATIONS
        for c in (
            case(kind, [], Recorded(), MISSING, "nothing chosen"),
            case(kind, ["held"], Recorded(), OK, "held, no date needed"),
            case(kind, ["held"], Recorded(held_on=TODAY), OK, "held with its date"),
            case(kind, ["declined"], Recorded(), OK, "declined"),
            case(kind, ["not_reached"], Recorded(), OK, "not reached"),
            case(kind, ["held", "declined"], Recorded(), NOT_COMBINABLE, "held and declined"),
            case(kind, ["not_reached", "held"], Recorded(), NOT_COMBINABLE, "attempt and held"),
            case(kind, ["reported"], Recorded(), UNKNOWN, "another kind's outcome"),
            case(kind, ["phoned"], Recorded(), UNKNOWN, "no outcome at all"),
        )
    ],
    # police report (aangifte): exactly one; "not filed" needs the reason
    case(StepKind.POLICE_REPORT, [], Recorded(), MISSING, "nothing chosen"),
    case(StepKind.POLICE_REPORT, ["filed_by_employer"], Recorded(), OK, "filed by the employer"),
    case(StepKind.POLICE_REPORT, ["filed_by_employee"], Recorded(reference="PL-1"), OK, "filed by the employee"),
    case(StepKind.POLICE_REPORT, ["not_filed"], Recorded(), {"reason": Problem.MISSING}, "not filed without reason"),
    case(StepKind.POLICE_REPORT, ["not_filed"], Recorded(reason="   "), {"reason": Problem.MISSING}, "blank reason"),
    case(StepKind.POLICE_REPORT, ["not_filed"], REASON, OK, "not filed with reason"),
    case(StepKind.POLICE_REPORT, ["filed_by_employer", "not_filed"], REASON, NOT_COMBINABLE, "two decisions"),
    case(StepKind.POLICE_REPORT, ["filed_by_employer", "filed_by_employee"], Recorded(), NOT_COMBINABLE, "filed twice"),
    case(StepKind.POLICE_REPORT, ["building_ban"], BAN, UNKNOWN, "a measure is no police decision"),
    # response to the perpetrator: several may combine; "none" stands alone and needs a reason;
    # a building ban needs an end date after today and the citizen heard
    case(StepKind.PERPETRATOR_RESPONSE, ["warning_letter"], Recorded(), OK, "warning letter"),
    case(StepKind.PERPETRATOR_RESPONSE, ["warning_letter", "conversation"], Recorded(), OK, "letter and conversation"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], BAN, OK, "ban with end date and hearing"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban", "warning_letter"], BAN, OK, "ban and letter"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], Recorded(), {"end_date": Problem.MISSING, "citizen_heard": Problem.MISSING}, "ban without anything"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], Recorded(citizen_heard=True), {"end_date": Problem.MISSING}, "ban without end date"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], Recorded(end_date=TOMORROW), {"citizen_heard": Problem.MISSING}, "ban without hearing"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], Recorded(end_date=TODAY, citizen_heard=True), {"end_date": Problem.NOT_AFTER_TODAY}, "ban ending today"),
    case(StepKind.PERPETRATOR_RESPONSE, ["building_ban"], Recorded(end_date=date(2020, 1, 1), citizen_heard=True), {"end_date": Problem.NOT_AFTER_TODAY}, "ban ended"),
    case(StepKind.PERPETRATOR_RESPONSE, ["warning_letter"], Recorded(end_date=TODAY), OK, "an end date nobody needs"),
    case(StepKind.PERPETRATOR_RESPONSE, ["none"], Recorded(), {"reason": Problem.MISSING}, "none without reason"),
    case(StepKind.PERPETRATOR_RESPONSE, ["none"], REASON, OK, "none with reason"),
    case(StepKind.PERPETRATOR_RESPONSE, ["none", "warning_letter"], REASON, NOT_COMBINABLE, "none and a letter"),
    # Labour Inspectorate (Arbowet art. 9): a report needs its date and reference
    case(StepKind.LABOUR_INSPECTORATE, ["reported"], REPORTED, OK, "reported with date and reference"),
    case(StepKind.LABOUR_INSPECTORATE, ["reported"], Recorded(), {"held_on": Problem.MISSING, "reference": Problem.MISSING}, "reported without either"),
    case(StepKind.LABOUR_INSPECTORATE, ["reported"], Recorded(held_on=TODAY), {"reference": Problem.MISSING}, "reported without reference"),
    case(StepKind.LABOUR_INSPECTORATE, ["reported"], Recorded(held_on=TODAY, reference=" "), {"reference": Problem.MISSING}, "blank reference"),
    case(StepKind.LABOUR_INSPECTORATE, ["reported"], Recorded(reference="NLA-2026-17"), {"held_on": Problem.MISSING}, "reported without date"),
    case(StepKind.LABOUR_INSPECTORATE, ["not_required"], Recorded(), {"reason": Problem.MISSING}, "not required without reason"),
    case(StepKind.LABOUR_INSPECTORATE, ["not_required"], REASON, OK, "not required with reason"),
    case(StepKind.LABOUR_INSPECTORATE, ["reported", "not_required"], REPORTED, NOT_COMBINABLE, "both"),
    # referral: several kinds of help; "none needed" and "declined" stand alone
    case(StepKind.REFERRAL_DECISION, ["victim_support"], Recorded(), OK, "victim support"),
    case(StepKind.REFERRAL_DECISION, ["social_work", "occupational_physician", "gp"], Recorded(), OK, "three kinds of help"),
    case(StepKind.REFERRAL_DECISION, ["none_needed"], Recorded(), OK, "none needed"),
    case(StepKind.REFERRAL_DECISION, ["declined"], Recorded(), OK, "declined"),
    case(StepKind.REFERRAL_DECISION, ["none_needed", "gp"], Recorded(), NOT_COMBINABLE, "none needed and help"),
    case(StepKind.REFERRAL_DECISION, ["declined", "victim_support"], Recorded(), NOT_COMBINABLE, "declined and help"),
    case(StepKind.REFERRAL_DECISION, ["none_needed", "declined"], Recorded(), NOT_COMBINABLE, "none needed and declined"),
    case(StepKind.REFERRAL_DECISION, ["not_reached"], Recorded(), UNKNOWN, "a decision is not an attempt"),
    case(StepKind.REFERRAL_DECISION, [], Recorded(), MISSING, "nothing chosen"),
    # team evaluation: held, on the date of the meeting
    case(StepKind.TEAM_EVALUATION, ["held"], Recorded(held_on=TODAY), OK, "held with date"),
    case(StepKind.TEAM_EVALUATION, ["held"], Recorded(), {"held_on": Problem.MISSING}, "held without date"),
    case(StepKind.TEAM_EVALUATION, ["declined"], Recorded(), UNKNOWN, "a team cannot decline"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "chosen", "recorded", "expected"), CASES)
def test_outcome_rules(protocol: Protocol, kind, chosen, recorded, expected) -> None:
    assert check_outcome(protocol.outcomes_of(kind), chosen, recorded, TODAY) == expected


def test_every_kind_of_step_has_outcomes_and_every_outcome_is_offered(protocol: Protocol) -> None:
    assert set(protocol.outcomes) == set(StepKind)
    offered = {outcome for rules in protocol.outcomes.values() for outcome in rules.choose}
    assert offered == set(Outcome)
    kinds_in_cases = {param.values[0] for param in CASES}
    assert kinds_in_cases == set(StepKind)


def test_every_needed_field_is_on_the_form(protocol: Protocol) -> None:
    for rules in protocol.outcomes.values():
        assert all(needed <= set(rules.fields) for needed in rules.needs.values())
    assert {f for rules in protocol.outcomes.values() for f in rules.fields} == set(Field)


ORG = """version = "org-1"
[outcomes.police_report]
choose = ["filed_by_employer", "not_filed"]
fields = ["reference", "reason"]
needs.not_filed = ["reason"]
needs.filed_by_employer = ["reference"]
"""


def test_an_organisation_changes_outcomes_without_code() -> None:
    org = parse_protocol(ORG)
    police = org.outcomes_of(StepKind.POLICE_REPORT)
    assert police.choose == (Outcome.FILED_BY_EMPLOYER, Outcome.NOT_FILED)
    assert check_outcome(police, ["filed_by_employee"], Recorded(), TODAY) == UNKNOWN
    assert check_outcome(police, ["filed_by_employer"], Recorded(), TODAY) == {
        "reference": Problem.MISSING
    }
    # The kinds it leaves out keep the shipped outcomes.
    shipped = load_protocol(default_protocol_path())
    assert org.outcomes_of(StepKind.LABOUR_INSPECTORATE) == shipped.outcomes_of(
        StepKind.LABOUR_INSPECTORATE
    )


V = 'version = "1"\n'
INVALID = [
    pytest.param(V + 'outcomes = "none"\n', "outcomes: must be a table", id="not a table"),
    pytest.param(V + "[outcomes.phone_call]\nchoose = [\"held\"]\n", "outcomes.phone_call: unknown step kind 'phone_call'", id="unknown kind"),
    pytest.param(V + "[outcomes.contact]\nfields = []\n", "outcomes.contact.choose: missing", id="no choose"),
    pytest.param(V + "[outcomes.contact]\nchoose = []\n", "outcomes.contact.choose: must name at least one", id="empty choose"),
    pytest.param(V + "[outcomes.contact]\nchoose = \"held\"\n", "outcomes.contact.choose: must be a list", id="choose not a list"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"phoned\"]\n", "outcomes.contact.choose[0]: unknown 'phoned'", id="unknown outcome"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\", \"held\"]\n", "outcomes.contact.choose[1]: 'held' is listed twice", id="listed twice"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nmultiple = \"yes\"\n", "outcomes.contact.multiple: 'yes' is not true or false", id="multiple not bool"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nexclusive = [\"declined\"]\n", "outcomes.contact.exclusive[0]: unknown 'declined' (known: held)", id="exclusive not offered"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nfields = [\"mood\"]\n", "outcomes.contact.fields[0]: unknown 'mood'", id="unknown field"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nneeds.declined = []\n", "outcomes.contact.needs.declined: 'declined' is not one of choose", id="needs for an outcome not offered"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nneeds.held = [\"held_on\"]\n", "outcomes.contact.needs.held[0]: unknown 'held_on' (known: )", id="needed field not on the form"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\nneeds = 1\n", "outcomes.contact.needs: must be a table", id="needs not a table"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\", \"not_reached\"]\nmultiple = true\n", "outcomes.contact.exclusive: must list not_reached", id="an attempt combined"),
    pytest.param(V + "[outcomes.contact]\nchoose = [\"held\"]\ncolour = \"red\"\n", "outcomes.contact.colour: unknown key", id="unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_an_invalid_outcome_table_is_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        parse_protocol(text, source="org.toml")
    assert message in str(raised.value)


# --- the steps an alarm starts at once ([alarm]) ---------------------------------------------

STEPS = """version = "1"
[[steps]]
id = "call"
kind = "contact"
subject = "victim"
min_level = 1
max_level = 4
due = "end_of_working_day"
title_nl = "Bellen"
title_en = "Call"
[[steps]]
id = "talk"
kind = "aftercare_conversation"
subject = "victim"
min_level = 1
max_level = 4
due = "3d"
title_nl = "Gesprek"
title_en = "Talk"
[[steps]]
id = "witness_call"
kind = "contact"
subject = "witness"
min_level = 1
max_level = 4
due = "1d"
title_nl = "Getuige bellen"
title_en = "Call the witness"
[[steps]]
id = "police"
kind = "police_report"
subject = "incident"
min_level = 2
max_level = 4
due = "2wd"
title_nl = "Aangifte"
title_en = "Police"
"""


def test_an_alarm_starts_the_steps_the_protocol_names() -> None:
    assert load_protocol(default_protocol_path()).alarm_steps == {"contact"}
    # Without [alarm]: the victim's contact steps of level 1 (an alarm means contact).
    assert parse_protocol(STEPS).alarm_steps == {"call"}
    assert parse_protocol(STEPS + '[alarm]\nsteps = ["call", "talk"]\n').alarm_steps == {
        "call",
        "talk",
    }


ALARM_INVALID = [
    pytest.param('[alarm]\nsteps = ["phone"]\n', "alarm.steps[0]: unknown step 'phone'", id="unknown step"),
    pytest.param('[alarm]\nsteps = ["witness_call"]\n', "alarm.steps[0]: step 'witness_call' is not for the victim at level 1", id="a witness's step"),
    pytest.param('[alarm]\nsteps = ["call", "police"]\n', "alarm.steps[1]: step 'police' is not for the victim at level 1", id="not at level 1"),
    pytest.param('[alarm]\nsteps = "call"\n', "alarm.steps: must be a list of step names", id="not a list"),
    pytest.param('[alarm]\nstep = ["call"]\n', "alarm.step: unknown key", id="unknown key"),
    pytest.param('alarm = ["call"]\n', "alarm: must be a table", id="not a table"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "message"), ALARM_INVALID)
def test_an_invalid_alarm_table_is_refused_naming_the_key(extra: str, message: str) -> None:
    text = (
        STEPS.replace('version = "1"\n', 'version = "1"\n' + extra)
        if extra.startswith("alarm =")
        else STEPS + extra
    )
    with pytest.raises(ProtocolError) as raised:
        parse_protocol(text, source="org.toml")
    assert message in str(raised.value)
