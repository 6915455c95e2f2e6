"""Correcting a recorded aftercare step: its owner, or the manager who recorded it, may
change what was recorded within `STEP_CORRECTION_DAYS` of recording it, giving a reason.

The earlier values of the changed fields are kept (`StepCorrection`), the incident's history
says that a step was corrected, and the audit trail has the event: one transaction, under
the incident's lock. The outcome rules are those of recording (`aftercare.result_errors`).

What a correction does to what followed from the outcome:
- A conversation corrected to "declined" is offered once more, as when it was recorded so
  (a repeat retired by an earlier correction is opened again). Corrected away from
  "declined", its open repeat is no longer required; a repeat already recorded cannot be
  undone, so that correction is refused.
- A police report corrected to "not filed" is refused once its outcome is known or evidence
  was handed to the police: both say it was filed.
- A measure whose end date changes is no longer marked expired: retention marks it again
  once the new end date has passed.
- The incident closes or opens again with its steps, and the statistics' running counts
  follow the change (`incidents.stats.tally`); the moment the step was done stays, so the
  "on time" figures keep counting when the work was done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import update

from incidents import access, notify, rules
from incidents.extensions import current_protocol, db, org_zone
from incidents.models import (
    AftercareStep,
    AuditAction,
    IncidentChange,
    StepCorrection,
    StepStatus,
    User,
    utcnow,
)
from incidents.models.aftercare import stored_value
from incidents.services.aftercare import (
    CONVERSATIONS,
    StepResult,
    _repeat_offer,
    _update_closed,
    outcome_rules,
    result_errors,
)
from incidents.services.base import InvalidInput, ServiceError, audit, lock, transaction
from incidents.stats import tally

REASON_MAX = 200
HISTORY_ACTION = "step_corrected"  # the incident's history (incidents.labels.HISTORY_ACTIONS)
REASON_FIELD = "correction_reason"  # the form field of the reason


def correction_days() -> int:
    return int(current_app.config["STEP_CORRECTION_DAYS"])


def correction_until(step: AftercareStep) -> datetime | None:
    """Until when a step may be corrected: a recorded step, for `STEP_CORRECTION_DAYS` after
    it was recorded. None: it may not be (open, no longer required, or anonymised)."""
    if step.status != StepStatus.DONE or step.done_at is None:
        return None
    if step.incident.anonymised_at is not None:
        return None
    return step.done_at + timedelta(days=correction_days())


def correction_open(step: AftercareStep, now: datetime) -> bool:
    """True when `step` may still be corrected at `now`."""
    until = correction_until(step)
    return until is not None and now < until


def period_over() -> str:
    """The message for a correction after its period."""
    days = correction_days()
    return ngettext(
        "A step can only be corrected within %(num)s day after it was recorded.",
        "A step can only be corrected within %(num)s days after it was recorded.",
        days,
    )


def already_corrected() -> str:
    """The message for the second of two corrections of the same step."""
    return _(
        "Someone else has just changed this step. Open it again to see what was saved, "
        "then correct it anew."
    )


def correctable_outcomes(step: AftercareStep) -> list[rules.Outcome]:
    """The outcomes a recorded step may be corrected to: those of recording it, except "not
    reached" (an attempt, which leaves a step open, is not an outcome of a recorded step)."""
    return [o for o in outcome_rules(step.kind).choose if o != rules.Outcome.NOT_REACHED]


def corrected_values(step: AftercareStep, result: StepResult) -> dict[str, Any]:
    """What the correction records: the outcomes, the fields of the step's kind, the note."""
    fields = result.field_values()
    values: dict[str, Any] = {"outcomes": list(result.outcomes)}
    for name in outcome_rules(step.kind).fields:
        values[name.value] = fields[name.value]
    values["note"] = result.note.strip()
    return values


def _errors(step: AftercareStep, result: StepResult, reason: str, now: datetime) -> dict[str, str]:
    """The rules of recording, plus: no "not reached", and a reason of a sensible length."""
    errors = result_errors(step, result, now.astimezone(org_zone()).date())
    if rules.Outcome.NOT_REACHED in result.outcomes and "outcomes" not in errors:
        errors["outcomes"] = _("Choose an outcome from the list.")
    if not reason:
        errors[REASON_FIELD] = _("Give the reason for the correction.")
    elif len(reason) > REASON_MAX:
        errors[REASON_FIELD] = ngettext(
            "Keep the reason under %(num)s character.",
            "Keep the reason under %(num)s characters.",
            REASON_MAX,
        )
    return errors


def correct_step(
    actor: User, step: AftercareStep, result: StepResult, reason: str, revision: int
) -> StepCorrection:
    """Correct what was recorded on `step`. `revision` is the step's revision the form was
    opened at: if the step changed meanwhile (another correction), this changes nothing and
    says so. Raises `InvalidInput` with messages per field, `ServiceError` for a refusal."""
    now = utcnow()
    reason = reason.strip()
    errors = _errors(step, result, reason, now)
    if errors:
        raise InvalidInput(errors)
    with transaction():
        incident = lock(step.incident_id)  # two corrections, or a correction and a completion
        if not access.may_correct_step(actor, step):
            raise ServiceError(_("Only the owner of the step or who recorded it may correct it."))
        if not correction_open(step, now):
            raise ServiceError(period_over())
        if step.revision != revision:
            raise ServiceError(already_corrected())
        values = corrected_values(step, result)
        if sorted(values["outcomes"]) == sorted(step.outcomes):
            values["outcomes"] = list(step.outcomes)  # the same outcomes in another order
        previous = {
            name: stored_value(getattr(step, name))
            for name, value in values.items()
            if getattr(step, name) != value
        }
        if not previous:
            raise ServiceError(_("Nothing was changed: change what was recorded wrongly."))
        changed = {name: values[name] for name in previous}
        follow_up = _follow_up(step, list(step.outcomes), values["outcomes"])
        if "end_date" in changed:
            changed["measure_expired"] = False  # retention looks at the new end date
        tally.touch(db.session, [step.incident_id])  # a bulk UPDATE: count "before" first
        done = db.session.execute(  # type: ignore[attr-defined]
            update(AftercareStep)
            .where(
                AftercareStep.id == step.id,
                AftercareStep.status == StepStatus.DONE,
                AftercareStep.revision == revision,
            )
            .values(**changed, revision=AftercareStep.revision + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise ServiceError(already_corrected())
        db.session.refresh(step)
        follow_up(now)
        correction = StepCorrection(
            step_id=step.id,
            at=now,
            actor_id=actor.id,
            reason=reason,
            previous=previous,
            corrected={name: stored_value(values[name]) for name in previous},
        )
        db.session.add(correction)
        incident.changes.append(
            IncidentChange(
                at=now,
                actor_id=actor.id,
                action=HISTORY_ACTION,
                fields=list(previous),
                version=incident.version,
            )
        )
        audit(
            actor,
            AuditAction.STEP_CORRECT,
            step,
            fields=list(previous),
            outcomes=values["outcomes"],
        )
        db.session.flush()
        db.session.refresh(incident)
        _update_closed(incident)
    return correction


def _follow_up(
    step: AftercareStep, before: list[str], after: list[str]
) -> Callable[[datetime], None]:
    """What the change of outcomes does to what followed from them, checked now (a refusal
    changes nothing); returns what to do once the step is corrected."""
    declined = rules.Outcome.DECLINED
    if step.kind in CONVERSATIONS and (declined in before) != (declined in after):
        repeat = next((s for s in step.incident.steps if s.repeat_of_id == step.id), None)
        if declined in before:
            if repeat is not None and repeat.status == StepStatus.DONE:
                raise ServiceError(
                    _(
                        "The conversation was offered again and that offer has been recorded: "
                        "it can no longer be corrected to another outcome than declined."
                    ),
                    "outcomes",
                )
            return lambda _now: _retire_repeat(repeat)
        return lambda now: _offer_again(step, repeat, now)
    filed = rules.FILED
    unfiled = bool(filed & set(before)) and not filed & set(after)
    # An outcome, or evidence handed to the police, says that the report was filed.
    known = step.police_outcome is not None or step.evidence_handed_at is not None
    if step.kind == rules.StepKind.POLICE_REPORT and unfiled and known:
        raise ServiceError(
            _(
                "The police report has an outcome, or evidence was handed to the police: "
                "it cannot be corrected to not filed."
            ),
            "outcomes",
        )
    return lambda _now: None


def _retire_repeat(repeat: AftercareStep | None) -> None:
    """The repeated offer of a conversation that was not declined after all."""
    if repeat is None or not repeat.is_open:
        return
    repeat.status = StepStatus.NOT_REQUIRED
    repeat.not_required_reason = _(
        "The conversation was corrected: it was not declined, so it is not offered again."
    )


def _offer_again(step: AftercareStep, repeat: AftercareStep | None, now: datetime) -> None:
    """A conversation corrected to declined is offered once more, as if recorded so now."""
    if repeat is None:
        _repeat_offer(step, now)
        return
    if repeat.status != StepStatus.NOT_REQUIRED:
        return  # still open: it stands
    definition = next((d for d in current_protocol().steps if d.id == step.definition_id), None)
    if definition is None or not definition.repeat_if_declined_after:
        return
    repeat.status = StepStatus.OPEN
    repeat.not_required_reason = ""
    repeat.due_at = rules.due_at(
        now, definition.repeat_if_declined_after, current_protocol().calendar
    )
    db.session.flush()
    notify.queue("assigned", repeat.owner, f"{repeat.id}:again{int(now.timestamp())}", step=repeat)
