"""Who may see which incident: the object-level rules, in one place.

- The reporter and the affected employees see the whole incident (the reporter also sees drafts).
- The manager or deputy of an affected employee's team sees the whole incident.
- A colleague witness sees when, where and what, and their own part: not the description,
  the perpetrator or other people.
- Anyone else sees nothing: the incident answers 404, as if it did not exist.
The rules hold for every role: an HR employee or an admin who was threatened follows their
own incident and aftercare like anyone else, and sees no other incident.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_, union
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Incident,
    IncidentPerson,
    IncidentStatus,
    PersonRole,
    Role,
    StepStatus,
    Team,
    User,
)


class View(enum.Enum):
    """How much of an incident a user may see."""

    FULL = "full"
    WITNESS = "witness"


def incident_view(user: User, incident: Incident) -> View | None:
    """How much of `incident` `user` may see; None: nothing at all."""
    if not user.active or incident.anonymised_at is not None:
        return None  # anonymised incidents are nobody's any more
    if incident.reporter_id == user.id:
        return View.FULL
    if incident.status == IncidentStatus.DRAFT:
        return None
    roles = {p.role for p in incident.people if p.user_id == user.id}
    if PersonRole.AFFECTED in roles:
        return View.FULL
    if _manages_an_affected_person(user, incident):
        return View.FULL
    if PersonRole.WITNESS in roles or any(may_work_on(user, s) for s in incident.steps):
        return View.WITNESS
    return None


def can_edit(user: User, incident: Incident) -> bool:
    """The reporter and the affected employees may complete and add to an incident."""
    if incident.anonymised_at is not None:
        return False
    if incident.reporter_id == user.id:
        return True
    return not incident.is_draft and any(
        p.user_id == user.id and p.role == PersonRole.AFFECTED for p in incident.people
    )


def _manages_an_affected_person(user: User, incident: Incident) -> bool:
    if user.role != Role.MANAGER:
        return False
    for person in incident.people_in(PersonRole.AFFECTED):
        team = person.user.team
        if team is not None and user.id in (team.manager_id, team.deputy_id):
            return True
    return False


def may_work_on(user: User, step: AftercareStep) -> bool:
    """The step's owner, and the manager or deputy of its team, may complete or hand it."""
    if user.role != Role.MANAGER or not user.active:
        return False
    if step.owner_id == user.id:
        return True
    return step.team is not None and user.id in (step.team.manager_id, step.team.deputy_id)


def visible_steps(user: User, incident: Incident, view: View) -> list[AftercareStep]:
    """The aftercare steps `user` may see on an incident: everything for the managers of the
    affected employees; otherwise their own track and the steps they work on. Never other
    people's tracks."""
    if view == View.FULL and _manages_an_affected_person(user, incident):
        return list(incident.steps)
    return [s for s in incident.steps if s.subject_user_id == user.id or may_work_on(user, s)]


def inbox_query(user: User, state: str, now: datetime) -> Select[Any]:
    """The steps a manager owns or deputises for: "open", "overdue" or "done"."""
    steps = union(*_inbox_branches(user, state, now)).subquery()
    return (
        select(AftercareStep)
        .where(AftercareStep.id.in_(select(steps.c.id)))
        .order_by(*_inbox_order(state))
    )


INBOX_PAGE = 20


def inbox_page(
    user: User, state: str, now: datetime, after: int | None = None
) -> tuple[list[AftercareStep], int | None]:
    """One page of the inbox, after the step with id `after` (keyset pagination: the same
    cost on page 1 and page 100), and the id to continue after, or None on the last page.

    Each of the two ways a step reaches a manager (owner, or manager or deputy of its team)
    is read in index order and limited before they are merged, so the cost is a page of
    rows whatever the manager's history holds."""
    order = _inbox_order(state)
    cursor = _inbox_cursor(user, state, now, after)
    ids = []
    for branch in _inbox_branches(user, state, now):
        if cursor is not None:
            position = tuple_(AftercareStep.due_at, AftercareStep.id)
            mark = tuple_(cursor.due_at, cursor.id)
            branch = branch.where(position < mark if state == "done" else position > mark)
        ids.append(branch.order_by(*order).limit(INBOX_PAGE + 1).subquery().select())
    merged = union(*ids).subquery()
    steps = list(
        db.session.scalars(
            select(AftercareStep)
            .where(AftercareStep.id.in_(select(merged.c.id)))
            .order_by(*order)
            .limit(INBOX_PAGE + 1)
            .options(  # each is one row a step: joined in the same query
                joinedload(AftercareStep.incident),
                joinedload(AftercareStep.subject_user),
                joinedload(AftercareStep.owner),
            )
        )
    )
    return _one_page(steps, INBOX_PAGE)


def _inbox_cursor(user: User, state: str, now: datetime, after: int | None) -> AftercareStep | None:
    """The step to continue after, only when it is in this very list; any other id (another
    manager's step, one in another state, none at all) gives the first page, so the address
    tells nothing about steps that are not the user's."""
    if after is None:
        return None
    mine = union(*(b.where(AftercareStep.id == after) for b in _inbox_branches(user, state, now)))
    found: AftercareStep | None = db.session.scalar(
        select(AftercareStep).where(AftercareStep.id.in_(select(mine.subquery().c.id)))
    )
    return found


def _one_page(rows: list[Any], size: int) -> tuple[list[Any], int | None]:
    """`size + 1` rows read: the first `size`, and the id to continue after (None when the
    extra row is not there: the last page)."""
    page = rows[:size]
    return page, page[-1].id if len(rows) > size else None


def _inbox_branches(user: User, state: str, now: datetime) -> list[Select[Any]]:
    """The ids of a manager's steps in a state, in two parts that each have their index:
    the steps they own, and the steps of the teams they manage or deputise for."""
    return [
        select(AftercareStep.id).where(who, *_state_filter(state, now))
        for who in (
            AftercareStep.owner_id == user.id,
            AftercareStep.team_id.in_(_my_teams(user)),
        )
    ]


def _my_teams(user: User) -> Select[Any]:
    return select(Team.id).where((Team.deputy_id == user.id) | (Team.manager_id == user.id))


def _state_filter(state: str, now: datetime) -> list[ColumnElement[bool]]:
    if state == "done":
        return [AftercareStep.status != StepStatus.OPEN]
    if state == "overdue":
        return [AftercareStep.status == StepStatus.OPEN, AftercareStep.due_at < now]
    return [AftercareStep.status == StepStatus.OPEN]


def _inbox_order(state: str) -> tuple[Any, ...]:
    """Open steps by deadline, the earliest first; done ones the latest deadline first."""
    if state == "done":
        return AftercareStep.due_at.desc(), AftercareStep.id.desc()
    return AftercareStep.due_at, AftercareStep.id


def open_step_count(user: User, now: datetime) -> int:
    """The number shown in the navigation: the manager's open steps."""
    steps = union(*_inbox_branches(user, "open", now)).subquery()
    return db.session.scalar(select(func.count()).select_from(steps)) or 0


def my_steps_query(user: User) -> Select[Any]:
    """An employee's own aftercare steps, over all incidents."""
    return (
        select(AftercareStep)
        .where(AftercareStep.subject_user_id == user.id)
        .order_by(AftercareStep.status, AftercareStep.due_at)
    )


def my_incidents_query(user: User) -> Select[Any]:
    """Submitted incidents that concern `user`: reported by, affecting, or witnessed by them."""
    involved = exists().where(
        IncidentPerson.incident_id == Incident.id, IncidentPerson.user_id == user.id
    )
    return select(Incident).where(
        Incident.status == IncidentStatus.SUBMITTED,
        Incident.anonymised_at.is_(None),
        or_(Incident.reporter_id == user.id, involved),
    )


MY_INCIDENTS_PAGE = 25


def my_incidents_page(user: User, after: int | None = None) -> tuple[list[Incident], int | None]:
    """One page of `my_incidents_query`, the latest first, after the incident with id `after`
    (keyset pagination), and the id to continue after, or None on the last page."""
    query = my_incidents_query(user)
    # Only an incident of this very list is a cursor: any other id gives the first page, so
    # the address tells nothing about other people's incidents (whether or when they were).
    cursor = db.session.scalar(query.where(Incident.id == after)) if after is not None else None
    order = (Incident.occurred_at.desc(), Incident.id.desc())
    if cursor is not None and cursor.occurred_at is not None:
        position = tuple_(Incident.occurred_at, Incident.id)
        query = query.where(position < tuple_(cursor.occurred_at, cursor.id))
    incidents = list(
        db.session.scalars(
            query.options(selectinload(Incident.type_rows), selectinload(Incident.people))
            .order_by(*order)
            .limit(MY_INCIDENTS_PAGE + 1)
        )
    )
    return _one_page(incidents, MY_INCIDENTS_PAGE)


def my_drafts_query(user: User) -> Select[Any]:
    """The user's unfinished reports."""
    return select(Incident).where(
        Incident.status == IncidentStatus.DRAFT, Incident.reporter_id == user.id
    )
