"""Correcting a recorded step, the police report number added later, and what the step page
tells the manager about the incident: who may, until when, what is kept, what follows.

Texts are compared through `gettext` in Dutch (the users' language), so the tests hold
with the catalogue as it is and once it has these messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from incidents import services
from incidents.extensions import db
from incidents.i18n import lower_first
from incidents.models import (
    AftercareStep,
    AuditEvent,
    Channel,
    Incident,
    IncidentChange,
    IncidentType,
    PerpetratorKnown,
    Role,
    StepCorrection,
    StepStatus,
    User,
)
from incidents.services import ReportData, ServiceError
from incidents.services.aftercare import StepResult
from incidents.services.corrections import period_over
from incidents.services.retention import run_retention
from incidents.stats import tally
from tests.conftest import form_errors, login
from tests.web.test_races import race

# Tuesday 10 March 2026, 10:00 in Amsterdam.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
REASON = "De verkeerde datum was gekozen."


def nl(message: str, **values: Any) -> str:
    """A message as a Dutch user reads it (escaped, as the page has it)."""
    with force_locale("nl"):
        return str(escape(gettext(message, **values)))


def shown(app, name: str, value: Any, *args: Any) -> str:
    """`value` through the template filter `name`, as a Dutch page shows it."""
    with app.test_request_context(), force_locale("nl"):
        return str(app.jinja_env.filters[name](value, *args))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def org(make_user, make_team):
    head = make_user(Role.MANAGER, name="Head")
    department = make_team("Department", manager=head)
    boss, boss2, deputy = (make_user(Role.MANAGER, name=n) for n in ("Boss", "Boss2", "Deputy"))
    income = make_team("Income", parent=department, manager=boss, deputy=deputy)
    enforcement = make_team("Enforcement", parent=department, manager=boss2)
    return {
        "head": head,
        "boss": boss,
        "boss2": boss2,
        "deputy": deputy,
        "victim": make_user(name="Victim", team=income),
        "witness": make_user(name="Witness", team=enforcement),
        "income": income,
    }


def submit(org, token="token-correction", **facts: Any) -> Incident:
    facts.setdefault("types", [IncidentType.PHYSICAL])
    return services.save_report(
        org["victim"],
        token,
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            description="It happened.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
            **facts,
        ),
        submit=True,
    )


def step_of(incident: Incident, definition: str) -> AftercareStep:
    db.session.refresh(incident)
    return next(s for s in incident.steps if s.definition_id == definition and not s.repeat_of_id)


def complete(client, step: AftercareStep, **data: Any):
    data.setdefault("attempts", str(step.attempts))
    response = client.post(f"/aftercare/steps/{step.id}", data=data)
    assert response.status_code == 302, response.text
    db.session.refresh(step)
    return response


def correct(client, step: AftercareStep, **data: Any):
    db.session.refresh(step)
    data.setdefault("revision", str(step.revision))
    return client.post(f"/aftercare/steps/{step.id}/correct", data=data)


def corrections_of(step: AftercareStep) -> list[StepCorrection]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(StepCorrection)
            .where(StepCorrection.step_id == step.id)
            .order_by(StepCorrection.id)
        )
    )


@pytest.fixture
def contact(app, org, frozen) -> AftercareStep:
    """The victim's contact step, recorded by Boss: held on 10 March, with a note."""
    step = step_of(submit(org), "contact")
    complete(
        login(app.test_client(), org["boss"]),
        step,
        outcomes="held",
        held_on="2026-03-10",
        note="Talked.",
    )
    return step


# --- The owner corrects ----------------------------------------------------------------------


def test_the_form_is_prefilled_with_what_was_recorded(app, org, contact):
    boss = login(app.test_client(), org["boss"])
    page = boss.get(f"/aftercare/steps/{contact.id}").text
    assert f'href="/aftercare/steps/{contact.id}/correct"' in page
    form = boss.get(f"/aftercare/steps/{contact.id}/correct").text
    assert 'id="outcome-held" value="held" checked' in form
    assert 'value="2026-03-10"' in form and "Talked." in form
    assert 'name="correction_reason"' in form and 'name="revision" type="hidden" value="0"' in form
    assert 'value="not_reached"' not in form  # an attempt is not an outcome of a recorded step


def test_the_owner_corrects_and_the_earlier_values_are_kept(app, org, contact, frozen):
    boss = login(app.test_client(), org["boss"])
    frozen.shift(timedelta(minutes=10))
    response = correct(
        boss,
        contact,
        outcomes="held",
        held_on="2026-03-09",
        note="Talked at length.",
        correction_reason=REASON,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/aftercare/steps/{contact.id}"
    db.session.refresh(contact)
    assert (contact.outcomes, contact.held_on, contact.note) == (
        ["held"],
        date(2026, 3, 9),
        "Talked at length.",
    )
    assert contact.done_at == NOW and contact.done_by_id == org["boss"].id  # when the work was done
    assert contact.revision == 1
    [kept] = corrections_of(contact)
    assert (kept.actor_id, kept.reason, kept.at) == (
        org["boss"].id,
        REASON,
        NOW + timedelta(minutes=10),
    )
    assert kept.previous == {"held_on": "2026-03-10", "note": "Talked."}
    assert kept.corrected == {"held_on": "2026-03-09", "note": "Talked at length."}

    page = boss.get(f"/aftercare/steps/{contact.id}").text
    at = shown(app, "datetimeformat", NOW + timedelta(minutes=10), "short")
    assert (
        nl("Corrected on %(date)s by %(name)s: %(reason)s", date=at, name="Boss", reason=REASON)
        in page
    )
    was, now = (shown(app, "dateformat", d) for d in (date(2026, 3, 10), date(2026, 3, 9)))
    assert (
        nl("%(field)s: was %(before)s, now %(after)s", field=nl("Date"), before=was, after=now)
        in page
    )
    assert nl("%(field)s: changed", field=nl("Short note")) in page

    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "step.correct")).one()
    assert (audit.actor_id, audit.object_id) == (org["boss"].id, contact.id)
    assert audit.details["fields"] == ["held_on", "note"] and REASON not in str(audit.details)

    # The incident's history says that a step was corrected, and which fields (not values).
    change = db.session.scalars(
        select(IncidentChange).where(IncidentChange.action == "step_corrected")
    ).one()
    assert change.fields == ["held_on", "note"]
    for who in ("boss", "victim"):
        incident_page = (
            login(app.test_client(), org[who]).get(f"/incidents/{contact.incident_id}").text
        )
        assert nl("corrected an aftercare step") in incident_page
        assert (
            f"{nl('corrected an aftercare step')}: {nl('Date')}, {nl('Short note')}"
            in incident_page
        )
        assert (
            "Talked." not in incident_page.split('class="history"')[1]
        )  # no values in the history


def test_the_dates_on_the_corrections_read_as_dates(app, org, contact):
    boss = login(app.test_client(), org["boss"])
    correct(
        boss,
        contact,
        outcomes="held",
        held_on="2026-03-09",
        note="Talked.",
        correction_reason=REASON,
    )
    page = boss.get(f"/aftercare/steps/{contact.id}").text
    section = page.split('id="corrections-heading"')[1]
    assert "2026-03-09" not in section and "2026-03-10" not in section  # never ISO in the text


def test_nothing_changed_is_said_and_nothing_kept(app, org, contact):
    boss = login(app.test_client(), org["boss"])
    response = correct(
        boss,
        contact,
        outcomes="held",
        held_on="2026-03-10",
        note="Talked.",
        correction_reason=REASON,
    )
    assert response.status_code == 200
    assert nl("Nothing was changed: change what was recorded wrongly.") in response.text
    assert corrections_of(contact) == []


# --- Who may correct ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("deputy", 403),  # the team's deputy sees the step, but neither owns nor recorded it
        ("head", 404),  # the department's manager does not work on the team's steps
        ("boss2", 404),  # the manager of another team
        ("victim", 403),
        ("hr", 403),
        ("admin", 403),
    ],
)
def test_others_may_not_correct(app, org, contact, make_user, who, status):
    user = org.get(who) or make_user(Role.HR if who == "hr" else Role.ADMIN)
    client = login(app.test_client(), user)
    assert client.get(f"/aftercare/steps/{contact.id}/correct").status_code == status
    response = correct(client, contact, outcomes="declined", correction_reason=REASON)
    assert response.status_code == status
    db.session.refresh(contact)
    assert contact.outcomes == ["held"] and corrections_of(contact) == []
    if who == "deputy":  # the step page offers no correction
        page = client.get(f"/aftercare/steps/{contact.id}").text
        assert "/correct" not in page


def test_the_deputy_who_recorded_a_step_may_correct_it(app, org, frozen):
    step = step_of(submit(org), "contact")
    deputy = login(app.test_client(), org["deputy"])
    complete(deputy, step, outcomes="held", held_on="2026-03-10")
    assert correct(deputy, step, outcomes="declined", correction_reason=REASON).status_code == 302
    db.session.refresh(step)
    assert step.outcomes == ["declined"] and step.owner_id == org["boss"].id
    # The owner may too.
    boss = login(app.test_client(), org["boss"])
    assert (
        correct(
            boss, step, outcomes="held", held_on="2026-03-10", correction_reason=REASON
        ).status_code
        == 302
    )


def test_an_open_or_no_longer_required_step_cannot_be_corrected(app, org, frozen):
    incident = submit(org)
    step = step_of(incident, "police_report")
    boss = login(app.test_client(), org["boss"])
    assert boss.get(f"/aftercare/steps/{step.id}/correct").status_code == 302
    assert (
        correct(boss, step, outcomes="not_filed", reason="x", correction_reason=REASON).status_code
        == 302
    )
    db.session.refresh(step)
    assert step.is_open and corrections_of(step) == []
    # Lowering the level retires steps: the protocol did that, no person recorded it.
    services.amend_report(
        org["victim"],
        incident,
        ReportData(
            occurred_at=NOW - timedelta(minutes=30),
            channel=Channel.COUNTER,
            types=[IncidentType.VERBAL],
            description="It happened.",
            affected_ids=[org["victim"].id],
            witness_ids=[org["witness"].id],
        ),
        incident.version,
    )
    db.session.refresh(step)
    assert step.status == StepStatus.NOT_REQUIRED
    assert (
        correct(boss, step, outcomes="not_filed", reason="x", correction_reason=REASON).status_code
        == 302
    )
    assert corrections_of(step) == []


# --- The period ---------------------------------------------------------------------------


def test_after_the_period_no_form_and_a_post_is_refused(app, org, contact, frozen):
    boss = login(app.test_client(), org["boss"])
    frozen.move_to(NOW + timedelta(days=30) - timedelta(minutes=1))
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    assert boss.get(f"/aftercare/steps/{contact.id}/correct").status_code == 200
    frozen.move_to(NOW + timedelta(days=30))
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    page = boss.get(f"/aftercare/steps/{contact.id}").text
    assert f"/aftercare/steps/{contact.id}/correct" not in page
    with force_locale("nl"):
        over = str(escape(period_over()))
    assert over in page
    response = boss.get(f"/aftercare/steps/{contact.id}/correct")
    assert response.status_code == 302
    response = correct(boss, contact, outcomes="declined", correction_reason=REASON)
    assert response.status_code == 302
    assert over in boss.get(response.headers["Location"]).text
    db.session.refresh(contact)
    assert contact.outcomes == ["held"] and corrections_of(contact) == []


def test_the_period_is_configurable(app, org, contact, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "STEP_CORRECTION_DAYS", 1)
    boss = login(app.test_client(), org["boss"])
    frozen.move_to(NOW + timedelta(days=1))
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    assert correct(boss, contact, outcomes="declined", correction_reason=REASON).status_code == 302
    assert corrections_of(contact) == []
    monkeypatch.setitem(app.config, "STEP_CORRECTION_DAYS", 2)
    assert correct(boss, contact, outcomes="declined", correction_reason=REASON).status_code == 302
    assert len(corrections_of(contact)) == 1


def test_the_service_checks_the_period_itself(app, org, contact, frozen):
    frozen.move_to(NOW + timedelta(days=31))
    with pytest.raises(ServiceError):
        services.corrections.correct_step(
            org["boss"], contact, StepResult(outcomes=["declined"]), REASON, contact.revision
        )
    assert corrections_of(contact) == []


# --- Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_the_reason_is_required_next_to_its_field(app, org, contact, reason):
    boss = login(app.test_client(), org["boss"])
    response = correct(boss, contact, outcomes="declined", correction_reason=reason)
    assert response.status_code == 200
    assert form_errors(response.text) == ["correction_reason"]
    assert (
        f'id="correction_reason-error">{nl("Give the reason for the correction.")}' in response.text
    )
    db.session.refresh(contact)
    assert contact.outcomes == ["held"] and contact.revision == 0 and corrections_of(contact) == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "outcomes"),
        ({"outcomes": "filed_by_employer"}, "outcomes"),
        ({"outcomes": "not_reached"}, "outcomes"),
        ({"outcomes": ["held", "declined"]}, "outcomes"),
        ({"outcomes": "held", "held_on": "2026-03-11"}, "held_on"),
        ({"outcomes": "held", "held_on": "not a date"}, "held_on"),
        ({"outcomes": "held", "note": "x" * 1001}, "note"),
        ({"outcomes": "held", "correction_reason": "x" * 201}, "correction_reason"),
        ({"outcomes": "held", "revision": "not a number"}, "revision"),
        ({"outcomes": "held", "revision": "-1"}, "revision"),
        ({"outcomes": "held", "revision": str(2**40)}, "revision"),
    ],
)
def test_an_invalid_correction_stores_nothing(app, org, contact, data, field):
    boss = login(app.test_client(), org["boss"])
    data = {"correction_reason": REASON, **data}
    response = correct(boss, contact, **data)
    assert response.status_code == 200
    assert field in form_errors(response.text), form_errors(response.text)
    db.session.refresh(contact)
    assert (contact.outcomes, contact.held_on, contact.revision) == (["held"], date(2026, 3, 10), 0)
    assert corrections_of(contact) == []
    assert (
        db.session.scalar(
            select(func.count(IncidentChange.id)).where(IncidentChange.action == "step_corrected")
        )
        == 0
    )


def test_a_correction_without_the_csrf_token_is_refused(app, org, contact):
    boss = login(app.test_client(), org["boss"])
    response = boss.post(
        f"/aftercare/steps/{contact.id}/correct",
        data={"outcomes": "declined", "correction_reason": REASON, "revision": "0"},
        csrf=False,
    )
    assert response.status_code in (200, 400)
    db.session.refresh(contact)
    assert contact.outcomes == ["held"] and corrections_of(contact) == []


def test_a_stale_form_does_not_undo_a_newer_correction(app, org, contact):
    boss = login(app.test_client(), org["boss"])
    assert (
        correct(
            boss, contact, outcomes="declined", correction_reason=REASON, revision="0"
        ).status_code
        == 302
    )
    stale = correct(
        boss, contact, outcomes="held", held_on="2026-03-10", correction_reason=REASON, revision="0"
    )
    assert stale.status_code == 200
    assert (
        nl(
            "Someone else has just changed this step. Open it again to see what was saved, "
            "then correct it anew."
        )
        in stale.text
    )
    db.session.refresh(contact)
    assert contact.outcomes == ["declined"] and len(corrections_of(contact)) == 1


# --- What followed from the outcome ----------------------------------------------------------


def repeats_of(step: AftercareStep) -> list[AftercareStep]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AftercareStep).where(AftercareStep.repeat_of_id == step.id))
    )


def test_corrected_to_declined_the_conversation_is_offered_again(app, org, frozen):
    step = step_of(submit(org), "aftercare_conversation")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="held", held_on="2026-03-10")
    assert repeats_of(step) == []
    frozen.shift(timedelta(days=1))
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    assert correct(boss, step, outcomes="declined", correction_reason=REASON).status_code == 302
    [repeat] = repeats_of(step)
    assert repeat.is_open and repeat.due_at == NOW + timedelta(days=15)
    # Back to held: the open repeat is no longer required, with the reason.
    assert (
        correct(
            boss, step, outcomes="held", held_on="2026-03-10", correction_reason=REASON
        ).status_code
        == 302
    )
    [repeat] = repeats_of(step)
    assert repeat.status == StepStatus.NOT_REQUIRED and repeat.not_required_reason
    # And declined once more: the same repeat is offered again, not a second one.
    assert correct(boss, step, outcomes="declined", correction_reason=REASON).status_code == 302
    [repeat] = repeats_of(step)
    assert repeat.is_open and not repeat.not_required_reason


def test_a_declined_conversation_whose_repeat_is_recorded_stays_declined(app, org, frozen):
    step = step_of(submit(org), "aftercare_conversation")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="declined")
    [repeat] = repeats_of(step)
    complete(boss, repeat, outcomes="held", held_on="2026-03-10")
    response = correct(boss, step, outcomes="held", held_on="2026-03-10", correction_reason=REASON)
    assert response.status_code == 200
    assert "outcomes" in form_errors(response.text)
    db.session.refresh(step)
    assert step.outcomes == ["declined"] and corrections_of(step) == []
    # Another change that keeps "declined" is fine.
    assert (
        correct(
            boss, step, outcomes="declined", note="Wants no talk.", correction_reason=REASON
        ).status_code
        == 302
    )


def test_the_incident_opens_again_when_a_correction_adds_a_step(app, org, frozen):
    incident = submit(org, types=[IncidentType.THREAT], token="token-closing")
    boss = login(app.test_client(), org["boss"])
    boss2 = login(app.test_client(), org["boss2"])
    db.session.refresh(incident)
    for step in list(incident.steps):
        client = boss2 if step.owner_id == org["boss2"].id else boss
        rules = services.aftercare.outcome_rules(step.kind)
        data: dict[str, Any] = {
            "outcomes": rules.choose[0].value,
            "held_on": "2026-03-10",
            "reference": "R-1",
            "reason": "Not needed.",
        }
        complete(client, step, **data)
    db.session.refresh(incident)
    assert incident.closed_at is not None
    conversation = step_of(incident, "aftercare_conversation")
    assert (
        correct(
            boss, conversation, outcomes="declined", held_on="2026-03-10", correction_reason=REASON
        ).status_code
        == 302
    )
    db.session.refresh(incident)
    assert incident.closed_at is None
    assert (
        correct(
            boss, conversation, outcomes="held", held_on="2026-03-10", correction_reason=REASON
        ).status_code
        == 302
    )
    db.session.refresh(incident)
    assert incident.closed_at is not None


def test_a_police_report_with_an_outcome_cannot_become_not_filed(app, org, frozen):
    step = step_of(submit(org), "police_report")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="filed_by_employer", reference="PL-1")
    boss.post(f"/aftercare/steps/{step.id}/police-outcome", data={"police_outcome": "Fined"})
    response = correct(
        boss, step, outcomes="not_filed", reason="Mistake.", correction_reason=REASON
    )
    assert response.status_code == 200 and "outcomes" in form_errors(response.text)
    db.session.refresh(step)
    assert step.outcomes == ["filed_by_employer"] and corrections_of(step) == []
    # Filed by the employee instead: still filed, fine.
    assert (
        correct(
            boss, step, outcomes="filed_by_employee", reference="PL-1", correction_reason=REASON
        ).status_code
        == 302
    )


def test_a_police_report_without_an_outcome_can_become_not_filed(app, org, frozen):
    step = step_of(submit(org), "police_report")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="filed_by_employer", reference="PL-1")
    response = correct(
        boss, step, outcomes="not_filed", reference="", reason="Mistake.", correction_reason=REASON
    )
    assert response.status_code == 302
    db.session.refresh(step)
    assert (step.outcomes, step.reference, step.reason) == (["not_filed"], "", "Mistake.")
    [kept] = corrections_of(step)
    assert kept.previous == {"outcomes": ["filed_by_employer"], "reference": "PL-1", "reason": ""}


def test_a_changed_end_date_lets_retention_look_again(app, org, frozen):
    step = step_of(submit(org), "perpetrator_response")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="building_ban", end_date="2026-03-20", citizen_heard="y")
    frozen.move_to(NOW + timedelta(days=12))
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    run_retention(NOW + timedelta(days=12), 5)
    db.session.refresh(step)
    assert step.measure_expired
    assert (
        correct(
            boss,
            step,
            outcomes="building_ban",
            end_date="2026-09-01",
            citizen_heard="y",
            correction_reason=REASON,
        ).status_code
        == 302
    )
    db.session.refresh(step)
    assert step.end_date == date(2026, 9, 1) and not step.measure_expired


# --- The statistics ---------------------------------------------------------------------------


def test_a_correction_moves_the_counts_exactly(app, org, frozen):
    step = step_of(submit(org), "aftercare_conversation")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="held", held_on="2026-03-10")
    month = "2026-03"
    with db.engine.connect() as connection:
        before = tally.stored(connection)
    assert before[("outcome", month, "aftercare_conversation:held", 0)] == 1
    assert correct(boss, step, outcomes="declined", correction_reason=REASON).status_code == 302
    with db.engine.connect() as connection:
        after = tally.stored(connection)
        assert tally.drift(connection) == {}  # the kept counts equal a full recount
    assert after[("outcome", month, "aftercare_conversation:held", 0)] == 0
    assert after[("outcome", month, "aftercare_conversation:declined", 0)] == 1
    assert after[("done", month, "", 0)] == before[("done", month, "", 0)]
    # The repeated offer is an open step now.
    assert sum(n for k, n in after.items() if k[0] == "open_due") == 1 + sum(
        n for k, n in before.items() if k[0] == "open_due"
    )


# --- Two at once ------------------------------------------------------------------------------


def corrector(step_id: int, result: StepResult) -> Callable[[Callable[[], None]], Any]:
    def job(wait: Callable[[], None]) -> StepCorrection:
        step = db.session.get_one(AftercareStep, step_id)  # the form the manager has open
        owner = db.session.get_one(User, step.owner_id)
        revision = step.revision
        wait()
        return services.corrections.correct_step(owner, step, result, REASON, revision)

    return job


def test_two_corrections_of_the_same_step_at_once_one_wins(app, org):
    """Two different corrections opened at the same revision: one applies, the other is told
    (without the revision guard both would apply, the second silently over the first)."""
    declined = StepResult(outcomes=["declined"])
    other_day = StepResult(outcomes=["held"], held_on=date(2026, 3, 9))
    with time_machine.travel(NOW, tick=True):
        boss = login(app.test_client(), org["boss"])
        for round_ in range(4):
            incident = submit(org, token=f"token-race-{round_}")
            step = step_of(incident, "aftercare_conversation")
            complete(boss, step, outcomes="held", held_on="2026-03-10")
            results = race(app, corrector(step.id, declined), corrector(step.id, other_day))
            refused = [r for r in results if isinstance(r, ServiceError)]
            done = [r for r in results if isinstance(r, StepCorrection)]
            assert len(refused) == 1 and len(done) == 1, results
            assert refused[0].message == services.corrections.already_corrected()
            db.session.expire_all()
            assert len(corrections_of(step)) == 1
            stored = db.session.get_one(AftercareStep, step.id)
            assert stored.revision == 1
            # What is stored is exactly what the one that won set, and its follow-up only.
            winner = results.index(done[0])
            assert stored.outcomes == (["declined"] if winner == 0 else ["held"])
            assert len(repeats_of(step)) == (1 if winner == 0 else 0)
        with db.engine.connect() as connection:
            assert tally.drift(connection) == {}


# --- The police report number later -----------------------------------------------------------


def test_the_police_report_number_is_added_later(app, org, frozen):
    step = step_of(submit(org), "police_report")
    boss = login(app.test_client(), org["boss"])
    early = boss.post(
        f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": "PL-9"}
    )
    assert early.status_code == 302
    db.session.refresh(step)
    assert step.reference == ""  # not decided yet
    complete(boss, step, outcomes="filed_by_employee")
    page = boss.get(f"/aftercare/steps/{step.id}").text
    assert 'name="police_reference"' in page
    frozen.move_to(NOW + timedelta(days=200))  # no period: like the outcome
    boss = login(app.test_client(), org["boss"])  # a new day, a new login
    response = boss.post(
        f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": " PL-2026-77 "}
    )
    assert response.status_code == 302
    db.session.refresh(step)
    assert step.reference == "PL-2026-77" and step.revision == 1
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "step.police_reference")
    ).one()
    history = login(app.test_client(), org["victim"]).get(f"/incidents/{step.incident_id}").text
    assert nl("added or changed the police report number") in history
    # Changed again; an empty or too long number is refused.
    boss.post(
        f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": "PL-2026-78"}
    )
    for bad in ("", "x" * 101):
        boss.post(f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": bad})
    db.session.refresh(step)
    assert step.reference == "PL-2026-78"


@pytest.mark.parametrize("who", ["boss2", "victim"])
def test_others_may_not_add_the_number(app, org, frozen, who):
    step = step_of(submit(org), "police_report")
    complete(login(app.test_client(), org["boss"]), step, outcomes="filed_by_employer")
    client = login(app.test_client(), org[who])
    response = client.post(
        f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": "X"}
    )
    assert response.status_code == (404 if who == "boss2" else 403)
    db.session.refresh(step)
    assert step.reference == ""


def test_no_number_for_a_report_not_filed_or_after_anonymisation(app, org, frozen):
    incident = submit(org)
    step = step_of(incident, "police_report")
    boss = login(app.test_client(), org["boss"])
    complete(boss, step, outcomes="not_filed", reason="Not wanted.")
    boss.post(f"/aftercare/steps/{step.id}/police-reference", data={"police_reference": "PL-1"})
    db.session.refresh(step)
    assert step.reference == ""
    assert 'name="police_reference"' not in boss.get(f"/aftercare/steps/{step.id}").text

    other = step_of(submit(org, token="token-anonymised"), "police_report")
    complete(boss, other, outcomes="filed_by_employer")
    db.session.refresh(other)
    other.incident.anonymised_at = NOW
    db.session.commit()
    boss.post(f"/aftercare/steps/{other.id}/police-reference", data={"police_reference": "PL-1"})
    boss.post(f"/aftercare/steps/{other.id}/police-outcome", data={"police_outcome": "Fined"})
    db.session.refresh(other)
    assert (other.reference, other.police_outcome) == ("", None)
    assert correct(
        boss, other, outcomes="filed_by_employee", correction_reason=REASON
    ).status_code in (302, 403)
    assert corrections_of(other) == []


def test_retention_takes_what_corrections_kept(app, org, contact, frozen):
    boss = login(app.test_client(), org["boss"])
    correct(
        boss,
        contact,
        outcomes="held",
        held_on="2026-03-09",
        note="Secret detail.",
        correction_reason=REASON,
    )
    incident = db.session.get_one(Incident, contact.incident_id)
    incident.closed_at = NOW - timedelta(days=6 * 366)
    db.session.commit()
    assert run_retention(NOW, 5)["anonymised"] == 1
    [kept] = corrections_of(contact)
    assert (kept.reason, kept.previous, kept.corrected) == ("", {}, {})


# --- What the step page tells ---------------------------------------------------------------------


def test_the_step_page_names_the_perpetrator_and_the_level_reason(app, org, frozen):
    incident = submit(
        org,
        perpetrator_known=PerpetratorKnown.KNOWN,
        perpetrator_name="Piet Dader",
        perpetrator_reference="KL-4711",
    )
    step = step_of(incident, "perpetrator_response")
    page = login(app.test_client(), org["boss"]).get(f"/aftercare/steps/{step.id}").text
    assert "Piet Dader" in page and "KL-4711" in page
    reason = lower_first(incident.level_reason["nl"])  # as the sentence goes on
    assert nl("Level %(level)s because: %(reason)s", level=3, reason=reason) in page
    # The witness's manager gets the limited view of the incident: no perpetrator there.
    witness_step = next(s for s in incident.steps if s.subject_user_id == org["witness"].id)
    limited = login(app.test_client(), org["boss2"]).get(f"/aftercare/steps/{witness_step.id}").text
    assert "Piet Dader" not in limited and "KL-4711" not in limited


def test_the_step_page_says_when_the_perpetrator_is_unknown(app, org, frozen):
    step = step_of(submit(org), "contact")
    page = login(app.test_client(), org["boss"]).get(f"/aftercare/steps/{step.id}").text
    assert f"<dt>{nl('Perpetrator')}</dt>\n    <dd>{nl('Unknown')}</dd>" in page


def test_the_employee_s_access_export_has_the_corrections_of_their_steps(app, org, contact):
    from incidents.privacy import access_export

    boss = login(app.test_client(), org["boss"])
    correct(boss, contact, outcomes="declined", note="", correction_reason=REASON)
    data = access_export.collect(db.session.get_one(User, org["victim"].id), "nl")
    [step] = [s for s in data["aftercare_steps"] if s["id"] == contact.id]
    [kept] = step["corrections"]
    assert kept["by"] == "manager" and kept["reason"] == REASON
    assert kept["previous"] == {"outcomes": ["held"], "held_on": "2026-03-10", "note": "Talked."}
