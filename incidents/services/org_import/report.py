"""The report of an import: its plan as the dry run shows it and keeps it, as JSON. Pure, like
the planner: the same plan against the same organisation gives the same report, which is how
the confirmation checks that it applies what the admin saw."""

from __future__ import annotations

from typing import Any

from incidents.services.org_import.planner import Organisation, Plan

VERSION = 1


def of(result: Plan, org: Organisation) -> dict[str, Any]:
    """The plan as the dry run shows it: plain JSON, language-neutral (problems by code), in
    the order of the file. The same file against the same organisation gives the same report."""
    teams_by_id = {t.id: t for t in org.teams}
    people_by_id = {p.id: p for p in org.people}

    def team_name(team_id: int | None) -> str | None:
        team = teams_by_id.get(team_id) if team_id is not None else None
        return (team.name_nl or team.name_en) if team is not None else None

    def person(number: str | None) -> str | None:
        if number is None:
            return None
        return f"{result.people_names.get(number, '')} ({number})"

    def user(user_id: int | None) -> str | None:
        found = people_by_id.get(user_id) if user_id is not None else None
        if found is None:
            return None
        return f"{found.name} ({found.employee_number})" if found.employee_number else found.name

    people_changed, people_moved = [], []
    for update in result.person_updates:
        line, now = update.line, update.person
        entry = {"id": now.id, "number": line.employee_number, "name": line.name}
        if "team" in update.fields:
            people_moved.append(
                entry
                | {
                    "from": team_name(now.team_id),
                    "to": result.team_names.get(line.team_code, line.team_code),
                    "to_code": line.team_code,
                }
            )
        old = {
            "employee_number": now.employee_number,
            "email": now.email,
            "name": now.name,
            "role": now.role,
            "active": now.active,
        }
        new = {
            "employee_number": line.employee_number,
            "email": line.email,
            "name": line.name,
            "role": update.role,
            "active": True,
        }
        changes = [
            {"field": name, "old": old[name], "new": new[name]}
            for name in update.fields
            if name != "team"
        ]
        if changes:
            people_changed.append(entry | {"changes": changes})
    teams_changed, teams_reparented = [], []
    for change in result.team_updates:
        team = change.team
        entry = {"id": team.id, "code": change.code, "name": result.team_names[change.code]}
        if change.parent_changed:
            teams_reparented.append(
                entry
                | {
                    "from": team_name(team.parent_id),
                    "to": result.team_names.get(change.parent_code or "", change.parent_code),
                }
            )
        fields: list[dict[str, Any]] = []
        if change.adopt:
            fields.append({"field": "code", "old": None, "new": change.code})
        if change.name_nl is not None:
            fields.append({"field": "name", "old": team.name_nl, "new": change.name_nl})
        if change.name_en is not None:
            fields.append({"field": "name_en", "old": team.name_en, "new": change.name_en})
        if change.reactivate:
            fields.append({"field": "active", "old": False, "new": True})
        if change.manager_changed:
            fields.append(
                {
                    "field": "manager",
                    "old": user(team.manager_id),
                    "new": person(change.manager_number),
                }
            )
        if change.deputy_cleared:
            fields.append({"field": "deputy", "old": user(team.deputy_id), "new": None})
        if fields:
            teams_changed.append(entry | {"changes": fields})
    return {
        "version": VERSION,
        "counts": {
            "lines": result.lines,
            "accepted": result.accepted,
            "refused": len(result.refused),
            "changes": result.changes,
        },
        "people_added": [
            {
                "line": added.line.line,
                "number": added.line.employee_number,
                "name": added.line.name,
                "email": added.line.email,
                "team": result.team_names.get(added.line.team_code, added.line.team_code),
                "team_code": added.line.team_code,
                "role": added.role,
            }
            for added in result.new_people
        ],
        "people_changed": people_changed,
        "people_moved": people_moved,
        "people_deactivated": [
            {
                "id": leaver.id,
                "number": leaver.employee_number,
                "name": leaver.name,
                "email": leaver.email,
                "team": team_name(leaver.team_id),
            }
            for leaver in result.deactivations
        ],
        "teams_added": [
            {
                "code": added.code,
                "name": added.name,
                "parent": result.team_names.get(added.parent_code or "", added.parent_code),
                "manager": person(added.manager_number),
            }
            for added in result.new_teams
        ],
        "teams_changed": teams_changed,
        "teams_reparented": teams_reparented,
        "teams_losing_manager": [
            {
                "id": team.id,
                "code": code,
                "name": result.team_names.get(code) or team_name(team.id),
                "manager": manager,
            }
            for team, code, manager in result.teams_losing_manager
        ],
        "teams_not_in_file": [
            {"id": team.id, "code": team.code, "name": team.name_nl or team.name_en}
            for team in result.teams_not_in_file
        ],
        "refused": [refusal.as_json() for refusal in result.refused],
        "notices": [notice.as_json() for notice in result.notices],
    }
