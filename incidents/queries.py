"""Read-only lists and pages: the inbox, my incidents and drafts, and the lookups that views and
forms show. Nothing here changes data, and nothing here decides who may see an object (that is
`incidents.access`): each list holds only what its user is part of by construction.

Long lists are read a page at a time with keyset pagination: the same cost on page 1 and page
100. A page's cursor is accepted only when it is in that very list, so an address tells nothing
about other people's incidents or steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_, union
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    StepStatus,
    Team,
    User,
)

# The aftercare inbox


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


def open_steps(user: User, now: datetime) -> Sequence[AftercareStep]:
    """All of a manager's open steps (owned or deputised), the earliest deadline first: the
    calendar feed."""
    return db.session.scalars(inbox_query(user, "open", now)).all()


# An employee's own incidents, drafts and aftercare


def my_steps_query(user: User) -> Select[Any]:
    """An employee's own aftercare steps, over all incidents."""
    return (
        select(AftercareStep)
        .where(AftercareStep.subject_user_id == user.id)
        .order_by(AftercareStep.status, AftercareStep.due_at)
    )


def my_steps(user: User) -> Sequence[AftercareStep]:
    """`my_steps_query` with each step's owner, who did it and its incident, for the home page."""
    return db.session.scalars(
        my_steps_query(user).options(
            selectinload(AftercareStep.owner),
            selectinload(AftercareStep.done_by),
            selectinload(AftercareStep.incident),
        )
    ).all()


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


def my_drafts(user: User, *, with_details: bool = False) -> Sequence[Incident]:
    """The user's unfinished reports, the last changed first; `with_details` also loads their
    types and people, for the list of my incidents."""
    query = my_drafts_query(user)
    if with_details:
        query = query.options(selectinload(Incident.type_rows), selectinload(Incident.people))
    return db.session.scalars(query.order_by(Incident.updated_at.desc())).all()


def incident_with_details(incident_id: int) -> Incident | None:
    """An incident with everything its page shows: types, people and their teams, history,
    and steps with their people. Whether the user may see it is `access.incident_view`."""
    return db.session.scalar(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(
            selectinload(Incident.type_rows),
            selectinload(Incident.people).selectinload(IncidentPerson.user).selectinload(User.team),
            selectinload(Incident.changes).selectinload(IncidentChange.actor),
            selectinload(Incident.steps).options(
                selectinload(AftercareStep.owner),
                selectinload(AftercareStep.subject_user),
                selectinload(AftercareStep.done_by),
                selectinload(AftercareStep.team),
            ),
        )
    )


# People and teams


def managed_teams(user: User) -> Sequence[Team]:
    """The active teams `user` manages or deputises for, by Dutch name."""
    return db.session.scalars(
        select(Team)
        .where((Team.manager_id == user.id) | (Team.deputy_id == user.id))
        .where(Team.active)
        .order_by(Team.name_nl)
    ).all()


def active_managers() -> Sequence[User]:
    """Everyone who may own aftercare (active accounts with the manager role), by name: the
    choices of the select fields that pick a manager."""
    return db.session.scalars(select(User).where(User.is_active_manager).order_by(User.name)).all()


def active_teams() -> Sequence[Team]:
    """The teams that are still in use (in no particular order: choices sort them by name in
    the user's language)."""
    return db.session.scalars(select(Team).where(Team.active)).all()


def user_list() -> Sequence[User]:
    """Every account with its team, the active ones first, by name: the admin's list."""
    return db.session.scalars(
        select(User).options(selectinload(User.team)).order_by(User.active.desc(), User.name)
    ).all()


def team_list() -> Sequence[Team]:
    """Every team with its manager, deputy and parent, the active ones first, by Dutch name:
    the admin's list."""
    return db.session.scalars(
        select(Team)
        .options(selectinload(Team.manager), selectinload(Team.deputy), selectinload(Team.parent))
        .order_by(Team.active.desc(), Team.name_nl)
    ).all()
