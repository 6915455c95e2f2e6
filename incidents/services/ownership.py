"""Everyone's aftercare has an owner.

A person's steps go to their team's manager, else its deputy, else the manager above. Someone
without a team (HR staff, an admin, anyone whose team was removed) or whose teams have no
active manager at all gets the aftercare coordinator: a manager the admin chooses. Until one
is chosen such steps wait without an owner, and the admin pages say so loudly; choosing the
coordinator gives them every waiting step at once.
"""

from __future__ import annotations

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
    candidates: list[User | None] = []
    if team is not None:
        candidates = [team.manager, team.deputy, team.manager_above()]
    candidates.append(coordinator())
    for candidate in candidates:
        if (
            candidate is not None
            and candidate.active
            and not candidate.absent
            and (person is None or candidate.id != person.id)
        ):
            return candidate, team
    return None, team


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
