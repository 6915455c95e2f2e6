"""The aftercare protocol at work: levels and steps for submitted incidents, completing,
handing over and closing steps. Each public call is one transaction (or runs inside the
caller's, for `apply_protocol`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import update

from incidents import bounds, labels, notify, rules
from incidents.extensions import current_protocol, db, org_zone
from incidents.models import (
    AftercareStep,
    AuditAction,
    Incident,
    IncidentChange,
    PersonRole,
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
NOTE_MAX = 1000


def facts_of(incident: Incident) -> rules.Facts:
    return rules.Facts(
        types=frozenset(t.value for t in incident.types),
        weapon=incident.weapon,
        threat_home=incident.threat_home,
        injury=incident.injury,
        absence=incident.absence,
        hospital=incident.hospital,
    )


def apply_protocol(
    incident: Incident, actor: User, *, assessed: rules.Assessment | None = None
) -> None:
    """Assess the level and add the steps it asks for; inside the caller's transaction.

    A higher level adds the missing steps; completed steps are never removed. When the facts now
    give a lower level, or a person is no longer involved, the open steps that the protocol no
    longer asks for stay visible as "no longer required", with the reason.

    `assessed`: what `set_level` gave an incident made in this transaction, before its row was
    written (so the row is written once, not written and then updated).
    """
    current = current_protocol()
    new = assessed is not None
    first = new or incident.level is None
    assessment = assessed or set_level(incident, actor)
    victims = [p.user for p in incident.people_in(PersonRole.AFFECTED)]
    witnesses = [p.user for p in incident.people_in(PersonRole.WITNESS)]
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
    people = {u.id: u for u in victims + witnesses}
    added = _missing_steps(wanted, existing, people, victims[0] if victims else None)
    incident.steps.extend(added)
    _announce(incident, added, first=first, new=new)
    _retire(existing, {(p.definition.id, p.subject_id) for p in wanted}, people, assessment.level)
    _update_closed(incident)


def set_level(incident: Incident, actor: User) -> rules.Assessment:
    """Record the level the facts give now (and, the first time, the team the statistics count
    the incident for: the first affected employee's); a change of an earlier level is audited."""
    current = current_protocol()
    assessment = rules.assess(facts_of(incident), current)
    victims = incident.people_in(PersonRole.AFFECTED)
    if incident.team_id is None and victims:
        first = victims[0].user or db.session.get(User, victims[0].user_id)
        incident.team_id = first.team_id if first is not None else None
    _set_level(incident, actor, assessment, current)
    return assessment


def alarm_steps_at_once(incident: Incident, person: User) -> list[AftercareStep]:
    """The steps the protocol's [alarm] names (an alarm means contact) for `person`, added to
    the alarm's draft at once, before the report is submitted; inside the caller's transaction.

    They are planned as for the lowest level (due by the end of the working day of the alarm).
    Submitting the report later finds them (`apply_protocol` adds only missing steps), and the
    statistics count them with the incident once it is submitted, as they count every step."""
    if incident.occurred_at is None:
        raise ServiceError(_("Only an incident with a date has aftercare steps."))
    protocol = current_protocol()
    planned = [
        p
        for p in rules.plan(
            rules.MIN_LEVEL, [person.id], [], incident.occurred_at, utcnow(), protocol
        )
        if p.definition.id in protocol.alarm_steps
    ]
    added = [_new_step(p, person) for p in planned]
    incident.steps.extend(added)
    db.session.flush()
    for step in added:
        notify.queue("assigned", step.owner, str(step.id), step=step)
    return added


StepKey = tuple[str, int | None]  # (definition id, the person's id or None for the incident)


def _missing_steps(
    wanted: list[rules.PlannedStep],
    existing: dict[StepKey, AftercareStep],
    people: dict[int, User],
    first_victim: User | None,
) -> list[AftercareStep]:
    """The planned steps the incident does not have yet; the incident's own steps go to the
    first victim's manager."""
    return [
        _new_step(planned, people.get(planned.subject_id) if planned.subject_id else first_victim)
        for planned in wanted
        if (planned.definition.id, planned.subject_id) not in existing
    ]


def _retire(
    existing: dict[StepKey, AftercareStep],
    wanted: set[StepKey],
    people: dict[int, User],
    level: int,
) -> None:
    """Open steps the protocol no longer asks for stay visible as "no longer required", with
    the reason: the person left the incident, or the level was lowered."""
    for (definition_id, person_id), step in existing.items():
        if not step.is_open or (definition_id, person_id) in wanted:
            continue
        step.status = StepStatus.NOT_REQUIRED
        step.not_required_reason = (
            _("The person is no longer involved in the incident.")
            if person_id is not None and person_id not in people
            else _("The level of the incident was lowered to %(level)s.", level=level)
        )


def _set_level(
    incident: Incident, actor: User, assessment: rules.Assessment, current: rules.Protocol
) -> None:
    """Record the level, its rule and reason; a change of an earlier level is audited."""
    previous = incident.level
    if previous == assessment.level and incident.protocol_version:
        return
    incident.level = assessment.level
    incident.level_rule = assessment.rule.id if assessment.rule else ""
    incident.level_reason = labels.level_reasons(assessment)
    incident.protocol_version = current.version
    if previous is not None:
        audit(
            actor, AuditAction.INCIDENT_LEVEL, incident, previous=previous, level=assessment.level
        )


def _new_step(planned: rules.PlannedStep, person: User | None) -> AftercareStep:
    """A planned step, owned by the manager of the person it is for (or of the first victim)."""
    owner, team = owner_for(person)
    return AftercareStep(
        definition_id=planned.definition.id,
        kind=planned.definition.kind,
        subject=planned.definition.subject,
        subject_user_id=planned.subject_id,
        owner_id=owner.id if owner else None,
        team_id=team.id if team else None,
        due_at=planned.due_at,
        status=StepStatus.OPEN,
        attempts=0,
    )


def _announce(
    incident: Incident, added: list[AftercareStep], *, first: bool, new: bool = False
) -> None:
    """Queue the mails about new steps: one "new incident" mail per manager at submission,
    "a step was given to you" for steps added later; and tell the people reported for.
    `new`: the incident was made in this transaction, so no mail about it is queued yet."""
    db.session.flush()
    owners = {s.owner_id: s.owner for s in added if s.owner is not None}
    if first:
        known: set[str] | None = set() if new else None
        for owner in owners.values():
            notify.queue("submitted", owner, str(incident.id), incident=incident, known=known)
        for person in incident.people_in(PersonRole.AFFECTED):
            if person.user_id != incident.reporter_id:
                notify.queue(
                    "behalf", person.user, str(incident.id), incident=incident, known=known
                )
        return
    for step in added:
        notify.queue("assigned", step.owner, str(step.id), step=step)


def _update_closed(incident: Incident) -> None:
    """An incident closes when every step of every track is done or no longer required."""
    if any(s.is_open for s in incident.steps):
        incident.closed_at = None
    elif incident.closed_at is None and incident.steps and not incident.is_draft:
        # An alarm's draft has its contact step before it is submitted: it closes only after.
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

    def field_values(self) -> dict[str, Any]:
        """The values of the fields beside the outcomes, as a step stores them (text
        stripped), by `rules.Field` name."""
        return {
            rules.Field.HELD_ON.value: self.held_on,
            rules.Field.REFERENCE.value: self.reference.strip(),
            rules.Field.END_DATE.value: self.end_date,
            rules.Field.CITIZEN_HEARD.value: self.citizen_heard,
            rules.Field.REASON.value: self.reason.strip(),
        }

    def recorded(self) -> rules.Recorded:
        """What was filled in beside the outcomes, for the protocol's outcome rules."""
        return rules.Recorded(
            held_on=self.held_on,
            reference=self.reference,
            end_date=self.end_date,
            citizen_heard=self.citizen_heard,
            reason=self.reason,
        )


def outcome_rules(kind: rules.StepKind | str) -> rules.OutcomeRules:
    """What a step of `kind` can record, from the protocol."""
    return current_protocol().outcomes_of(kind)


def result_errors(step: AftercareStep, result: StepResult, today: date) -> dict[str, str]:
    """The rules of each kind of outcome, as messages per form field."""
    errors: dict[str, str] = {}
    if len(result.note) > NOTE_MAX:
        errors["note"] = ngettext(
            "Keep the note under %(num)s character.",
            "Keep the note under %(num)s characters.",
            NOTE_MAX,
        )
    for name, day in (("held_on", result.held_on), ("end_date", result.end_date)):
        if day is not None and day < bounds.EARLIEST_DAY:
            errors[name] = _("Enter a date from 1 January 1990 on.")
    if result.held_on is not None and result.held_on > today:
        errors["held_on"] = _("The date cannot be in the future.")
    if result.end_date is not None and result.end_date > bounds.latest_measure_end(today):
        errors["end_date"] = ngettext(
            "A measure ends at most %(num)s year from today.",
            "A measure ends at most %(num)s years from today.",
            bounds.MEASURE_MAX_YEARS,
        )
    problems = rules.check_outcome(
        outcome_rules(step.kind), result.outcomes, result.recorded(), today
    )
    for key, problem in problems.items():
        errors[key] = _outcome_message(step.kind, key, problem)
    return errors


def _outcome_message(kind: rules.StepKind, key: str, problem: rules.Problem) -> str:
    """The message for one problem of a recorded outcome, in the user's language."""
    if key == rules.OUTCOMES_KEY:
        if problem is rules.Problem.MISSING:
            return _("Choose the outcome.")
        if problem is rules.Problem.UNKNOWN:
            return _("Choose an outcome from the list.")
        return _("This outcome cannot be combined with another.")
    field = rules.Field(key)
    if problem is rules.Problem.NOT_AFTER_TODAY:
        return _("The end date must be after today.")
    if field is rules.Field.HELD_ON and kind == rules.StepKind.LABOUR_INSPECTORATE:
        return _("Enter the date of the report.")
    if field is rules.Field.HELD_ON and kind == rules.StepKind.TEAM_EVALUATION:
        return _("Enter the date of the team meeting.")
    if field is rules.Field.HELD_ON:
        return _("Enter the date.")
    if field is rules.Field.REFERENCE:
        return _("Enter the reference of the report.")
    if field is rules.Field.END_DATE:
        return _("A building ban needs an end date.")
    if field is rules.Field.CITIZEN_HEARD:
        return _("Record that the citizen was heard before the ban.")
    return _("Give the reason.")


def complete_step(actor: User, step: AftercareStep, result: StepResult, attempts: int) -> None:
    """Record a step's outcome. `attempts` is what the manager saw: if someone else completed
    or changed the step meanwhile, this call changes nothing and says so."""
    now = utcnow()
    today = now.astimezone(org_zone()).date()
    errors = result_errors(step, result, today)
    if errors:
        raise InvalidInput(errors)
    not_reached = result.outcomes == [rules.Outcome.NOT_REACHED]
    with transaction():
        incident = lock(step.incident_id)  # the closing check and the counts see every change
        # What was recorded; a field left empty keeps what an earlier attempt recorded.
        values: dict[str, Any] = {
            name: value for name, value in result.field_values().items() if value
        }
        values["attempts"] = AftercareStep.attempts + 1
        if not_reached:
            values["attempt_times"] = [*step.attempt_times, now.isoformat()]
        tally.touch(db.session, [step.incident_id])  # a bulk UPDATE: count "before" first
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
        if rules.Outcome.DECLINED in result.outcomes and step.kind in CONVERSATIONS:
            _repeat_offer(step, now)
        audit(
            actor,
            AuditAction.STEP_ATTEMPT if not_reached else AuditAction.STEP_COMPLETE,
            step,
            outcomes=result.outcomes,
        )
        db.session.flush()
        db.session.refresh(incident)
        _update_closed(incident)


def already_recorded() -> str:
    """The message for the second of two people recording the same step."""
    return _("Someone else has just recorded this step. Reload the page to see what was saved.")


def _repeat_offer(step: AftercareStep, now: datetime) -> None:
    """A declined conversation is offered once more, after the protocol's interval."""
    definition = next((d for d in current_protocol().steps if d.id == step.definition_id), None)
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
        due_at=rules.due_at(now, definition.repeat_if_declined_after, current_protocol().calendar),
        repeat_of_id=step.id,
        status=StepStatus.OPEN,
        attempts=0,
    )
    db.session.add(repeat)
    db.session.flush()
    notify.queue("assigned", repeat.owner, str(repeat.id), step=repeat)


def hand_step(actor: User, step: AftercareStep, new_owner: User) -> None:
    """Give an open step to the deputy or another manager."""
    if not new_owner.is_active_manager:
        raise ServiceError(_("Choose an active manager."), "owner")
    with transaction():
        lock(step.incident_id)
        if not step.is_open:
            raise ServiceError(_("Only open steps can be handed over."))
        previous = step.owner_id
        step.owner_id = new_owner.id
        event = audit(actor, AuditAction.STEP_HAND, step, previous=previous, owner=new_owner.id)
        db.session.flush()
        notify.queue("assigned", new_owner, f"{step.id}:hand{event.id}", step=step)


ABSENCE_MAX_DAYS = 366  # "back on" at most a year ahead


def absence_errors(back_on: date | None, today: date) -> dict[str, str]:
    """The rules of the day a manager is back: after today, at most a year ahead."""
    if back_on is None:
        return {}
    if back_on <= today:
        return {"back_on": _("The day you are back must be after today.")}
    if back_on > today + timedelta(days=ABSENCE_MAX_DAYS):
        return {"back_on": _("Choose a day at most a year from today.")}
    return {}


def set_absent(actor: User, absent: bool, back_on: date | None = None) -> None:
    """A manager marks themselves away (or back): while away, new steps go to the deputies,
    until `back_on` (they count as back from that day on; None: until they say so)."""
    today = utcnow().astimezone(org_zone()).date()
    errors = absence_errors(back_on, today) if absent else {}
    if errors:
        raise InvalidInput(errors)
    with transaction():
        actor.absent = absent
        actor.absent_until = back_on if absent else None
        if absent:
            until = back_on.isoformat() if back_on else None
            audit(actor, AuditAction.USER_ABSENT, actor, until=until)
        else:
            audit(actor, AuditAction.USER_PRESENT, actor)


POLICE_OUTCOME_MAX = 200
POLICE_REFERENCE_MAX = 100  # the column's length


def police_outcome_allowed(step: AftercareStep) -> bool:
    """True when what came of the step's police report, and its number, may be recorded
    later: it was filed, and the incident still has its personal data."""
    return (
        step.kind == rules.StepKind.POLICE_REPORT
        and step.status == StepStatus.DONE
        and bool(rules.FILED & set(step.outcomes))
        and step.incident.anonymised_at is None
    )


def record_police_outcome(actor: User, step: AftercareStep, outcome: str) -> None:
    """Later: what came of a filed police report (for example "suspect fined")."""
    with transaction():
        lock(step.incident_id)
        _police_outcome(actor, step, outcome)


def _police_outcome(actor: User, step: AftercareStep, outcome: str) -> None:
    _check_filed(step, "police_outcome")
    text = outcome.strip()
    if not text:
        raise ServiceError(_("Describe the outcome."), "police_outcome")
    if len(text) > POLICE_OUTCOME_MAX:
        raise ServiceError(
            ngettext(
                "Keep the outcome under %(num)s character.",
                "Keep the outcome under %(num)s characters.",
                POLICE_OUTCOME_MAX,
            ),
            "police_outcome",
        )
    step.police_outcome = text
    audit(actor, AuditAction.STEP_POLICE_OUTCOME, step)


def _check_filed(step: AftercareStep, field: str) -> None:
    """What a filed police report's later additions need: a decided police report, filed,
    of an incident that still has its personal data."""
    if step.kind != rules.StepKind.POLICE_REPORT or step.status != StepStatus.DONE:
        raise ServiceError(_("An outcome can only be added to a police report that was decided."))
    if not rules.FILED & set(step.outcomes):
        raise ServiceError(_("No police report was filed."), field)
    if step.incident.anonymised_at is not None:
        raise ServiceError(_("This incident no longer exists."))


POLICE_REFERENCE_ACTION = "police_reference"  # the incident's history (incidents.labels)


def record_police_reference(actor: User, step: AftercareStep, reference: str) -> None:
    """Later: the number of a filed police report (added, or changed), with no time limit,
    like its outcome. It raises the step's revision: a correction form opened before it
    would otherwise put the old number back."""
    with transaction():
        incident = lock(step.incident_id)
        _check_filed(step, "police_reference")
        text = reference.strip()
        if not text:
            raise ServiceError(_("Enter the reference of the report."), "police_reference")
        if len(text) > POLICE_REFERENCE_MAX:
            raise ServiceError(
                ngettext(
                    "Keep the report number under %(num)s character.",
                    "Keep the report number under %(num)s characters.",
                    POLICE_REFERENCE_MAX,
                ),
                "police_reference",
            )
        if text == step.reference:
            return
        step.reference = text
        step.revision = (step.revision or 0) + 1
        incident.changes.append(
            IncidentChange(
                actor_id=actor.id,
                action=POLICE_REFERENCE_ACTION,
                fields=[],
                version=incident.version,
            )
        )
        audit(actor, AuditAction.STEP_POLICE_REFERENCE, step)
