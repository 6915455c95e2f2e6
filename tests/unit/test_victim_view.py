"""The employee's own aftercare in plain words: every kind of line, plurals, and what is never
said (other people's tracks, notes on the incident's steps). Pure: no app, no database; the
sentences are the English msgids (no translations are loaded outside an app)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from incidents.models import AftercareStep, StepStatus, User
from incidents.rules import Outcome, StepKind, Subject
from incidents.services.victim_view import Line, Protection, YourAftercare, your_aftercare

ME, OTHER = 7, 8
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 20)
MANAGER = User(id=2, name="Mira Manager", email="mira@example.test")
DEPUTY = User(id=3, name="Dirk Deputy", email="dirk@example.test")
_ids = itertools.count(1)


def step(
    kind: StepKind,
    *,
    subject: Subject = Subject.VICTIM,
    person: int | None = ME,
    status: StepStatus = StepStatus.DONE,
    outcomes: tuple[Outcome, ...] = (),
    **values: Any,
) -> AftercareStep:
    """A step as the database would hold it (every column filled in, as its defaults do)."""
    if subject == Subject.INCIDENT:
        person = None
    done = status == StepStatus.DONE
    defaults: dict[str, Any] = {
        "id": next(_ids),
        "definition_id": kind.value,
        "kind": kind,
        "subject": subject,
        "subject_user_id": person,
        "status": status,
        "outcomes": [o.value for o in outcomes],
        "due_at": NOW + timedelta(days=3),
        "created_at": NOW - timedelta(days=10),
        "held_on": None,
        "reference": "",
        "end_date": None,
        "citizen_heard": False,
        "reason": "",
        "police_outcome": None,
        "evidence_handed_at": None,
        "evidence_files": 0,
        "attempt_times": [],
        "measure_expired": False,
        "note": "",
        "done_at": NOW - timedelta(days=2) if done else None,
        "repeat_of_id": None,
        "attempts": 0,
    }
    defaults.update(values)
    made = AftercareStep(**defaults)
    if done and "done_by" not in values:
        made.done_by = MANAGER
    if not done and "owner" not in values:
        made.owner = MANAGER
    return made


def told(
    *steps: AftercareStep,
    viewer: int = ME,
    protections: tuple[Protection, ...] = (),
    registered: frozenset[int] = frozenset(),
) -> YourAftercare:
    return your_aftercare(
        steps,
        viewer_id=viewer,
        now=NOW,
        today=TODAY,
        moment=lambda moment: moment.strftime("%d-%m-%Y %H:%M"),
        day=lambda day: day.strftime("%d-%m-%Y"),
        protections=protections,
        registered_steps=registered,
    )


def done_texts(*steps: AftercareStep) -> list[str]:
    return [line.text for line in told(*steps).done]


def planned_texts(*steps: AftercareStep) -> list[str]:
    return [line.text for line in told(*steps).planned]


# --- Contact and conversations ---------------------------------------------------------------


def test_contact_made_says_when_and_by_whom():
    contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,), held_on=date(2026, 3, 10))
    assert done_texts(contact) == ["You were contacted on 10-03-2026 by Mira Manager."]


def test_contact_without_a_date_takes_the_day_it_was_recorded():
    contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,))
    assert done_texts(contact) == ["You were contacted on 18-03-2026 by Mira Manager."]


def test_contact_declined():
    contact = step(StepKind.CONTACT, outcomes=(Outcome.DECLINED,), held_on=date(2026, 3, 10))
    assert done_texts(contact) == [
        "You were contacted on 10-03-2026 by Mira Manager; you preferred not to talk then."
    ]


def test_who_did_it_unknown_says_your_manager():
    contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,), held_on=date(2026, 3, 10))
    contact.done_by = None
    assert done_texts(contact) == ["You were contacted on 10-03-2026 by your manager."]


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (StepKind.AFTERCARE_CONVERSATION, "the first aftercare conversation"),
        (StepKind.FOLLOW_UP_CONVERSATION, "the follow-up conversation"),
        (StepKind.CLOSING_CONVERSATION, "the closing conversation"),
    ],
)
def test_conversations_held_and_declined(kind, what):
    held = step(kind, outcomes=(Outcome.HELD,), held_on=date(2026, 3, 12))
    assert done_texts(held) == [f"You had {what} with Mira Manager on 12-03-2026."]
    declined = step(kind, outcomes=(Outcome.DECLINED,))
    assert done_texts(declined) == [f"You declined {what} on 18-03-2026."]


def test_a_declined_conversation_offered_again():
    first = step(StepKind.AFTERCARE_CONVERSATION, outcomes=(Outcome.DECLINED,))
    again = step(
        StepKind.AFTERCARE_CONVERSATION,
        status=StepStatus.OPEN,
        repeat_of_id=first.id,
        due_at=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
    )
    result = told(first, again)
    assert [line.text for line in result.done] == [
        "You declined the first aftercare conversation on 18-03-2026."
    ]
    assert [(line.text, line.who) for line in result.planned] == [
        (
            "Your manager will offer you an aftercare conversation once more, before "
            "01-04-2026 09:00.",
            "Mira Manager",
        )
    ]
    again.status, again.outcomes = StepStatus.DONE, ["held"]
    again.done_at, again.done_by = NOW, DEPUTY
    assert done_texts(first, again)[-1] == (
        "You had an aftercare conversation with Dirk Deputy on 20-03-2026."
    )


def test_a_witness_is_offered_an_aftercare_conversation():
    offer = step(StepKind.AFTERCARE_CONVERSATION, subject=Subject.WITNESS, status=StepStatus.OPEN)
    assert planned_texts(offer) == [
        "Your manager will offer you an aftercare conversation before 23-03-2026 09:00."
    ]


@pytest.mark.parametrize(
    ("count", "sentence"),
    [
        (1, "Your manager tried 1 time to reach you"),
        (2, "Your manager tried 2 times to reach you"),
        (5, "Your manager tried 5 times to reach you"),
    ],
)
def test_not_reached_yet_counts_the_attempts_with_plural_forms(count, sentence):
    tries = [(NOW - timedelta(hours=count - 1 - n)).isoformat() for n in range(count)]
    contact = step(
        StepKind.CONTACT,
        status=StepStatus.OPEN,
        attempt_times=tries,
        attempts=count,
        due_at=NOW + timedelta(hours=8),
    )
    result = told(contact)
    assert [line.text for line in result.done] == [
        f"{sentence}, without success so far (last on 20-03-2026 09:00)."
    ]
    assert [line.text for line in result.planned] == [
        "Your manager will contact you before 20-03-2026 17:00."
    ]


def test_attempts_count_the_tries_not_every_record():
    """`attempts` also counts the completion; only `attempt_times` are tries."""
    contact = step(StepKind.CONTACT, status=StepStatus.OPEN, attempts=3, attempt_times=[])
    assert told(contact).done == []


def test_a_damaged_attempt_moment_still_counts():
    contact = step(StepKind.CONTACT, status=StepStatus.OPEN, attempt_times=["yesterday"])
    assert done_texts(contact) == [
        "Your manager tried 1 time to reach you, without success so far."
    ]


# --- Referrals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "sentence"),
    [
        (
            Outcome.VICTIM_SUPPORT,
            "On 18-03-2026 you were referred to Victim Support Netherlands (Slachtofferhulp).",
        ),
        (Outcome.SOCIAL_WORK, "On 18-03-2026 you were referred to company social work."),
        (
            Outcome.OCCUPATIONAL_PHYSICIAN,
            "On 18-03-2026 you were referred to the occupational physician.",
        ),
        (Outcome.GP, "On 18-03-2026 you were advised to see your GP."),
        (Outcome.NONE_NEEDED, "On 18-03-2026 it was decided that you need no referral for now."),
        (Outcome.DECLINED, "On 18-03-2026 you declined a referral."),
    ],
)
def test_each_referral(outcome, sentence):
    assert done_texts(step(StepKind.REFERRAL_DECISION, outcomes=(outcome,))) == [sentence]


def test_several_referrals_each_get_a_line():
    both = step(StepKind.REFERRAL_DECISION, outcomes=(Outcome.VICTIM_SUPPORT, Outcome.SOCIAL_WORK))
    assert len(done_texts(both)) == 2


# --- The police report -----------------------------------------------------------------------


def police(*outcomes: Outcome, **values: Any) -> AftercareStep:
    return step(StepKind.POLICE_REPORT, subject=Subject.INCIDENT, outcomes=outcomes, **values)


def test_a_police_report_filed_by_the_employer_with_its_number_and_outcome():
    filed = police(
        Outcome.FILED_BY_EMPLOYER,
        reference="PL0900-2026031012345",
        police_outcome="The suspect was fined.",
        evidence_handed_at=datetime(2026, 3, 19, 14, 30, tzinfo=UTC),
    )
    assert done_texts(filed) == [
        "Your employer filed a police report, using the employer's address (recorded by Mira "
        "Manager on 18-03-2026).",
        "The number of the police report is PL0900-2026031012345.",
        "Evidence was handed to the police on 19-03-2026 14:30.",
        "What came of the police report: The suspect was fined.",
    ]


def test_a_police_report_filed_by_the_employee_whose_outcome_is_not_known():
    filed = police(Outcome.FILED_BY_EMPLOYEE)
    assert done_texts(filed) == [
        "The employee filed a police report themselves (recorded by Mira Manager on 18-03-2026).",
        "What comes of the police report is not known yet.",
    ]


def test_an_anonymised_police_outcome_is_not_shown():
    """ "" means: known, but anonymised by retention."""
    assert done_texts(police(Outcome.FILED_BY_EMPLOYER, police_outcome=""))[-1] == (
        "What comes of the police report is not known yet."
    )


def test_no_police_report_and_why():
    not_filed = police(Outcome.NOT_FILED, reason="The employee does not want one.")
    assert done_texts(not_filed) == [
        "On 18-03-2026 it was decided not to file a police report. Why: The employee does not "
        "want one."
    ]
    assert done_texts(police(Outcome.NOT_FILED)) == [
        "On 18-03-2026 it was decided not to file a police report."
    ]


def test_a_police_report_still_to_be_decided():
    open_step = police(status=StepStatus.OPEN, due_at=datetime(2026, 3, 21, 9, 0, tzinfo=UTC))
    assert planned_texts(open_step) == [
        "A decision on a police report will be made before 21-03-2026 09:00."
    ]


# --- Measures against the perpetrator --------------------------------------------------------


def measures(*outcomes: Outcome, **values: Any) -> AftercareStep:
    return step(
        StepKind.PERPETRATOR_RESPONSE, subject=Subject.INCIDENT, outcomes=outcomes, **values
    )


def test_a_building_ban_in_force_until_a_date():
    ban = measures(Outcome.WARNING_LETTER, Outcome.BUILDING_BAN, end_date=date(2026, 9, 1))
    assert done_texts(ban) == [
        "The perpetrator was sent a warning letter.",
        "The perpetrator has a building ban, in force until 01-09-2026.",
    ]


def test_a_building_ban_ending_today_is_still_in_force():
    ban = measures(Outcome.BUILDING_BAN, end_date=TODAY)
    assert done_texts(ban) == ["The perpetrator has a building ban, in force until 20-03-2026."]


@pytest.mark.parametrize(
    "values",
    [
        {"end_date": date(2026, 3, 19)},  # past
        {"end_date": date(2026, 9, 1), "measure_expired": True},  # retention expired it
    ],
)
def test_a_building_ban_that_ended(values):
    ban = measures(Outcome.BUILDING_BAN, **values)
    day = values["end_date"].strftime("%d-%m-%Y")
    assert done_texts(ban) == [f"The perpetrator's building ban ended on {day}."]


def test_other_measures_with_an_end_date():
    letter = measures(Outcome.CONVERSATION, end_date=date(2026, 6, 1))
    assert done_texts(letter) == [
        "A conversation was held with the perpetrator.",
        "These measures are in force until 01-06-2026.",
    ]
    ended = measures(Outcome.WARNING_LETTER, end_date=date(2026, 1, 1))
    assert done_texts(ended)[-1] == "These measures ended on 01-01-2026."


# --- Measures from the register ----------------------------------------------------------------


def protection(kind: str = "Two colleagues present", **values: Any) -> Protection:
    values.setdefault("ends_on", date(2026, 9, 1))
    values.setdefault("since", NOW - timedelta(days=1))
    return Protection(kind=kind, **values)


def test_a_measure_in_force_from_the_register_protects_me():
    result = told(protections=(protection(),))
    assert [line.text for line in result.done] == [
        "A measure protects you: Two colleagues present, in force until 01-09-2026."
    ]
    assert result  # something to tell, even without a step


def test_a_measure_whose_kind_the_protocol_lost_is_told_without_it():
    assert [line.text for line in told(protections=(protection(kind=""),)).done] == [
        "A measure protects you, in force until 01-09-2026."
    ]


def test_the_register_tells_the_building_ban_instead_of_the_step():
    ban = measures(Outcome.WARNING_LETTER, Outcome.BUILDING_BAN, end_date=date(2026, 9, 1))
    carried = protection(kind="Building ban", since=ban.done_at)  # carried over from it
    result = told(ban, protections=(carried,), registered=frozenset({ban.id}))
    assert [line.text for line in result.done] == [
        "The perpetrator was sent a warning letter.",  # no register measure: the step says it
        "A measure protects you: Building ban, in force until 01-09-2026.",
    ]
    # Once the register's ban has ended, nothing is said of it (the step's end date is not
    # what counts any more: the register may have ended it early).
    assert done_texts_of(told(ban, registered=frozenset({ban.id}))) == [
        "The perpetrator was sent a warning letter."
    ]
    # Another step's ban, not in the register: still told from the step.
    other = measures(Outcome.BUILDING_BAN, end_date=date(2026, 9, 1))
    assert done_texts_of(told(other, registered=frozenset({ban.id}))) == [
        "The perpetrator has a building ban, in force until 01-09-2026."
    ]


def test_measures_come_in_the_order_they_took_effect():
    older = protection(kind="Building ban", since=NOW - timedelta(days=30))
    newer = protection(kind="Contact by phone or in writing only", since=NOW - timedelta(days=1))
    contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,), held_on=date(2026, 3, 1))
    contact.done_at = NOW - timedelta(days=5)
    assert done_texts_of(told(contact, protections=(newer, older))) == [
        "A measure protects you: Building ban, in force until 01-09-2026.",
        "You were contacted on 01-03-2026 by Mira Manager.",
        "A measure protects you: Contact by phone or in writing only, in force until 01-09-2026.",
    ]


def done_texts_of(result: YourAftercare) -> list[str]:
    return [line.text for line in result.done]


def test_no_measure():
    none = measures(Outcome.NONE, reason="The perpetrator Johnny moved away.")
    assert done_texts(none) == ["No measure was taken against the perpetrator."]


def test_a_measure_still_to_be_decided():
    assert planned_texts(measures(status=StepStatus.OPEN)) == [
        "A response to the perpetrator (a warning letter, a conversation or a building ban) "
        "will be decided before 23-03-2026 09:00."
    ]


def test_a_report_to_the_labour_inspectorate():
    reported = step(
        StepKind.LABOUR_INSPECTORATE,
        subject=Subject.INCIDENT,
        outcomes=(Outcome.REPORTED,),
        held_on=date(2026, 3, 11),
        reference="NLA-1",
    )
    assert done_texts(reported) == [
        "The incident was reported to the Netherlands Labour Inspectorate on 11-03-2026."
    ]
    not_required = step(
        StepKind.LABOUR_INSPECTORATE, subject=Subject.INCIDENT, outcomes=(Outcome.NOT_REQUIRED,)
    )
    assert done_texts(not_required) == []


# --- What is planned -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "sentence"),
    [
        (StepKind.CONTACT, "Your manager will contact you before 23-03-2026 09:00."),
        (
            StepKind.AFTERCARE_CONVERSATION,
            "Your manager will invite you to a first aftercare conversation before "
            "23-03-2026 09:00.",
        ),
        (
            StepKind.FOLLOW_UP_CONVERSATION,
            "Your manager will hold a follow-up conversation with you before 23-03-2026 09:00.",
        ),
        (
            StepKind.REFERRAL_DECISION,
            "Your manager will decide with you before 23-03-2026 09:00 whether help from "
            "outside is useful: victim support, company social work, the occupational "
            "physician or your GP.",
        ),
        (
            StepKind.CLOSING_CONVERSATION,
            "Your manager will hold a closing conversation with you before 23-03-2026 09:00; "
            "your aftercare is closed after it.",
        ),
    ],
)
def test_planned_steps_say_what_and_before_when(kind, sentence):
    result = told(step(kind, status=StepStatus.OPEN))
    assert result.done == []
    assert result.planned == [Line(sentence, who="Mira Manager")]


def test_planned_steps_come_earliest_first_and_late_ones_are_marked():
    later = step(StepKind.FOLLOW_UP_CONVERSATION, status=StepStatus.OPEN)
    late = step(StepKind.CONTACT, status=StepStatus.OPEN, due_at=NOW - timedelta(hours=1))
    result = told(later, late)
    assert [line.late for line in result.planned] == [True, False]
    assert result.planned[0].text.startswith("Your manager will contact you")


def test_a_step_without_an_owner_names_nobody():
    waiting = step(StepKind.CONTACT, status=StepStatus.OPEN, owner=None)
    assert told(waiting).planned[0].who == ""


def test_the_incidents_own_business_is_not_told():
    evaluation = step(StepKind.TEAM_EVALUATION, subject=Subject.INCIDENT, status=StepStatus.OPEN)
    inspectorate = step(
        StepKind.LABOUR_INSPECTORATE, subject=Subject.INCIDENT, status=StepStatus.OPEN
    )
    held = step(StepKind.TEAM_EVALUATION, subject=Subject.INCIDENT, outcomes=(Outcome.HELD,))
    assert not told(evaluation, inspectorate, held)


def test_steps_no_longer_required_are_left_out():
    assert not told(step(StepKind.FOLLOW_UP_CONVERSATION, status=StepStatus.NOT_REQUIRED))


# --- Notes and what is never said ------------------------------------------------------------


def test_a_note_on_my_own_step_goes_with_its_line():
    contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,), note="  Went home early.  ")
    assert told(contact).done == [
        Line("You were contacted on 18-03-2026 by Mira Manager.", note="Went home early.")
    ]
    referral = step(
        StepKind.REFERRAL_DECISION,
        outcomes=(Outcome.VICTIM_SUPPORT, Outcome.SOCIAL_WORK),
        note="Numbers given.",
    )
    assert [line.note for line in told(referral).done] == ["", "Numbers given."]


def test_a_note_on_an_open_step_goes_with_the_plan():
    contact = step(
        StepKind.CONTACT, status=StepStatus.OPEN, attempt_times=[NOW.isoformat()], note="Voicemail."
    )
    result = told(contact)
    assert [line.note for line in result.done] == [""]
    assert [line.note for line in result.planned] == ["Voicemail."]


def test_notes_on_the_incidents_steps_are_never_told():
    filed = police(Outcome.FILED_BY_EMPLOYER, note="The perpetrator Johnny is known to us.")
    ban = measures(Outcome.BUILDING_BAN, end_date=date(2026, 9, 1), note="Johnny, Main St. 1")
    result = told(filed, ban)
    assert result.done and all(line.note == "" for line in result.done)
    assert "Johnny" not in repr(result)


def test_other_peoples_tracks_are_never_told():
    theirs = [
        step(StepKind.CONTACT, person=OTHER, outcomes=(Outcome.HELD,), note="Private."),
        step(StepKind.AFTERCARE_CONVERSATION, subject=Subject.WITNESS, person=OTHER),
        step(StepKind.FOLLOW_UP_CONVERSATION, person=OTHER, status=StepStatus.OPEN),
        # An incident-level kind recorded against a person is still that person's.
        step(StepKind.POLICE_REPORT, person=OTHER, outcomes=(Outcome.FILED_BY_EMPLOYEE,)),
    ]
    assert not told(*theirs)
    mine = step(StepKind.CONTACT, outcomes=(Outcome.HELD,))
    assert done_texts(*theirs, mine) == ["You were contacted on 18-03-2026 by Mira Manager."]


def test_done_lines_come_in_the_order_things_happened():
    late_contact = step(StepKind.CONTACT, outcomes=(Outcome.HELD,), done_at=NOW - timedelta(days=1))
    early_referral = step(
        StepKind.REFERRAL_DECISION, outcomes=(Outcome.GP,), done_at=NOW - timedelta(days=5)
    )
    assert done_texts(late_contact, early_referral) == [
        "On 15-03-2026 you were advised to see your GP.",
        "You were contacted on 19-03-2026 by Mira Manager.",
    ]


def test_nothing_at_all_is_falsy():
    assert not told()
