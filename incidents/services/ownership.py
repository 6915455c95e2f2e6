"""Everyone's aftercare has an owner.

A person's steps go to their team's manager, else its deputy, else the manager above. Someone
without a team (HR staff, an admin, anyone whose team was removed) or whose teams have no
active manager at all gets the aftercare coordinator: a manager the admin chooses. Until one
is chosen such steps wait without an owner, and the admin pages say so loudly; choosing the
coordinator gives them every waiting step at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from incidents import notify
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    PersonRole,
    Setting,
    StepStatus,
    Team,
    User,
    utcnow,
)
from incidents.services.base import ServiceError, audit, lock_all, transaction

COORDINATOR = "aftercare_coordinator"


def coordinator() -> User | None:
    """The aftercare coordinator, if one is chosen and may still do the work."""
    setting = db.session.get(Setting, COORDINATOR)
    if setting is None or setting.value is None:
        return None
    user = db.session.get(User, int(setting.value))
    if user is None or not user.is_active_manager:
        return None
    return user


def owner_for(person: User | None) -> tuple[User | None, Team | None]:
    """Who runs this person's aftercare, and the team it belongs to: the team's manager; the
    deputy when the manager is absent, missing or the person themselves; else the manager
    above; else the coordinator. (None, team) only when there is no coordinator either."""
    team = person.team if person is not None else None
    for candidate in _candidates(team):
        if (
            candidate is not None
            and candidate.active
            and not candidate.away
            and (person is None or candidate.id != person.id)
        ):
            return candidate, team
    return None, team


def _candidates(team: Team | None) -> Iterator[User | None]:
    """In order, each looked up only when the one before would not do."""
    if team is not None:
        yield team.manager
        yield team.deputy
        yield team.manager_above()
    yield coordinator()


def set_coordinator(actor: User | None, user: User | None) -> int:
    """Choose the aftercare coordinator (an active manager); every open step without an owner
    then gets one, mostly the coordinator, who is told. Returns how many steps got one."""
    if user is not None and not user.is_active_manager:
        raise ServiceError(_("Choose an active manager."), "coordinator")
    with transaction():
        lock_all(_waiting_incidents())
        setting = db.session.get(Setting, COORDINATOR)
        previous = setting.value if setting is not None else None
        if setting is None:
            setting = Setting(name=COORDINATOR, value=None)
            db.session.add(setting)
        setting.value = user.id if user is not None else None
        setting.updated_at = utcnow()
        audit(actor, AuditAction.SETTINGS_COORDINATOR, user, previous=previous)
        db.session.flush()  # `owner_for` reads the coordinator back
        return give_waiting_steps(actor)


def _waiting_incidents() -> list[int]:
    return list(
        db.session.scalars(
            select(AftercareStep.incident_id).where(
                AftercareStep.status == StepStatus.OPEN, AftercareStep.owner_id.is_(None)
            )
        )
    )


def person_of(step: AftercareStep) -> User | None:
    """Whose aftercare a step is: its subject, or, for a step about the incident as a whole,
    the first affected employee (as `aftercare.apply_protocol` plans it)."""
    if step.subject_user is not None:
        return step.subject_user
    affected = step.incident.people_in(PersonRole.AFFECTED)
    return affected[0].user if affected else None


def give_waiting_steps(actor: User | None) -> int:
    """Inside the caller's transaction, which holds the incidents' locks (`lock_all`): give
    every open step without an owner the owner `owner_for` finds now, and tell them. Returns
    how many got one; the others still have nobody (no coordinator chosen)."""
    steps = db.session.scalars(
        select(AftercareStep)
        .where(AftercareStep.status == StepStatus.OPEN, AftercareStep.owner_id.is_(None))
        .order_by(AftercareStep.id)
    ).all()
    given = 0
    for step in steps:
        owner, team = owner_for(person_of(step))
        if owner is None:
            continue
        step.owner_id, step.team_id = owner.id, team.id if team else None
        db.session.flush()
        notify.queue("assigned", owner, str(step.id), step=step)
        audit(actor, AuditAction.STEP_OWNER, step, owner=owner.id)
        given += 1
    return given


def open_steps_of(user: User) -> list[int]:
    """The incidents with open steps that `user` owns or that are about them: the ones a
    leaver or a mover may change, to lock before changing the account."""
    about = AftercareStep.subject_user_id == user.id
    return list(
        db.session.scalars(
            select(AftercareStep.incident_id)
            .where(
                AftercareStep.status == StepStatus.OPEN, (AftercareStep.owner_id == user.id) | about
            )
            .distinct()
        )
    )


def _give(actor: User | None, step: AftercareStep, reason: str) -> User | None:
    """Give one open step the owner `owner_for` finds now; tell them. The new owner, or None
    when it stays where it is (the same owner, or nobody else in line)."""
    owner, team = owner_for(person_of(step))
    if owner is None or owner.id == step.owner_id:
        return None
    previous = step.owner_id
    step.owner_id, step.team_id = owner.id, team.id if team else None
    db.session.flush()
    notify.queue("assigned", owner, f"{step.id}:{owner.id}", step=step)
    audit(actor, AuditAction.STEP_OWNER, step, owner=owner.id, previous=previous, reason=reason)
    return owner


def hand_over_steps_of(actor: User | None, owner: User, team: Team | None = None) -> int:
    """Inside the caller's transaction, which holds the incidents' locks: the open steps that
    `owner` holds (those of `team` only, when given) go to whoever is next in line now: a
    leaver's to the deputy or the manager above, a former manager's to the team's new manager.
    Returns how many moved; nothing is left without an owner while a coordinator is chosen."""
    query = select(AftercareStep).where(
        AftercareStep.status == StepStatus.OPEN, AftercareStep.owner_id == owner.id
    )
    if team is not None:
        query = query.where(AftercareStep.team_id == team.id)
    moved = 0
    reason = "owner_left" if not owner.active else "owner_changed"
    for step in db.session.scalars(query.order_by(AftercareStep.id)).all():
        if owner.is_active_manager and _still_runs(owner, step):
            continue
        if _give(actor, step, reason) is not None:
            moved += 1
        elif not owner.is_active_manager:
            # Nobody in line and no coordinator: the step waits in the open, listed in red on
            # the admin's owners page, rather than with someone who cannot do it.
            step.owner_id = None
            audit(actor, AuditAction.STEP_OWNER, step, owner=None, previous=owner.id, reason=reason)
            moved += 1
    return moved


def _still_runs(owner: User, step: AftercareStep) -> bool:
    """An active manager keeps a step of a team they still manage or deputise for."""
    team = db.session.get(Team, step.team_id) if step.team_id is not None else None
    return team is not None and owner.id in (team.manager_id, team.deputy_id)


def sweep_inactive_owners() -> int:
    """Hand over every open step still held by a deactivated account (a report submitted at
    the very moment its manager was deactivated planned a step for them). One transaction;
    `flask remind` runs it. Returns how many steps moved."""
    with transaction():
        held = (
            select(AftercareStep)
            .join(User, AftercareStep.owner_id == User.id)
            .where(AftercareStep.status == StepStatus.OPEN, ~User.active)
        )
        lock_all(db.session.scalars(held.with_only_columns(AftercareStep.incident_id)).all())
        owners = db.session.scalars(
            select(User).where(User.id.in_(held.with_only_columns(AftercareStep.owner_id)))
        ).all()
        return sum(hand_over_steps_of(None, owner) for owner in owners)


def follow_mover(actor: User | None, person: User) -> int:
    """Inside the caller's transaction, which holds the incidents' locks: the open steps about
    `person` (their own aftercare, their steps as a witness) that belong to another team than
    theirs now go to the manager of their new team, and the person is told once."""
    steps = db.session.scalars(
        select(AftercareStep)
        .where(
            AftercareStep.status == StepStatus.OPEN,
            AftercareStep.subject_user_id == person.id,
            AftercareStep.team_id.is_distinct_from(person.team_id),
        )
        .order_by(AftercareStep.id)
    ).all()
    moved = sum(_give(actor, step, "person_moved") is not None for step in steps)
    if moved:
        notify.queue(
            "aftercare_moved", person, f"{person.id}:{person.team_id}:{utcnow():%Y%m%d%H%M}"
        )
    return moved


@dataclass
class Gaps:
    """Where aftercare would have no owner of its own, for the admin pages."""

    without_team: list[User]
    teams_without_manager: list[Team]
    unowned_steps: int
    coordinator: User | None

    @property
    def any(self) -> bool:
        return bool(self.without_team or self.teams_without_manager or self.unowned_steps)


def gaps() -> Gaps:
    """People without a team, active teams with no active manager or deputy, open steps
    without an owner: three queries, whatever the size of the organisation."""
    without_team = db.session.scalars(
        select(User).where(User.active, User.team_id.is_(None)).order_by(User.name)
    ).all()
    teams = db.session.scalars(
        select(Team)
        .where(Team.active)
        .options(selectinload(Team.manager), selectinload(Team.deputy))
        .order_by(Team.name_nl)
    ).all()
    unmanaged = [
        t for t in teams if not any(p is not None and p.active for p in (t.manager, t.deputy))
    ]
    unowned = db.session.scalar(
        select(func.count(AftercareStep.id)).where(
            AftercareStep.status == StepStatus.OPEN, AftercareStep.owner_id.is_(None)
        )
    )
    return Gaps(list(without_team), unmanaged, unowned or 0, coordinator())
