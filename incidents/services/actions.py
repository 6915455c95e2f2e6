"""Corrective actions: from a team evaluation to "did it work?".

Rules (each refusal is a `ServiceError` naming its field; nothing is stored):
- An action is created from a team evaluation step by whoever may work on that step
  (`access.may_create_action`), also once the step is recorded: actions usually come out of
  the meeting. It is for the step's team. It says what will change in one or two sentences
  (`WHAT_MIN` to `ACTION_WHAT_MAX` characters), names an owner (any active account: a
  manager, HR, a facility colleague), a deadline (today or later) and, if the organisation
  keeps a risk inventory and plan of action (RI&E), the item it belongs to.
- While open, those who lead the team change its owner or deadline (`access.may_manage_action`),
  or cancel it with a reason.
- The owner or those who lead the team close it with what was done (required), on a day
  that is not in the future. Whether it worked is asked `ACTION_REVIEW_MONTHS` months later
  (`review_due_on`), not before: an effect needs time to show, and a review on the day of
  closing would only repeat it. The review records worked, partly or did not work; when it
  did not (fully) work, a note says what now.

Every change takes the lock of the step's incident (`base.lock_all`, the app's one lock) and
checks the revision its form was opened at: two people closing the same action at once give
one closing and, for the other, a message.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from incidents import access, notify, rules
from incidents.extensions import db, org_zone
from incidents.i18n import format_day
from incidents.models import (
    ACTION_NOTE_MAX,
    ACTION_WHAT_MAX,
    RISK_ITEM_MAX,
    ActionState,
    AftercareStep,
    AuditAction,
    CorrectiveAction,
    ReviewResult,
    Team,
    User,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, audit, lock_all, transaction

WHAT_MIN = 10
NOTE_MIN = 5
DUE_AHEAD_DAYS = 731  # a deadline within two years
OVERVIEW_MAX = 500
OPEN_STATES = (ActionState.OPEN,)


def today(now: datetime | None = None) -> date:
    """Today in the organisation's time zone."""
    return (now or utcnow()).astimezone(org_zone()).date()


def review_months() -> int:
    return int(current_app.config["ACTION_REVIEW_MONTHS"])


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it is shorter (31 May + 3
    months: 31 August; 30 November + 3: 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the organisation's time zone."""
    return datetime.combine(day, time(0), tzinfo=org_zone())


def _length_message(minimum: int, maximum: int) -> str:
    return ngettext(
        "Write %(min)s to %(num)s character.",
        "Write %(min)s to %(num)s characters.",
        maximum,
        min=minimum,
    )


def _active_owner(owner_id: int | None) -> User | None:
    owner = db.session.get(User, owner_id) if owner_id else None
    return owner if owner is not None and owner.active else None


def owner_id_by_email(email: str | None) -> int | None:
    """The account with this e-mail address (0: none has it; None: nothing typed)."""
    if not email or not email.strip():
        return None
    found = db.session.scalar(select(User.id).where(User.email == email.strip().lower()))
    return found or 0


@dataclass
class ActionInput:
    """What the form gives to create an action (checked here)."""

    what: str
    owner_id: int | None
    due_on: date | None
    risk_item: str = ""


def _due_errors(due_on: date | None, day: date, field: str = "due_on") -> dict[str, str]:
    if due_on is None:
        return {field: _("Enter the deadline.")}
    if due_on < day:
        return {field: _("The deadline cannot be in the past.")}
    if due_on > day + timedelta(days=DUE_AHEAD_DAYS):
        return {field: _("The deadline is within two years from today.")}
    return {}


def input_errors(data: ActionInput, day: date) -> dict[str, str]:
    """The problems of a new action, by form field (empty: none)."""
    errors: dict[str, str] = {}
    if not WHAT_MIN <= len(data.what.strip()) <= ACTION_WHAT_MAX:
        errors["what"] = (
            _("Say in one or two sentences what will change.")
            + " "
            + (_length_message(WHAT_MIN, ACTION_WHAT_MAX))
        )
    if _active_owner(data.owner_id) is None:
        errors["owner"] = _("Enter the e-mail address of an active account.")
    errors |= _due_errors(data.due_on, day)
    if len(data.risk_item.strip()) > RISK_ITEM_MAX:
        errors["risk_item"] = ngettext(
            "The item of the risk inventory is at most %(num)s character.",
            "The item of the risk inventory is at most %(num)s characters.",
            RISK_ITEM_MAX,
        )
    return errors


def _lock_step(step_id: int) -> AftercareStep:
    incident_id = db.session.scalar(
        select(AftercareStep.incident_id).where(AftercareStep.id == step_id)
    )
    if incident_id is None:
        raise ServiceError(_("This step no longer exists."))
    lock_all([incident_id])
    step = db.session.get(AftercareStep, step_id)
    if step is None:
        raise ServiceError(_("This step no longer exists."))
    return step


def _lock_action(action_id: int, revision: int | None) -> CorrectiveAction:
    """Take the lock of the action's incident, then read it afresh; refuse a form opened at
    another revision."""
    incident_id = db.session.scalar(
        select(AftercareStep.incident_id)
        .join(CorrectiveAction, CorrectiveAction.step_id == AftercareStep.id)
        .where(CorrectiveAction.id == action_id)
    )
    if incident_id is None:
        raise ServiceError(_("This action no longer exists."))
    lock_all([incident_id])
    action = db.session.get(CorrectiveAction, action_id)
    if action is None:
        raise ServiceError(_("This action no longer exists."))
    if revision is not None and action.revision != revision:
        raise ServiceError(
            _("Someone changed this action meanwhile. Look at it again before you go on.")
        )
    return action


def _tell_owner(action: CorrectiveAction, actor: User) -> None:
    """The new owner finds the action in their list; a mail says so (not to themselves)."""
    if action.owner_id != actor.id:
        notify.queue("action_assigned", action.owner, f"{action.id}.{action.revision}")


def create(
    actor: User, step_id: int, data: ActionInput, now: datetime | None = None
) -> CorrectiveAction:
    """Record an action agreed at the team evaluation `step_id`, for the step's team."""
    now = now or utcnow()
    day = today(now)
    errors = input_errors(data, day)
    if errors:
        raise InvalidInput(errors)
    with transaction():
        step = _lock_step(step_id)
        if not access.may_create_action(actor, step):
            raise ServiceError(_("You may not add actions to this step."))
        owner = _active_owner(data.owner_id)
        if owner is None:  # deactivated meanwhile
            raise InvalidInput({"owner": _("Enter the e-mail address of an active account.")})
        action = CorrectiveAction(
            team_id=step.team_id,
            step_id=step.id,
            what=data.what.strip(),
            owner_id=owner.id,
            due_on=data.due_on,
            risk_item=data.risk_item.strip(),
            state=ActionState.OPEN,
            created_at=now,
            created_by_id=actor.id,
            revision=0,
        )
        db.session.add(action)
        db.session.flush()
        audit(
            actor,
            AuditAction.ACTION_CREATE,
            action,
            step=step.id,
            team=step.team_id,
            owner=owner.id,
            due_on=action.due_on.isoformat(),
        )
        _tell_owner(action, actor)
    return action


def change(
    actor: User,
    action_id: int,
    revision: int,
    *,
    owner_id: int | None,
    due_on: date | None,
    now: datetime | None = None,
) -> CorrectiveAction:
    """Give an open action another owner or another deadline."""
    now = now or utcnow()
    day = today(now)
    with transaction():
        action = _lock_action(action_id, revision)
        if not access.may_manage_action(actor, action):
            raise ServiceError(_("You may not change this action."))
        if not action.is_open:
            raise ServiceError(_("Only an open action is changed."))
        errors: dict[str, str] = {}
        owner = _active_owner(owner_id)
        if owner is None:
            errors["owner"] = _("Enter the e-mail address of an active account.")
        if due_on != action.due_on:  # an overdue deadline may stay while the owner changes
            errors |= _due_errors(due_on, day)
        if errors or owner is None or due_on is None:
            raise InvalidInput(errors)
        changed = [
            name
            for name, old, new in (
                ("owner", action.owner_id, owner.id),
                ("due_on", action.due_on, due_on),
            )
            if old != new
        ]
        if not changed:
            return action
        previous_owner = action.owner_id
        action.owner_id, action.due_on = owner.id, due_on
        if "due_on" in changed:
            action.escalated_at = None  # a new deadline: its own reminders
        action.revision += 1
        audit(
            actor,
            AuditAction.ACTION_CHANGE,
            action,
            fields=changed,
            owner=owner.id,
            previous=previous_owner,
            due_on=due_on.isoformat(),
        )
        if "owner" in changed:
            db.session.flush()
            db.session.refresh(action)
            _tell_owner(action, actor)
    return action


def close(
    actor: User,
    action_id: int,
    revision: int,
    *,
    done_on: date | None,
    note: str,
    now: datetime | None = None,
) -> CorrectiveAction:
    """Record what was done; whether it worked is asked `ACTION_REVIEW_MONTHS` months later."""
    now = now or utcnow()
    day = today(now)
    with transaction():
        action = _lock_action(action_id, revision)
        if not access.may_close_action(actor, action):
            raise ServiceError(_("You may not close this action."))
        if not action.is_open:
            raise ServiceError(_("This action is no longer open."))
        errors: dict[str, str] = {}
        created_on = today(action.created_at)
        if done_on is None:
            errors["done_on"] = _("Enter the day it was done.")
        elif done_on > day:
            errors["done_on"] = _("The day it was done cannot be in the future.")
        elif done_on < created_on:
            errors["done_on"] = _(
                "The action was agreed on %(date)s: it was done on that day or later.",
                date=format_day(created_on),
            )
        if not NOTE_MIN <= len(note.strip()) <= ACTION_NOTE_MAX:
            errors["done_note"] = (
                _("Say what was done.") + " " + (_length_message(NOTE_MIN, ACTION_NOTE_MAX))
            )
        if errors or done_on is None:
            raise InvalidInput(errors)
        action.state = ActionState.DONE
        action.done_on, action.done_by_id, action.done_note = done_on, actor.id, note.strip()
        action.review_due_on = add_months(done_on, review_months())
        action.revision += 1
        audit(
            actor,
            AuditAction.ACTION_CLOSE,
            action,
            done_on=done_on.isoformat(),
            on_time=done_on <= action.due_on,
        )
    return action


def review(
    actor: User,
    action_id: int,
    revision: int,
    *,
    result: str,
    note: str,
    now: datetime | None = None,
) -> CorrectiveAction:
    """Record whether a completed action worked, once its review date has come."""
    now = now or utcnow()
    day = today(now)
    with transaction():
        action = _lock_action(action_id, revision)
        if not access.may_review_action(actor, action):
            raise ServiceError(_("You may not review this action."))
        if action.state != ActionState.DONE or action.review_due_on is None:
            raise ServiceError(_("Only a completed action is reviewed, once."))
        if day < action.review_due_on:
            raise ServiceError(
                _(
                    "Whether it worked is asked from %(date)s: an effect needs time to show.",
                    date=format_day(action.review_due_on),
                )
            )
        errors: dict[str, str] = {}
        if result not in {r.value for r in ReviewResult}:
            errors["review_result"] = _("Choose whether it worked.")
        if len(note.strip()) > ACTION_NOTE_MAX:
            errors["review_note"] = _length_message(0, ACTION_NOTE_MAX)
        elif result in (ReviewResult.PARTLY, ReviewResult.DID_NOT_WORK) and (
            len(note.strip()) < NOTE_MIN
        ):
            errors["review_note"] = _("Say what did not work, and what happens now.")
        if errors:
            raise InvalidInput(errors)
        action.state = ActionState.REVIEWED
        action.review_result, action.review_note = result, note.strip()
        action.reviewed_at, action.reviewed_by_id = now, actor.id
        action.revision += 1
        audit(actor, AuditAction.ACTION_REVIEW, action, result=result)
    return action


def cancel(
    actor: User, action_id: int, revision: int, *, reason: str, now: datetime | None = None
) -> CorrectiveAction:
    """Cancel an open action that is no longer needed, with the reason."""
    now = now or utcnow()
    with transaction():
        action = _lock_action(action_id, revision)
        if not access.may_manage_action(actor, action):
            raise ServiceError(_("You may not cancel this action."))
        if not action.is_open:
            raise ServiceError(_("This action is no longer open."))
        if not NOTE_MIN <= len(reason.strip()) <= ACTION_NOTE_MAX:
            raise InvalidInput(
                {
                    "cancel_reason": _("Say why it is no longer needed.")
                    + " "
                    + _length_message(NOTE_MIN, ACTION_NOTE_MAX)
                }
            )
        action.state = ActionState.CANCELLED
        action.cancel_reason = reason.strip()
        action.cancelled_at, action.cancelled_by_id = now, actor.id
        action.revision += 1
        audit(actor, AuditAction.ACTION_CANCEL, action)
    return action


# --- lists ---------------------------------------------------------------------------------------


def _listed() -> Any:
    return select(CorrectiveAction).options(
        joinedload(CorrectiveAction.team), joinedload(CorrectiveAction.owner)
    )


def of_step(step: AftercareStep) -> list[CorrectiveAction]:
    """The actions agreed at a team evaluation, in the order they were added."""
    return list(
        db.session.scalars(
            _listed().where(CorrectiveAction.step_id == step.id).order_by(CorrectiveAction.id)
        )
    )


def open_for_owner(user: User) -> list[CorrectiveAction]:
    """The owner's open actions and those whose review has come, the earliest deadline first:
    their inbox section and "My actions"."""
    day = today()
    return list(
        db.session.scalars(
            _listed()
            .where(
                CorrectiveAction.owner_id == user.id,
                (CorrectiveAction.state == ActionState.OPEN)
                | (
                    (CorrectiveAction.state == ActionState.DONE)
                    & (CorrectiveAction.review_due_on <= day)
                ),
            )
            .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
        )
    )


def open_count(user: User) -> int:
    """How many open actions `user` owns (the number in the navigation)."""
    return (
        db.session.scalar(
            select(func.count(CorrectiveAction.id)).where(
                CorrectiveAction.owner_id == user.id, CorrectiveAction.state == ActionState.OPEN
            )
        )
        or 0
    )


def open_for_team(team_id: int) -> list[CorrectiveAction]:
    """A team's open actions, the earliest deadline first."""
    return list(
        db.session.scalars(
            _listed()
            .where(CorrectiveAction.team_id == team_id, CorrectiveAction.state == ActionState.OPEN)
            .order_by(CorrectiveAction.due_on, CorrectiveAction.id)
        )
    )


def for_team(team_id: int) -> list[CorrectiveAction]:
    """All of a team's actions: open first by deadline, then the rest, the latest first."""
    rows = db.session.scalars(
        _listed()
        .where(CorrectiveAction.team_id == team_id)
        .order_by(CorrectiveAction.due_on.desc(), CorrectiveAction.id.desc())
        .limit(OVERVIEW_MAX)
    ).all()
    return sorted(rows, key=lambda a: (not a.is_open, a.due_on if a.is_open else date.min))


def led_teams(user: User) -> list[Team]:
    """The teams whose actions a manager follows: those they manage or deputise for."""
    if not user.is_active_manager:
        return []
    return list(
        db.session.scalars(
            select(Team)
            .where(Team.active, (Team.manager_id == user.id) | (Team.deputy_id == user.id))
            .order_by(Team.name_nl)
        )
    )


def overview(
    state: str | None, team_id: int | None, limit: int | None = OVERVIEW_MAX
) -> list[CorrectiveAction]:
    """Every action (the works council's view), filtered by state and team; the latest
    deadline first."""
    query = _listed().order_by(CorrectiveAction.due_on.desc(), CorrectiveAction.id.desc())
    if state in {s.value for s in ActionState}:
        query = query.where(CorrectiveAction.state == state)
    if team_id is not None:
        query = query.where(CorrectiveAction.team_id == team_id)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def teams_with_actions() -> list[Team]:
    """The teams that have actions: the overview's team filter."""
    return list(
        db.session.scalars(
            select(Team)
            .where(Team.id.in_(select(CorrectiveAction.team_id).distinct()))
            .order_by(Team.name_nl)
        )
    )


# --- the yearly report ---------------------------------------------------------------------------


YEAR_COUNT_KEYS = (
    "created",
    "completed",
    "completed_on_time",
    "reviewed_worked",
    "reviewed_partly",
    "reviewed_did_not_work",
    "open_overdue_at_end",
)


def year_counts(start: date, end: date) -> dict[str, int]:
    """Raw counts for the period [start, end) (days in the organisation's time zone): actions
    created, completed (`done_on` in the period), completed by their deadline, reviewed in
    the period by result, and open past their deadline at `end` (created before it, not done
    or cancelled before it). No disclosure control: the report applies it. One query."""
    begins, ends = _day_start(start), _day_start(end)
    a = CorrectiveAction

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    completed = and_(a.done_on.is_not(None), a.done_on >= start, a.done_on < end)
    reviewed = and_(a.reviewed_at.is_not(None), a.reviewed_at >= begins, a.reviewed_at < ends)
    row = db.session.execute(
        select(
            count(and_(a.created_at >= begins, a.created_at < ends)),
            count(completed),
            count(and_(completed, a.done_on <= a.due_on)),
            *(count(and_(reviewed, a.review_result == r.value)) for r in ReviewResult),
            count(
                and_(
                    a.created_at < ends,
                    a.due_on < end,
                    (a.done_on.is_(None)) | (a.done_on >= end),
                    (a.cancelled_at.is_(None)) | (a.cancelled_at >= ends),
                )
            ),
        )
    ).one()
    return {key: int(value or 0) for key, value in zip(YEAR_COUNT_KEYS, row, strict=True)}


# --- reminders (`notify.queue_due`) --------------------------------------------------------------


def due_for_reminders(
    now: datetime,
) -> tuple[Sequence[CorrectiveAction], Sequence[CorrectiveAction]]:
    """Open actions due by tomorrow (or overdue), and completed ones whose review has come."""
    day = today(now)
    options = (
        joinedload(CorrectiveAction.owner).joinedload(User.team),
        joinedload(CorrectiveAction.team),
    )
    open_ = db.session.scalars(
        select(CorrectiveAction)
        .where(
            CorrectiveAction.state == ActionState.OPEN,
            CorrectiveAction.due_on <= day + timedelta(days=1),
        )
        .options(*options)
    ).all()
    to_review = db.session.scalars(
        select(CorrectiveAction)
        .where(CorrectiveAction.state == ActionState.DONE, CorrectiveAction.review_due_on <= day)
        .options(*options)
    ).all()
    return open_, to_review


def team_evaluation(step: AftercareStep) -> bool:
    return step.kind == rules.StepKind.TEAM_EVALUATION
