"""Who may see which incident: the object-level rules, in one place.

- The reporter and the affected employees see the whole incident (the reporter also sees drafts).
- The manager or deputy of an affected employee's team sees the whole incident.
- A colleague witness sees when, where and what, and their own part: not the description,
  the perpetrator or other people.
- Anyone else sees nothing: the incident answers 404, as if it did not exist.
HR has no incident pages at all (the routes refuse the role).
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Select, exists, or_, select

from incidents.models import (
    Incident,
    IncidentPerson,
    IncidentStatus,
    PersonRole,
    Role,
    Team,
    User,
)


class View(enum.Enum):
    """How much of an incident a user may see."""

    FULL = "full"
    WITNESS = "witness"


def incident_view(user: User, incident: Incident) -> View | None:
    """How much of `incident` `user` may see; None: nothing at all."""
    if user.role == Role.HR or not user.active:
        return None
    if incident.reporter_id == user.id:
        return View.FULL
    if incident.status == IncidentStatus.DRAFT:
        return None
    roles = {p.role for p in incident.people if p.user_id == user.id}
    if PersonRole.AFFECTED in roles:
        return View.FULL
    if _manages_an_affected_person(user, incident):
        return View.FULL
    if PersonRole.WITNESS in roles:
        return View.WITNESS
    return None


def can_edit(user: User, incident: Incident) -> bool:
    """The reporter and the affected employees may complete and add to an incident."""
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


def my_incidents_query(user: User) -> Select[Any]:
    """Submitted incidents that concern `user`: reported by, affecting, or witnessed by them."""
    involved = exists().where(
        IncidentPerson.incident_id == Incident.id, IncidentPerson.user_id == user.id
    )
    return select(Incident).where(
        Incident.status == IncidentStatus.SUBMITTED,
        or_(Incident.reporter_id == user.id, involved),
    )


def my_drafts_query(user: User) -> Select[Any]:
    """The user's unfinished reports."""
    return select(Incident).where(
        Incident.status == IncidentStatus.DRAFT, Incident.reporter_id == user.id
    )


__all__ = ["Team", "View", "can_edit", "incident_view", "my_drafts_query", "my_incidents_query"]
