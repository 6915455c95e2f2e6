"""The aftercare protocol at work: levels and steps for submitted incidents, completing,
handing over and closing steps. Each public call is one transaction (or runs inside the
caller's, for `apply_protocol`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from incidents import bounds, notify, rules
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Incident,
    PersonRole,
    Role,
    StepStatus,
    User,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, audit, lock, transaction
from incidents.services.ownership import owner_for
from incidents.stats import tally

CONVERSATIONS = frozenset(
    {
        rules.StepKind.CONTACT,
        rules.StepKind.AFTERCARE_CONVERSATION,
        rules.StepKind.FOLLOW_UP_CONVERSATION,
        rules.StepKind.CLOSING_CONVERSATION,
    }
)
# The outcomes a step of each kind can record. Single: exactly one; otherwise one or more.
OUTCOMES: dict[str, tuple[str, ...]] = {
    **{kind.value: ("held", "declined", "not_reached") for kind in CONVERSATIONS},
    rules.StepKind.REFERRAL_DECISION.value: (
        "victim_support",
        "social_work",
        "occupational_physician",
        "gp",
        "none_needed",
        "declined",
    ),
    rules.StepKind.POLICE_REPORT.value: ("filed_by_employer", "filed_by_employee", "not_filed"),
    rules.StepKind.PERPETRATOR_RESPONSE.value: (
        "warning_letter",
        "conversation",
        "building_ban",
        "none",
    ),
    rules.StepKind.LABOUR_INSPECTORATE.value: ("reported", "not_required"),
    rules.StepKind.TEAM_EVALUATION.value: ("held",),
}
MULTIPLE = frozenset(
    {rules.StepKind.REFERRAL_DECISION.value, rules.StepKind.PERPETRATOR_RESPONSE.value}
)
EXCLUSIVE = frozenset({"none_needed", "declined", "none"})  # cannot be combined with others
NOTE_MAX = 1000


def protocol() -> rules.Protocol:
    """The organisation's protocol, loaded and validated at start-up."""
    loaded: rules.Protocol = current_app.extensions["protocol"]
    return loaded


def facts_of(incident: Incident) -> rules.Facts:
    return rules.Facts(
        types=frozenset(t.value for t in incident.types),
        weapon=incident.weapon,
        threat_home=incident.threat_home,
        injury=incident.injury,
        absence=incident.absence,
        hospital=incident.hospital,
    )


def apply_protocol(incident: Incident, actor: User) -> None:
    """Assess the level and add the steps it asks for; inside the caller's transaction.

    A higher level adds the missing steps; completed steps are never removed. When the facts now
    give a lower level, or a person is no longer involved, the open steps that the protocol no
    longer asks for stay visible as "no longer required", with the reason.
    """
    current = protocol()
    assessment = rules.assess(facts_of(incident), current)
    previous = incident.level
    victims = [p.user for p in incident.people_in(PersonRole.AFFECTED)]
    witnesses = [p.user for p in incident.people_in(PersonRole.WITNESS)]
    if incident.team_id is None and victims:
        incident.team_id = victims[0].team_id  # statistics count the incident for this team
    if previous != assessment.level or not incident.protocol_version:
        incident.level = assessment.level
        incident.level_rule = assessment.rule.id if assessment.rule else ""
        incident.level_reason = {"nl": assessment.reason("nl"), "en": assessment.reason("en")}
        incident.protocol_version = current.version
        if previous is not None:
            audit(actor, "incident.level", incident, previous=previous, level=assessment.level)
    if incident.occurred_at is None or incident.submitted_at is None:
        raise ServiceError(_("Only a submitted incident with a date has aftercare steps."))
    wanted = rules.plan(
        assessment.level,
        [u.id for u in victims],
        [u.id for u in witnesses],
        incident.occurred_at,
        incident.submitted_at,
        current,
    )
    existing = {
        (s.definition_id, s.subject_user_id): s for s in incident.steps if s.repeat_of_id is None
    }
    wanted_keys = {(p.definition.id, p.subject_id) for p in wanted}
    people = {u.id: u for u in victims + witnesses}
    added: list[AftercareStep] = []
    for planned in wanted:
        if (planned.definition.id, planned.subject_id) in existing:
            continue
        person = (
            people.get(planned.subject_id)
            if planned.subject_id
            else (victims[0] if victims else None)
        )
        owner, team = owner_for(person)
        added.append(
            AftercareStep(
                definition_id=planned.definition.id,
                kind=planned.definition.kind.value,
                subject=planned.definition.subject.value,
                subject_user_id=planned.subject_id,
                owner_id=owner.id if owner else None,
                team_id=team.id if team else None,
                due_at=planned.due_at,
                status=StepStatus.OPEN,
                attempts=0,
            )
        )
    incident.steps.extend(added)
    _announce(incident, added, first=previous is None)
    for key, step in existing.items():
        if step.is_open and key not in wanted_keys:
            step.status = StepStatus.NOT_REQUIRED
            step.not_required_reason = (
                _("The person is no longer involved in the incident.")
                if key[1] is not None and key[1] not in people
                else _(
                    "The level of the incident was lowered to %(level)s.", level=assessment.level
                )
            )
    _update_closed(incident)


def _announce(incident: Incident, added: list[AftercareStep], *, first: bool) -> None:
    """Queue the mails about new steps: one "new incident" mail per manager at submission,
    "a step was given to you" for steps added later; and tell the people reported for."""
    db.session.flush()
    owners = {s.owner_id: s.owner for s in added if s.owner is not None}
    if first:
        for owner in owners.values():
            notify.queue("submitted", owner, str(incident.id), incident=incident)
        for person in incident.people_in(PersonRole.AFFECTED):
            if person.user_id != incident.reporter_id:
                notify.queue("behalf", person.user, str(incident.id), incident=incident)
        return
    for step in added:
        notify.queue("assigned", step.owner, str(step.id), step=step)


def _update_closed(incident: Incident) -> None:
    """An incident closes when every step of every track is done or no longer required."""
    if any(s.is_open for s in incident.steps):
        incident.closed_at = None
    elif incident.closed_at is None and incident.steps:
        incident.closed_at = utcnow()


@dataclass
class StepResult:
    """What a manager records when completing a step."""

    outcomes: list[str] = field(default_factory=list)
    note: str = ""
    held_on: date | None = None
    reference: str = ""
    end_date: date | None = None
    citizen_heard: bool = False
    reason: str = ""


def result_errors(step: AftercareStep, result: StepResult, today: date) -> dict[str, str]:
    """The rules of each kind of outcome, as messages per form field."""
    errors: dict[str, str] = {}
    allowed = OUTCOMES[step.kind]
    chosen = result.outcomes
    if not chosen:
        errors["outcomes"] = _("Choose the outcome.")
    elif any(o not in allowed for o in chosen):
        errors["outcomes"] = _("Choose an outcome from the list.")
    elif len(chosen) > 1 and (step.kind not in MULTIPLE or EXCLUSIVE & set(chosen)):
        errors["outcomes"] = _("This outcome cannot be combined with another.")
    if len(result.note) > NOTE_MAX:
        errors["note"] = _("Keep the note under %(count)s characters.", count=NOTE_MAX)
    for name, day in (("held_on", result.held_on), ("end_date", result.end_date)):
        if day is not None and day < bounds.EARLIEST_DAY:
            errors[name] = _("Enter a date from 1 January 1990 on.")
    if result.held_on is not None and result.held_on > today:
        errors["held_on"] = _("The date cannot be in the future.")
    if result.end_date is not None and result.end_date > bounds.latest_measure_end(today):
        errors["end_date"] = _(
            "A measure ends at most %(years)s years from today.", years=bounds.MEASURE_MAX_YEARS
        )
    needs_reason = {"not_filed", "none", "not_required"} & set(chosen)
    if needs_reason and not result.reason.strip():
        errors["reason"] = _("Give the reason.")
    if "building_ban" in chosen:
        if result.end_date is None:
            errors["end_date"] = _("A building ban needs an end date.")
        elif result.end_date <= today:
            errors["end_date"] = _("The end date must be after today.")
        if not result.citizen_heard:
            errors["citizen_heard"] = _("Record that the citizen was heard before the ban.")
    if "reported" in chosen and step.kind == rules.StepKind.LABOUR_INSPECTORATE.value:
        if result.held_on is None:
            errors["held_on"] = _("Enter the date of the report.")
        if not result.reference.strip():
            errors["reference"] = _("Enter the reference of the report.")
    if step.kind == rules.StepKind.TEAM_EVALUATION.value and result.held_on is None:
        errors["held_on"] = _("Enter the date of the team meeting.")
    return errors


def complete_step(actor: User, step: AftercareStep, result: StepResult, attempts: int) -> None:
    """Record a step's outcome. `attempts` is what the manager saw: if someone else completed
    or changed the step meanwhile, this call changes nothing and says so."""
    now = utcnow()
    today = now.astimezone(rules_zone()).date()
    errors = result_errors(step, result, today)
    if errors:
        raise InvalidInput(errors)
    not_reached = result.outcomes == ["not_reached"]
    with transaction():
        incident = lock(step.incident_id)  # the closing check and the counts see every change
        details: dict[str, Any] = dict(step.details or {})
        for key, value in (
            ("held_on", result.held_on.isoformat() if result.held_on else None),
            ("reference", result.reference.strip() or None),
            ("end_date", result.end_date.isoformat() if result.end_date else None),
            ("citizen_heard", result.citizen_heard or None),
            ("reason", result.reason.strip() or None),
        ):
            if value is not None:
                details[key] = value
        if not_reached:
            details.setdefault("attempts", []).append(now.isoformat())
        tally.touch(db.session, [step.incident_id])  # a bulk UPDATE: count "before" first
        values: dict[str, Any] = {"attempts": AftercareStep.attempts + 1, "details": details}
        if not_reached:
            values["note"] = result.note.strip() or step.note
        else:
            values.update(
                status=StepStatus.DONE,
                outcomes=list(result.outcomes),
                note=result.note.strip(),
                done_at=now,
                done_by_id=actor.id,
            )
        changed = db.session.execute(  # type: ignore[attr-defined]
            update(AftercareStep)
            .where(
                AftercareStep.id == step.id,
                AftercareStep.status == StepStatus.OPEN,
                AftercareStep.attempts == attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise ServiceError(already_recorded())
        db.session.refresh(step)
        if "declined" in result.outcomes and step.kind in {k.value for k in CONVERSATIONS}:
            _repeat_offer(step, now)
        audit(
            actor,
            "step.attempt" if not_reached else "step.complete",
            step,
            outcomes=result.outcomes,
        )
        db.session.flush()
        db.session.refresh(incident)
        _update_closed(incident)


def already_recorded() -> str:
    """The message for the second of two people recording the same step."""
    return _("Someone else has just recorded this step. Reload the page to see what was saved.")


def rules_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(protocol().calendar.timezone)


def _repeat_offer(step: AftercareStep, now: datetime) -> None:
    """A declined conversation is offered once more, after the protocol's interval."""
    definition = next((d for d in protocol().steps if d.id == step.definition_id), None)
    if (
        definition is None
        or not definition.repeat_if_declined_after
        or step.repeat_of_id is not None
    ):
        return
    repeat = AftercareStep(
        incident_id=step.incident_id,
        definition_id=step.definition_id,
        kind=step.kind,
        subject=step.subject,
        subject_user_id=step.subject_user_id,
        owner_id=step.owner_id,
        team_id=step.team_id,
        due_at=rules.due_at(now, definition.repeat_if_declined_after, protocol().calendar),
        repeat_of_id=step.id,
        status=StepStatus.OPEN,
        attempts=0,
    )
    db.session.add(repeat)
    db.session.flush()
    notify.queue("assigned", repeat.owner, str(repeat.id), step=repeat)


def hand_step(actor: User, step: AftercareStep, new_owner: User) -> None:
    """Give an open step to the deputy or another manager."""
    if new_owner.role != Role.MANAGER or not new_owner.active:
        raise ServiceError(_("Choose an active manager."), "owner")
    with transaction():
        lock(step.incident_id)
        if not step.is_open:
            raise ServiceError(_("Only open steps can be handed over."))
        previous = step.owner_id
        step.owner_id = new_owner.id
        event = audit(actor, "step.hand", step, previous=previous, owner=new_owner.id)
        db.session.flush()
        notify.queue("assigned", new_owner, f"{step.id}:hand{event.id}", step=step)


def set_absent(actor: User, absent: bool) -> None:
    """A manager marks themselves away (or back): while away, the deputy gets their steps."""
    with transaction():
        actor.absent = absent
        audit(actor, "user.absent" if absent else "user.present", actor)


POLICE_OUTCOME_MAX = 200


def record_police_outcome(actor: User, step: AftercareStep, outcome: str) -> None:
    """Later: what came of a filed police report (for example "suspect fined")."""
    with transaction():
        lock(step.incident_id)
        _police_outcome(actor, step, outcome)


def _police_outcome(actor: User, step: AftercareStep, outcome: str) -> None:
    if step.kind != rules.StepKind.POLICE_REPORT.value or step.status != StepStatus.DONE:
        raise ServiceError(_("An outcome can only be added to a police report that was decided."))
    if not {"filed_by_employer", "filed_by_employee"} & set(step.outcomes):
        raise ServiceError(_("No police report was filed."), "police_outcome")
    text = outcome.strip()
    if not text:
        raise ServiceError(_("Describe the outcome."), "police_outcome")
    if len(text) > POLICE_OUTCOME_MAX:
        raise ServiceError(
            _("Keep the outcome under %(count)s characters.", count=POLICE_OUTCOME_MAX),
            "police_outcome",
        )
    step.details = {**(step.details or {}), "police_outcome": text}
    audit(actor, "step.police_outcome", step)
