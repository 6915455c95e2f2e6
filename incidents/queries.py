"""Read-only lists and pages: the inbox, my incidents and drafts, and the lookups that views and
forms show. Nothing here changes data, and nothing here decides who may see an object (that is
`incidents.access`): each list holds only what its user is part of by construction.

Long lists are read a page at a time with keyset pagination: the same cost on page 1 and page
100. A page's cursor is accepted only when it is in that very list, so an address tells nothing
about other people's incidents or steps.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, tuple_, union
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AlarmEvent,
    AuditAction,
    AuditEvent,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentStatus,
    Location,
    Role,
    StepStatus,
    Team,
    User,
    normalised_location_code,
)

# The aftercare inbox


class InboxTab(enum.StrEnum):
    """The two halves of a manager's inbox: the steps they own, and the steps of their teams
    (as manager or deputy) that another person owns, or nobody: the ones they stand in for."""

    MINE = "mine"
    STANDING_IN = "standing_in"


INBOX_STATES = ("open", "overdue", "done")
INBOX_PAGE = 10  # incidents a page, each with all its steps of the list
INBOX_SEARCH_MIN = 2
INBOX_SEARCH_MAX = 100


@dataclass(frozen=True)
class InboxSearch:
    """What the inbox is narrowed to: an incident by its stored number, or the people whose
    name contains `person` (case-insensitive, wildcards taken literally). Empty: everything."""

    number: str | None = None
    person: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.number or self.person)


NO_SEARCH = InboxSearch()


@dataclass(frozen=True)
class InboxGroup:
    """One incident of an inbox page, with its steps of the list, by deadline."""

    incident: Incident
    steps: list[AftercareStep]


Steps = type[AftercareStep] | Any  # the table or an alias of it


def _my_teams(user: User) -> Select[Any]:
    return select(Team.id).where((Team.deputy_id == user.id) | (Team.manager_id == user.id))


def _tab_filter(s: Steps, user: User, tab: InboxTab) -> ColumnElement[bool]:
    """Each tab is one way a step reaches a manager, with an index of its own: the owner's
    (owner, status, due) and the team's (team, status, due)."""
    if tab is InboxTab.MINE:
        return s.owner_id == user.id
    return and_(
        s.team_id.in_(_my_teams(user)),
        or_(s.owner_id.is_(None), s.owner_id != user.id),
    )


def _state_filter(s: Steps, state: str, now: datetime) -> list[ColumnElement[bool]]:
    if state == "done":
        return [s.status != StepStatus.OPEN]
    if state == "overdue":
        return [s.status == StepStatus.OPEN, s.due_at < now]
    return [s.status == StepStatus.OPEN]


def _search_filter(s: Steps, search: InboxSearch) -> list[ColumnElement[bool]]:
    """A number is looked up in its unique index first, then the incident's steps in theirs;
    a name in the (small) table of people, then their steps by the subject's index."""
    found: list[ColumnElement[bool]] = []
    if search.number:
        incident = select(Incident.id).where(Incident.number == search.number)
        found.append(s.incident_id == incident.scalar_subquery())
    if search.person:
        people = select(User.id).where(
            func.lower(User.name).like(_like(search.person), escape="\\")
        )
        found.append(s.subject_user_id.in_(people))
    return found


def _in_list(
    s: Steps, user: User, tab: InboxTab, state: str, now: datetime, search: InboxSearch
) -> list[ColumnElement[bool]]:
    """The conditions of one list: a tab, a state and a search."""
    return [_tab_filter(s, user, tab), *_state_filter(s, state, now), *_search_filter(s, search)]


def _inbox_order(state: str, s: Steps = AftercareStep) -> tuple[Any, ...]:
    """Open steps by deadline, the earliest first; done ones the latest deadline first."""
    if state == "done":
        return s.due_at.desc(), s.id.desc()
    return s.due_at, s.id


def _position(s: Steps) -> Any:
    """A step's place in a list, (due_at, id): of a row, or of a step already read."""
    return tuple_(s.due_at, s.id)


def _ahead(state: str, first: Any, then: Any) -> ColumnElement[bool]:
    """Position `first` comes before position `then` in the list's order."""
    return first > then if state == "done" else first < then


def inbox_query(user: User, state: str, now: datetime, tab: InboxTab | None = None) -> Select[Any]:
    """The steps of one tab in a state ("open", "overdue" or "done"), in the list's order;
    without a tab, both (every step a manager owns or runs as manager or deputy of its team),
    as the calendar feed lists them."""
    tabs = [tab] if tab is not None else list(InboxTab)
    if len(tabs) == 1:
        where = _in_list(AftercareStep, user, tabs[0], state, now, NO_SEARCH)
        return select(AftercareStep).where(*where).order_by(*_inbox_order(state))
    steps = union(
        *(
            select(AftercareStep.id).where(*_in_list(AftercareStep, user, t, state, now, NO_SEARCH))
            for t in tabs
        )
    ).subquery()
    return (
        select(AftercareStep)
        .where(AftercareStep.id.in_(select(steps.c.id)))
        .order_by(*_inbox_order(state))
    )


def inbox_page(
    user: User,
    tab: InboxTab,
    state: str,
    now: datetime,
    search: InboxSearch = NO_SEARCH,
    after: int | None = None,
) -> tuple[list[InboxGroup], int | None]:
    """One page of a tab: up to INBOX_PAGE incidents, each with all its steps of the list,
    the incidents in the order of their first step (for done steps: their latest), after the
    step with id `after`; and the step to continue after, or None on the last page.

    Keyset pagination over the steps that head their incident's group (no step of the same
    incident comes before them in the list): read in the tab's index order and limited, each
    checked by the incident's index, so the cost is a page of rows, whatever the manager's
    history holds. An incident is on one page only, whole."""
    cursor = _inbox_cursor(user, tab, state, now, search, after)
    where = _in_list(AftercareStep, user, tab, state, now, search)
    earlier = aliased(AftercareStep)
    heads = (
        select(AftercareStep.id, AftercareStep.incident_id)
        .where(*where)
        .where(
            ~exists().where(
                earlier.incident_id == AftercareStep.incident_id,
                _ahead(state, _position(earlier), _position(AftercareStep)),
                *_in_list(earlier, user, tab, state, now, search),
            )
        )
    )
    if cursor is not None:
        heads = heads.where(_ahead(state, _position(cursor), _position(AftercareStep)))
    rows = list(db.session.execute(heads.order_by(*_inbox_order(state)).limit(INBOX_PAGE + 1)))
    page, more = _one_page(rows, INBOX_PAGE)
    incident_ids = [row.incident_id for row in page]
    if not incident_ids:
        return [], None
    steps = db.session.scalars(
        select(AftercareStep)
        .where(AftercareStep.incident_id.in_(incident_ids), *where)
        .order_by(*_inbox_order(state))
        .options(  # each is one row a step: joined in the same query
            joinedload(AftercareStep.incident),
            joinedload(AftercareStep.subject_user),
            joinedload(AftercareStep.owner),
        )
    ).all()
    by_incident: dict[int, list[AftercareStep]] = {i: [] for i in incident_ids}
    for step in steps:
        by_incident[step.incident_id].append(step)
    groups = [InboxGroup(found[0].incident, found) for found in by_incident.values() if found]
    return groups, more


def _inbox_cursor(
    user: User, tab: InboxTab, state: str, now: datetime, search: InboxSearch, after: int | None
) -> AftercareStep | None:
    """The step to continue after, only when it is in this very list; any other id (another
    manager's step, one of the other tab or another state, none at all) gives the first page,
    so the address tells nothing about steps that are not the user's."""
    if after is None:
        return None
    found: AftercareStep | None = db.session.scalar(
        select(AftercareStep).where(
            AftercareStep.id == after, *_in_list(AftercareStep, user, tab, state, now, search)
        )
    )
    return found


def _one_page(rows: list[Any], size: int) -> tuple[list[Any], int | None]:
    """`size + 1` rows read: the first `size`, and the id to continue after (None when the
    extra row is not there: the last page)."""
    page = rows[:size]
    return page, page[-1].id if len(rows) > size else None


def inbox_counts(
    user: User, state: str, now: datetime, search: InboxSearch = NO_SEARCH
) -> dict[InboxTab, int]:
    """How many steps each tab holds in a state (and search): one query, each count over
    its tab's index."""
    counts = [
        select(func.count(AftercareStep.id))
        .where(*_in_list(AftercareStep, user, tab, state, now, search))
        .scalar_subquery()
        for tab in InboxTab
    ]
    row = db.session.execute(select(*counts)).one()
    return {tab: int(n or 0) for tab, n in zip(InboxTab, row, strict=True)}


def open_step_count(user: User, now: datetime) -> int:
    """The number shown in the navigation: the open steps the manager owns (not the ones
    they stand in for: those are the other tab)."""
    return (
        db.session.scalar(
            select(func.count(AftercareStep.id)).where(
                *_in_list(AftercareStep, user, InboxTab.MINE, "open", now, NO_SEARCH)
            )
        )
        or 0
    )


def open_steps(user: User, now: datetime) -> Sequence[AftercareStep]:
    """All of a manager's open steps (owned or deputised), the earliest deadline first: the
    calendar feed."""
    return db.session.scalars(inbox_query(user, "open", now)).all()


# A manager's home page

HOME_LIST = 5  # steps or incidents shown a section; the inbox has the rest
NEW_INCIDENT_DAYS = 7


@dataclass(frozen=True)
class ManagerDay:
    """What matters to a manager today: their own overdue steps and steps due today, the
    steps they stand in for, and the new incidents of their teams; each with its count."""

    overdue: list[AftercareStep]
    overdue_count: int
    due_today: list[AftercareStep]
    due_today_count: int
    standing_in: list[AftercareStep]
    standing_in_count: int
    new_incidents: list[Incident]
    new_incident_count: int


def _concerns_me(user: User) -> ColumnElement[bool]:
    """An incident with a step the manager owns or runs for their team: their team's."""
    return exists().where(
        AftercareStep.incident_id == Incident.id,
        or_(AftercareStep.owner_id == user.id, AftercareStep.team_id.in_(_my_teams(user))),
    )


def manager_day(user: User, now: datetime, end_of_day: datetime) -> ManagerDay:
    """The manager's home page in a constant number of queries (counts in one, each list
    limited in SQL): overdue means due before `now`, today before `end_of_day`."""
    mine = [AftercareStep.owner_id == user.id, AftercareStep.status == StepStatus.OPEN]
    overdue = [*mine, AftercareStep.due_at < now]
    due_today = [*mine, AftercareStep.due_at >= now, AftercareStep.due_at < end_of_day]
    standing = _in_list(AftercareStep, user, InboxTab.STANDING_IN, "open", now, NO_SEARCH)
    since = now - timedelta(days=NEW_INCIDENT_DAYS)
    new = [
        Incident.status == IncidentStatus.SUBMITTED,
        Incident.submitted_at >= since,
        Incident.anonymised_at.is_(None),
        _concerns_me(user),
    ]
    counts = db.session.execute(
        select(
            *(
                select(func.count(AftercareStep.id)).where(*where).scalar_subquery()
                for where in (overdue, due_today, standing)
            ),
            select(func.count(Incident.id)).where(*new).scalar_subquery(),
        )
    ).one()

    def steps(where: list[ColumnElement[bool]]) -> list[AftercareStep]:
        return list(
            db.session.scalars(
                select(AftercareStep)
                .where(*where)
                .order_by(AftercareStep.due_at, AftercareStep.id)
                .limit(HOME_LIST)
                .options(
                    joinedload(AftercareStep.incident),
                    joinedload(AftercareStep.subject_user),
                    joinedload(AftercareStep.owner),
                )
            )
        )

    incidents = list(
        db.session.scalars(
            select(Incident)
            .where(*new)
            .order_by(Incident.submitted_at.desc(), Incident.id.desc())
            .limit(HOME_LIST)
            .options(selectinload(Incident.type_rows))
        )
    )
    return ManagerDay(
        overdue=steps(overdue),
        overdue_count=int(counts[0] or 0),
        due_today=steps(due_today),
        due_today_count=int(counts[1] or 0),
        standing_in=steps(standing),
        standing_in_count=int(counts[2] or 0),
        new_incidents=incidents,
        new_incident_count=int(counts[3] or 0),
    )


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


def alarms_of(incidents: Sequence[Incident]) -> dict[int, AlarmEvent]:
    """The alarms that started these drafts or incidents, by incident id (one query)."""
    ids = [i.id for i in incidents]
    if not ids:
        return {}
    found = db.session.scalars(select(AlarmEvent).where(AlarmEvent.incident_id.in_(ids)))
    return {a.incident_id: a for a in found if a.incident_id is not None}


def incident_with_details(incident_id: int) -> Incident | None:
    """An incident with everything its page shows: types, people and their teams, history,
    and steps with their people. Whether the user may see it is `access.incident_view`."""
    return db.session.scalar(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(
            # Each collection in one query, with the accounts and teams it names joined in:
            # five queries however many people, changes and steps.
            selectinload(Incident.type_rows),
            selectinload(Incident.people).joinedload(IncidentPerson.user).joinedload(User.team),
            selectinload(Incident.changes).joinedload(IncidentChange.actor),
            selectinload(Incident.steps).options(
                joinedload(AftercareStep.owner),
                joinedload(AftercareStep.subject_user),
                joinedload(AftercareStep.done_by),
                joinedload(AftercareStep.team),
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


# The colleague picker

COLLEAGUE_MATCHES = 20
COLLEAGUE_QUERY_MIN = 2
COLLEAGUE_QUERY_MAX = 100


@dataclass(frozen=True)
class Colleague:
    """A colleague as the picker shows them: id, name and the team's name."""

    id: int
    name: str
    team: str


def _colleague_rows(query: Select[int, str, str, str], locale: str) -> list[Colleague]:
    rows = db.session.execute(query)
    return [
        Colleague(
            user_id, name, (team_en or team_nl if locale == "en" else team_nl or team_en) or ""
        )
        for user_id, name, team_nl, team_en in rows
    ]


def _colleague_select() -> Select[int, str, str, str]:
    return select(User.id, User.name, Team.name_nl, Team.name_en).outerjoin(
        Team, Team.id == User.team_id
    )


def _findable() -> ColumnElement[bool]:
    """Active accounts; HR and admin accounts only when they are in a team (otherwise they
    are service accounts nobody works next to)."""
    return and_(
        User.active.is_(True),
        or_(User.role.not_in((Role.HR, Role.ADMIN)), User.team_id.is_not(None)),
    )


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def colleague_search(
    text: str, *, exclude: Sequence[int] = (), locale: str = "nl"
) -> list[Colleague]:
    """At most COLLEAGUE_MATCHES active colleagues whose name or team contains `text` (case
    insensitive), by name; none for fewer than COLLEAGUE_QUERY_MIN characters. The scan
    follows the index on (active, name) and stops at the page size."""
    text = " ".join(text.split())[:COLLEAGUE_QUERY_MAX]
    if len(text) < COLLEAGUE_QUERY_MIN:
        return []
    pattern = _like(text)
    query = (
        _colleague_select()
        .where(_findable())
        .where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(Team.name_nl).like(pattern, escape="\\"),
                func.lower(Team.name_en).like(pattern, escape="\\"),
            )
        )
        .order_by(User.name, User.id)
        .limit(COLLEAGUE_MATCHES)
    )
    if exclude:
        query = query.where(User.id.not_in(list(exclude)))
    return _colleague_rows(query, locale)


def colleagues_by_id(ids: Sequence[int], *, locale: str = "nl") -> list[Colleague]:
    """The colleagues with these ids (inactive ones too: a stored report may name a leaver),
    by name; unknown ids are left out."""
    if not ids:
        return []
    query = _colleague_select().where(User.id.in_(list(ids))).order_by(User.name, User.id)
    return _colleague_rows(query, locale)


class AlarmResult(enum.StrEnum):
    """What became of an alarm event, for the admin's list."""

    DRAFT = "draft"  # a draft report, not yet completed
    SUBMITTED = "submitted"  # the employee completed the report
    DISCARDED = "discarded"  # the employee discarded the draft
    UNKNOWN_USER = "unknown_user"  # refused: no account with this address
    INACTIVE_USER = "inactive_user"  # refused: the account is not active


@dataclass(frozen=True)
class AlarmLine:
    """One line of the admin's list: when, which event and device, and what became of it.
    Neither the person nor the place: an admin sees no incidents."""

    received_at: datetime
    provider_event_id: str
    device: str
    result: AlarmResult


RECENT_ALARMS = 50


def recent_alarms(limit: int = RECENT_ALARMS) -> list[AlarmLine]:
    """The last `limit` alarm events, accepted (with their draft's state) and refused (from the
    audit trail), the latest first: two queries of at most `limit` rows each."""
    accepted = db.session.execute(
        select(AlarmEvent, Incident.status)
        .outerjoin(Incident, Incident.id == AlarmEvent.incident_id)
        .order_by(AlarmEvent.received_at.desc(), AlarmEvent.id.desc())
        .limit(limit)
    ).all()
    refused = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.ALARM_REFUSED)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    lines = [
        AlarmLine(
            event.received_at,
            event.provider_event_id,
            event.device,
            AlarmResult.DISCARDED
            if status is None
            else AlarmResult.DRAFT
            if status == IncidentStatus.DRAFT
            else AlarmResult.SUBMITTED,
        )
        for event, status in accepted
    ]
    for audit_event in refused:
        reason = str(audit_event.details.get("reason", ""))
        lines.append(
            AlarmLine(
                audit_event.at,
                str(audit_event.details.get("event", "")),
                "",
                AlarmResult.INACTIVE_USER
                if reason == AlarmResult.INACTIVE_USER
                else AlarmResult.UNKNOWN_USER,
            )
        )
    lines.sort(key=lambda line: line.received_at, reverse=True)
    return lines[:limit]


# Locations and their posters


def location_list() -> Sequence[Location]:
    """Every location of the register: the active ones first, each part by name."""
    return db.session.scalars(
        select(Location).order_by(
            Location.archived_at.is_not(None), func.lower(Location.name), Location.id
        )
    ).all()


def active_location(code: str) -> Location | None:
    """The active location whose poster carries `code` (any case), or None. Anything that is
    not shaped like a code is not looked up."""
    found = normalised_location_code(code)
    if found is None:
        return None
    return db.session.scalar(
        select(Location).where(Location.code == found, Location.archived_at.is_(None))
    )
