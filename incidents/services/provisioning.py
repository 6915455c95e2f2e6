"""Provisioning from the organisation's directory (SCIM): what the directory says of a person
or a team in, the account services out. The SCIM protocol itself (JSON, PATCH, filters) is the
blueprint's (incidents/scim); this module knows `Person` and `Unit` only.

Every request is one transaction: the write lock first (BEGIN IMMEDIATE on SQLite, the row on
PostgreSQL), then read, decide and write through services.accounts, which audits each change
with no actor (the directory) and hands a leaver's or mover's open steps to a new owner; a
`scim.request` event names the token that asked.

The directory's manager of a person decides their team:
- a person whose team came from the directory's groups or the admin: that team gets the manager
  (an employee becomes a manager; the previous manager's change is audited by update_team);
- a person without a team joins the team their manager runs; when the manager runs none, a team
  is made for the people who report to them ("Team <name>", under the manager's own team, marked
  by the external id MANAGED_PREFIX + the manager's id). A person moves between such teams as
  their manager changes, and leaves when the directory removes the manager;
- a person who runs their own team: the manager is the manager above, so the team moves under
  the team that manager runs.
Removing the manager of someone in a team from the directory or the admin changes nothing: the
team keeps its manager. People are deactivated, never deleted; teams too.

Error messages here are read by the directory's administrator in its provisioning log: they
are English (the SCIM API speaks English) and name the attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from incidents.bounds import parse_int
from incidents.extensions import db
from incidents.locks import begin_immediate
from incidents.models import AccountSource, AuditAction, Role, ScimToken, Team, User
from incidents.services import accounts
from incidents.services.base import ServiceError, audit, transaction

# The external id of a team made for the people who report to one manager.
MANAGED_PREFIX = "manager:"
# The columns' sizes (incidents/models/people.py): longer values are refused, not cut.
USER_NAME_MAX, DISPLAY_NAME_MAX, EXTERNAL_ID_MAX, EMPLOYEE_NUMBER_MAX = 254, 120, 255, 64

# What a list may be filtered on: `attribute eq value`, joined by and/or.
USER_FILTERS = frozenset(
    {"id", "userName", "externalId", "employeeNumber", "displayName", "active"}
)
GROUP_FILTERS = frozenset({"id", "displayName", "externalId"})


class Conflict(ServiceError):
    """A value that must be unique is another resource's already (SCIM 409 uniqueness)."""


class NotFound(LookupError):
    """No such person or (active) team (SCIM 404)."""


@dataclass(frozen=True)
class Person:
    """A person as the directory describes them; `manager_id` is the manager's user id."""

    user_name: str
    display_name: str
    active: bool = True
    external_id: str | None = None
    employee_number: str | None = None
    manager_id: int | None = None


@dataclass(frozen=True)
class Unit:
    """A team as the directory describes it (a SCIM group); `member_ids` are user ids."""

    display_name: str
    external_id: str | None = None
    member_ids: frozenset[int] = frozenset()


# A filter in disjunctive normal form: any of these, each all of its (attribute, value) pairs.
Match = tuple[str, str | bool]
Filter = Sequence[Sequence[Match]]


# --- Reading -------------------------------------------------------------------------------


def manager_of(user: User) -> User | None:
    """The person's manager as the directory sees it: their team's manager, or, for the one
    who runs the team, the manager above."""
    team = user.team
    if team is None:
        return None
    if team.manager_id is not None and team.manager_id != user.id:
        return team.manager
    return team.manager_above() if team.manager_id == user.id else None


def person_of(user: User) -> Person:
    """What the directory would say of this account."""
    manager = manager_of(user)
    return Person(
        user_name=user.email,
        display_name=user.name,
        active=user.active,
        external_id=user.external_id,
        employee_number=user.employee_number,
        manager_id=manager.id if manager else None,
    )


def unit_of(team: Team) -> Unit:
    """What the directory would say of this team; a team made for a manager's people has no
    external id of the directory's."""
    return Unit(
        display_name=team.name_nl or team.name_en,
        external_id=None if _made_for_manager(team) else team.external_id,
        member_ids=frozenset(member.id for member in team.members),
    )


def find_user(user_id: str) -> User:
    """The account with this SCIM id (its number), active or not."""
    number = parse_int(user_id)
    user = db.session.get(User, number) if number else None
    if user is None:
        raise NotFound(user_id)
    return user


def find_team(team_id: str) -> Team:
    """The active team with this SCIM id; a deactivated team was deleted, for the directory."""
    number = parse_int(team_id)
    team = db.session.get(Team, number) if number else None
    if team is None or not team.active:
        raise NotFound(team_id)
    return team


def users(matches: Filter, start: int, count: int) -> tuple[int, Sequence[User]]:
    """The number of accounts that match, and `count` of them from the `start`-th (from 1), in
    the order of their ids."""
    condition = _condition(matches, _user_column)
    total = db.session.scalar(select(func.count()).select_from(User).where(condition)) or 0
    page = db.session.scalars(
        select(User)
        .where(condition)
        .options(selectinload(User.team).selectinload(Team.manager))
        .order_by(User.id)
        .offset(start - 1)
        .limit(count)
    ).all()
    return total, page


def teams(matches: Filter, start: int, count: int) -> tuple[int, Sequence[Team]]:
    """The number of active teams that match, and `count` of them from the `start`-th."""
    condition = and_(Team.active.is_(True), _condition(matches, _team_column))
    total = db.session.scalar(select(func.count()).select_from(Team).where(condition)) or 0
    page = db.session.scalars(
        select(Team)
        .where(condition)
        .options(selectinload(Team.members))
        .order_by(Team.id)
        .offset(start - 1)
        .limit(count)
    ).all()
    return total, page


def _condition(
    matches: Filter, column: Callable[[str, str | bool], ColumnElement[bool]]
) -> ColumnElement[bool]:
    if not matches:
        return true()
    return or_(*(and_(*(column(name, value) for name, value in terms)) for terms in matches))


def _user_column(name: str, value: str | bool) -> ColumnElement[bool]:
    if name == "active":
        return User.active.is_(bool(value))
    if not isinstance(value, str):
        return false()
    if name == "id":
        number = parse_int(value)
        return User.id == number if number else false()
    if name == "userName":
        return User.email == accounts.normalise_email(value)
    if name == "externalId":
        return User.external_id == value
    if name == "employeeNumber":
        return User.employee_number == value
    if name == "displayName":
        return func.lower(User.name) == value.lower()
    raise ValueError(name)


def _team_column(name: str, value: str | bool) -> ColumnElement[bool]:
    if not isinstance(value, str):
        return false()
    if name == "id":
        number = parse_int(value)
        return Team.id == number if number else false()
    if name == "displayName":
        return or_(
            func.lower(Team.name_nl) == value.lower(), func.lower(Team.name_en) == value.lower()
        )
    if name == "externalId":
        return and_(Team.external_id == value, ~Team.external_id.startswith(MANAGED_PREFIX))
    raise ValueError(name)


# --- People --------------------------------------------------------------------------------


def create_person(token: ScimToken, person: Person) -> User:
    """A new account from the directory: an employee (other roles are the admin's to give),
    who signs in through the organisation's provider."""
    with _request():
        _check_person(person, None)
        manager = _manager(person.manager_id, None)
        user = accounts.create_user(
            None,
            email=person.user_name,
            name=person.display_name,
            password=None,
            role=Role.EMPLOYEE,
            source=AccountSource.SCIM,
            external_id=person.external_id,
            employee_number=person.employee_number,
        )
        _set_manager(user, manager)
        if not person.active:
            accounts.set_active(None, user, False)
        audit(None, AuditAction.SCIM_REQUEST, user, token=token.id, operation="create")
    return user


def change_person(token: ScimToken, user_id: str, change: Callable[[Person], Person]) -> User:
    """Replace or patch an account: `change` gets what the directory would say of it now
    (read under the lock) and returns what it should say."""
    with _request():
        user = _locked_user(user_id)
        wanted = change(person_of(user))
        _check_person(wanted, user)
        manager = _manager(wanted.manager_id, user)
        if wanted.active and not user.active:
            accounts.set_active(None, user, True)
        accounts.update_user(
            None,
            user,
            email=wanted.user_name,
            name=wanted.display_name,
            role=user.role,
            team=user.team,
            external_id=wanted.external_id,
            employee_number=wanted.employee_number,
        )
        _set_manager(user, manager)
        if not wanted.active and user.active:  # last: the leaver's steps go to the right owner
            accounts.set_active(None, user, False)
        audit(None, AuditAction.SCIM_REQUEST, user, token=token.id, operation="change")
    return user


def deactivate_person(token: ScimToken, user_id: str) -> None:
    """The directory deleted the person: the account is deactivated (every session ends, the
    open steps get a new owner) and kept, with its history."""
    with _request():
        user = _locked_user(user_id)
        if user.active:
            accounts.set_active(None, user, False)
        audit(None, AuditAction.SCIM_REQUEST, user, token=token.id, operation="delete")


def _locked_user(user_id: str) -> User:
    number = parse_int(user_id)
    user = db.session.get(User, number, with_for_update=True) if number else None
    if user is None:
        raise NotFound(user_id)
    return user


def _check_person(person: Person, user: User | None) -> None:
    """Sizes and uniqueness, before any change."""
    email = accounts.normalise_email(person.user_name)
    _check_text("userName", email, USER_NAME_MAX)
    if any(c.isspace() for c in email):
        raise ServiceError("userName: an e-mail address has no spaces", "userName")
    _check_text("displayName", person.display_name.strip(), DISPLAY_NAME_MAX)
    _check_text("externalId", person.external_id, EXTERNAL_ID_MAX, optional=True)
    _check_text("employeeNumber", person.employee_number, EMPLOYEE_NUMBER_MAX, optional=True)
    others = select(User.id).where(User.id != user.id) if user is not None else select(User.id)
    for name, column, value in (
        ("userName", User.email, email),
        ("externalId", User.external_id, person.external_id),
        ("employeeNumber", User.employee_number, person.employee_number),
    ):
        if value is not None and db.session.scalar(others.where(column == value).limit(1)):
            raise Conflict(f"{name}: another user already has {value!r}", name)


def _check_text(name: str, value: str | None, maximum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not value:
        raise ServiceError(f"{name} is required", name)
    if len(value) > maximum:
        raise ServiceError(f"{name}: at most {maximum} characters", name)


def _manager(manager_id: int | None, user: User | None) -> User | None:
    if manager_id is None:
        return None
    manager = db.session.get(User, manager_id)
    if manager is None:
        raise ServiceError(f"manager: no user has the id {manager_id}", "manager")
    if user is not None and manager.id == user.id:
        raise ServiceError("manager: a person cannot be their own manager", "manager")
    return manager


def _set_manager(user: User, manager: User | None) -> None:
    """Place the person under this manager (see the module's docstring)."""
    current = manager_of(user)
    if (current.id if current else None) == (manager.id if manager else None):
        return
    team = user.team
    if manager is None:
        if team is not None and _made_for_manager(team) and team.manager_id != user.id:
            _move(user, None)
        return
    if team is not None and team.manager_id == user.id:
        above = _team_run_by(manager)
        _update_team(team, parent=above)
    elif team is None or _made_for_manager(team):
        _move(user, _team_run_by(manager))
    else:
        _make_manager(manager)
        _update_team(
            team, manager=manager, deputy=None if team.deputy_id == manager.id else team.deputy
        )


def _team_run_by(manager: User) -> Team:
    """The team this manager runs: the first from the directory or the admin, else the one made
    for their people (made now, or made again, when there is none)."""
    marker = f"{MANAGED_PREFIX}{manager.id}"
    run = db.session.scalars(
        select(Team).where(Team.manager_id == manager.id, Team.active.is_(True)).order_by(Team.id)
    ).all()
    chosen = next((t for t in run if t.external_id != marker), None) or next(iter(run), None)
    if chosen is not None:
        return chosen
    _make_manager(manager)
    parent = manager.team if manager.team is not None and manager.team.active else None
    earlier = db.session.scalar(select(Team).where(Team.external_id == marker))
    if earlier is not None:
        accounts.set_team_active(None, earlier, True)
        _update_team(earlier, manager=manager, parent=parent)
        return earlier
    name = f"Team {manager.name}"[:DISPLAY_NAME_MAX]
    return accounts.create_team(
        None, name_nl=name, name_en=name, parent=parent, manager=manager, external_id=marker
    )


def _make_manager(person: User) -> None:
    """The directory's manager of someone runs a team: an employee becomes a manager; HR staff
    and admins keep their role, and are refused (an admin or HR officer running a team would
    read its incidents; the admin decides)."""
    if not person.active:
        raise ServiceError(f"manager: user {person.id} is deactivated", "manager")
    if person.role is Role.MANAGER:
        return
    if person.role is not Role.EMPLOYEE:
        raise ServiceError(
            f"manager: user {person.id} has the {person.role.value} role in the app and cannot "
            "run a team; change the role there or the manager in the directory",
            "manager",
        )
    accounts.update_user(
        None, person, email=person.email, name=person.name, role=Role.MANAGER, team=person.team
    )


def _move(user: User, team: Team | None) -> None:
    accounts.update_user(None, user, email=user.email, name=user.name, role=user.role, team=team)


def _made_for_manager(team: Team) -> bool:
    return (team.external_id or "").startswith(MANAGED_PREFIX)


# --- Teams ---------------------------------------------------------------------------------


def create_unit(token: ScimToken, unit: Unit) -> Team:
    """A new team from the directory. A group the directory deleted and now sends again (same
    external id) is the same team, made active again."""
    with _request():
        _check_unit(unit, None)
        earlier = (
            db.session.scalar(select(Team).where(Team.external_id == unit.external_id))
            if unit.external_id is not None
            else None
        )
        if earlier is not None:  # _check_unit let only an inactive one through
            accounts.set_team_active(None, earlier, True)
            team = earlier
            _apply_unit(team, unit)
        else:
            team = accounts.create_team(
                None,
                name_nl=unit.display_name,
                name_en=unit.display_name,
                external_id=unit.external_id,
            )
            _set_members(team, unit.member_ids)
        audit(None, AuditAction.SCIM_REQUEST, team, token=token.id, operation="create")
    return team


def change_unit(token: ScimToken, team_id: str, change: Callable[[Unit], Unit]) -> Team:
    """Replace or patch a team: `change` gets what the directory would say of it now (read
    under the lock) and returns what it should say."""
    with _request():
        team = _locked_team(team_id)
        wanted = change(unit_of(team))
        _check_unit(wanted, team)
        _apply_unit(team, wanted)
        audit(None, AuditAction.SCIM_REQUEST, team, token=token.id, operation="change")
    return team


def delete_unit(token: ScimToken, team_id: str) -> None:
    """The directory deleted the group: its active members leave it, its sub-teams move up to
    its parent, and the team is deactivated (kept, with its history)."""
    with _request():
        team = _locked_team(team_id)
        for member in [m for m in team.members if m.active]:
            _move(member, None)
        for child in [c for c in team.children if c.active]:
            _update_team(child, parent=team.parent)
        db.session.expire(team, ["members", "children"])  # as the moves left them
        accounts.set_team_active(None, team, False)
        audit(None, AuditAction.SCIM_REQUEST, team, token=token.id, operation="delete")


def _locked_team(team_id: str) -> Team:
    number = parse_int(team_id)
    team = db.session.get(Team, number, with_for_update=True) if number else None
    if team is None or not team.active:
        raise NotFound(team_id)
    return team


def _check_unit(unit: Unit, team: Team | None) -> None:
    _check_text("displayName", unit.display_name.strip(), DISPLAY_NAME_MAX)
    _check_text("externalId", unit.external_id, EXTERNAL_ID_MAX, optional=True)
    if unit.external_id is not None:
        if unit.external_id.startswith(MANAGED_PREFIX):
            raise ServiceError(f"externalId: {MANAGED_PREFIX!r} is reserved", "externalId")
        holder = db.session.scalar(select(Team).where(Team.external_id == unit.external_id))
        # A new group may take the id of a deleted one (it is that group, sent again).
        if (
            holder is not None
            and (team is None or holder.id != team.id)
            and (team is not None or holder.active)
        ):
            raise Conflict(
                f"externalId: another group already has {unit.external_id!r}", "externalId"
            )
    for member_id in unit.member_ids:
        if db.session.get(User, member_id) is None:
            raise ServiceError(f"members: no user has the id {member_id}", "members")


def _apply_unit(team: Team, unit: Unit) -> None:
    current = unit_of(team)
    names = {}
    if unit.display_name.strip() != current.display_name:
        names = {"name_nl": unit.display_name, "name_en": unit.display_name}
    external_id = unit.external_id
    if external_id is None and _made_for_manager(team):
        external_id = team.external_id  # the directory never sees the marker, nor clears it
    _update_team(team, external_id=external_id, **names)
    _set_members(team, unit.member_ids)


def _set_members(team: Team, member_ids: frozenset[int]) -> None:
    """Exactly these people are in the team: the others leave it (to no team), the new ones
    join it (leaving their previous team: a person is in one team)."""
    current = {member.id for member in team.members}
    for member_id in sorted(current - member_ids):
        _move(db.session.get_one(User, member_id), None)
    for member_id in sorted(member_ids - current):
        _join(db.session.get_one(User, member_id), team)


def _join(user: User, team: Team) -> None:
    """A person who reported to a manager through a team made for that manager brings the
    manager along to a directory group that has none yet (the directory may send the people,
    with their managers, before the groups)."""
    previous = user.team
    _move(user, team)
    if (
        team.manager_id is None
        and previous is not None
        and _made_for_manager(previous)
        and previous.manager is not None
        and previous.manager_id != user.id
        and previous.manager.is_active_manager
    ):
        _update_team(team, manager=previous.manager)


def _update_team(team: Team, **changes: object) -> None:
    """update_team with the team's current values for whatever is not changed."""
    values: dict[str, object] = {
        "name_nl": team.name_nl,
        "name_en": team.name_en,
        "parent": team.parent,
        "manager": team.manager,
        "deputy": team.deputy,
    }
    values.update(changes)
    accounts.update_team(None, team, **values)  # type: ignore[arg-type]


# --- The transaction -------------------------------------------------------------------------


@contextmanager
def _request() -> Iterator[None]:
    """One transaction for the whole request, the write lock taken first; a unique value that
    another request took in the meantime is a Conflict."""
    try:
        with transaction():
            connection = db.session.connection()
            if connection.dialect.name == "sqlite":
                begin_immediate(connection)
            yield
    except IntegrityError as error:
        raise Conflict("a value that must be unique is already in use") from error
    except ServiceError as error:
        # The account services' own check of the e-mail address, when another request took
        # it between ours and theirs.
        if error.field == "email" and not isinstance(error, Conflict):
            raise Conflict(f"userName: {error.message}", "userName") from error
        raise
