"""Writing an import's plan: the accounts service's changes, for thousands of people in the
caller's transaction (see the package's docstring), with its audit events and hand-overs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select

from incidents.extensions import db
from incidents.models import (
    AccountSource,
    AftercareStep,
    AuditAction,
    Role,
    StepStatus,
    Team,
    User,
)
from incidents.passwords import hash_password
from incidents.services import ownership, sessions
from incidents.services.base import audit
from incidents.services.org_import.planner import Plan

_CHUNK = 500  # ids per IN (...) list


def incidents_touched(result: Plan) -> list[int]:
    """The incidents with open steps that the plan may hand over: those of leavers and movers
    (as owner or as the person), and of teams whose manager or deputy changes."""
    people = {person.id for person in result.deactivations}
    people.update(u.person.id for u in result.person_updates if "team" in u.fields)
    teams: set[int] = set()
    for change in result.team_updates:
        if change.manager_changed or change.deputy_cleared:
            teams.add(change.team.id)
            people.update(i for i in (change.team.manager_id, change.team.deputy_id) if i)
    found: set[int] = set()
    for chunk in chunks(sorted(people)):
        found.update(
            db.session.scalars(
                select(AftercareStep.incident_id).where(
                    AftercareStep.status == StepStatus.OPEN,
                    or_(
                        AftercareStep.owner_id.in_(chunk), AftercareStep.subject_user_id.in_(chunk)
                    ),
                )
            )
        )
    for chunk in chunks(sorted(teams)):
        found.update(
            db.session.scalars(
                select(AftercareStep.incident_id).where(
                    AftercareStep.status == StepStatus.OPEN, AftercareStep.team_id.in_(chunk)
                )
            )
        )
    return sorted(found)


def write_plan(actor: User | None, result: Plan, import_id: int) -> int:
    """Write the plan in the caller's transaction; returns how many open steps changed hands."""
    session = db.session
    users = {user.id: user for user in session.scalars(select(User))}
    teams = {team.id: team for team in session.scalars(select(Team))}
    by_code = {team.external_id: team for team in teams.values() if team.external_id}
    by_number = {user.employee_number: user for user in users.values() if user.employee_number}
    mark = {"import_id": import_id}

    # Teams: codes, names, places. Their managers come once every person exists.
    team_fields: dict[int, list[str]] = {}
    for change in result.team_updates:
        team = teams[change.team.id]
        fields = team_fields.setdefault(team.id, [])
        if change.adopt:
            team.external_id = change.code
            by_code[change.code] = team
            fields.append("external_id")
        if change.name_nl is not None:
            team.name_nl = change.name_nl
            fields.append("name_nl")
        if change.name_en is not None:
            team.name_en = change.name_en
            fields.append("name_en")
        if change.reactivate:
            team.active = True
            fields.append("active")
    created_teams = []
    for new in result.new_teams:
        team = Team(name_nl=new.name, name_en=new.name, external_id=new.code)
        session.add(team)
        by_code[new.code] = team
        created_teams.append(team)
    for new, team in zip(result.new_teams, created_teams, strict=True):
        team.parent = by_code[new.parent_code] if new.parent_code else None
    for change in result.team_updates:
        if change.parent_changed:
            team = teams[change.team.id]
            team.parent = by_code[change.parent_code] if change.parent_code else None
            team_fields[team.id].append("parent_id")
    session.flush()

    # People: changes (an address given up before another takes it), leavers, newcomers.
    moved: list[User] = []
    events: list[tuple[AuditAction, User, dict[str, Any]]] = []
    for update in result.person_updates:
        user, line = users[update.person.id], update.line
        fields = []
        for name in update.fields:
            if name == "employee_number":
                user.employee_number = line.employee_number
                by_number[line.employee_number] = user
                fields.append(name)
            elif name == "email":
                user.email = line.email
                fields.append(name)
            elif name == "name":
                user.name = line.name
                fields.append(name)
            elif name == "team":
                user.team = by_code[line.team_code]
                fields.append("team_id")
                moved.append(user)
            elif name == "role":
                user.role = Role(update.role)
                fields.append(name)
            elif name == "active":
                user.active = True
                events.append((AuditAction.USER_ACTIVATE, user, {}))
        if fields:
            events.append((AuditAction.USER_UPDATE, user, {"fields": fields}))
        if "email" in update.fields:
            session.flush()  # before another account takes the address this one gave up
    leavers = [users[person.id] for person in result.deactivations]
    for user in leavers:
        user.active = False
        sessions.end_all(user)
    # Nobody knows this password: the accounts sign in through single sign-on. One argon2 hash
    # per import, not per account (that would take minutes), so a login attempt on such an
    # account still costs one verification, as on every other.
    unusable = hash_password(secrets.token_urlsafe(32)) if result.new_people else ""
    created_people = []
    for new_person in result.new_people:
        line = new_person.line
        user = User(
            email=line.email,
            name=line.name,
            password_hash=unusable,
            role=Role(new_person.role),
            team=by_code[line.team_code],
            source=AccountSource.IMPORT,
            employee_number=line.employee_number,
        )
        session.add(user)
        by_number[line.employee_number] = user
        created_people.append(user)
    session.flush()

    # Managers and deputies.
    roles_changed: list[tuple[Team, str, User | None, User | None]] = []
    for new, team in zip(result.new_teams, created_teams, strict=True):
        if new.manager_number:
            team.manager = by_number[new.manager_number]
            roles_changed.append((team, "manager", None, team.manager))
    for change in result.team_updates:
        team = teams[change.team.id]
        if change.manager_changed:
            former = team.manager
            team.manager = by_number[change.manager_number] if change.manager_number else None
            team_fields[team.id].append("manager_id")
            roles_changed.append((team, "manager", former, team.manager))
        if change.deputy_cleared:
            former = team.deputy
            team.deputy = None
            team_fields[team.id].append("deputy_id")
            roles_changed.append((team, "deputy", former, None))
    session.flush()

    # The audit trail, as the accounts service writes it, each event naming the import.
    for team in created_teams:
        audit(actor, AuditAction.TEAM_CREATE, team, **mark)
    for team_id, fields in team_fields.items():
        if fields:
            audit(actor, AuditAction.TEAM_UPDATE, teams[team_id], fields=fields, **mark)
    for team, role_name, old, new_holder in roles_changed:
        for person, change_name in ((old, "removed"), (new_holder, "added")):
            if person is not None:
                audit(
                    actor,
                    AuditAction.USER_TEAM_ROLE,
                    person,
                    team=team.id,
                    role=role_name,
                    change=change_name,
                    **mark,
                )
    for user in created_people:
        audit(
            actor,
            AuditAction.USER_CREATE,
            user,
            role=user.role.value,
            source=AccountSource.IMPORT.value,
            **mark,
        )
    for action, user, details in events:
        audit(actor, action, user, **details, **mark)
    session.flush()

    # Open steps: a mover's own aftercare follows them to their new team's manager (who they
    # are told of), a leaver's go to whoever is next in line now, and a former manager's or
    # deputy's to the team's manager now. Movers first: their steps move once, not twice.
    handed = 0
    for user in moved:
        handed += ownership.follow_mover(actor, user)
    for user in leavers:
        moved_steps = ownership.hand_over_steps_of(actor, user)
        handed += moved_steps
        audit(actor, AuditAction.USER_DEACTIVATE, user, steps_handed_over=moved_steps, **mark)
    leaver_ids = {user.id for user in leavers}
    for team, _role_name, old, _new in roles_changed:
        if old is None or old.id in leaver_ids or old.id in (team.manager_id, team.deputy_id):
            continue  # a leaver's went above; a manager who became deputy keeps them
        handed += ownership.hand_over_steps_of(actor, old, team)
    return handed


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
