"""Planning an import: what the lines of a file change in the organisation. Pure: the people
and teams of the app come in as plain data (`Organisation`), the changes go out as a `Plan`,
and `report.py` turns a plan into the JSON the dry run shows and keeps. The service applies a
plan; the same file against the same organisation always gives the same plan, so what the
admin confirmed is what is applied.

The rules, in the order they are checked:

1. A later line with an employee number or an e-mail address already used is refused.
2. A team's name, parent and manager come from its lines; an empty cell says nothing, a line
   that contradicts an earlier one of its team is refused.
3. A team code the app knows is that team; else an app team without a code and with exactly
   this name becomes it (it gets the code); else the team is new and needs a name. A parent
   must be a team of the file or of the app; a team placed under itself, directly or not, is
   refused, and so is every team under a refused one, each with all its lines.
4. A person is found by employee number, else by e-mail address when that account has no
   employee number yet (it gets one). An address another account keeps is refused.
5. Active accounts with an employee number (or from the import) that no line names are
   deactivated, except the admin's own. Someone whose line is refused stays as they are.
6. A team's manager is the accepted person its lines name; an employee becomes a manager for
   it. HR staff and admins never manage a team, and a manager who is not among the accepted
   lines leaves the team with its current manager (while they can still do it). A deputy who
   leaves, or becomes the manager, is no longer deputy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from incidents.services.org_import.csvfile import (
    Finding,
    Parsed,
    PersonLine,
    Problem,
    Refusal,
)

# `incidents.models.Role` and `AccountSource` values (a test checks they agree).
EMPLOYEE, MANAGER = "employee", "manager"
NEVER_MANAGE = frozenset({"hr", "admin"})  # roles the import leaves alone
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class PersonNow:
    """An account as the app has it."""

    id: int
    employee_number: str | None
    email: str
    name: str
    role: str
    team_id: int | None
    active: bool
    source: str


@dataclass(frozen=True)
class TeamNow:
    """A team as the app has it; `code` is its external id (the HR system's team code)."""

    id: int
    code: str | None
    name_nl: str
    name_en: str
    parent_id: int | None
    manager_id: int | None
    deputy_id: int | None
    active: bool


@dataclass(frozen=True)
class Organisation:
    """Every account and team of the app, and who runs the import (None: the command line)."""

    people: Sequence[PersonNow]
    teams: Sequence[TeamNow]
    actor_id: int | None = None


@dataclass
class NewTeam:
    code: str
    name: str
    parent_code: str | None
    manager_number: str | None


@dataclass
class TeamUpdate:
    """What changes in an existing team; a field left None does not change."""

    team: TeamNow
    code: str
    adopt: bool = False  # the team gets the code
    name_nl: str | None = None
    name_en: str | None = None
    reactivate: bool = False
    parent_changed: bool = False
    parent_code: str | None = None
    manager_changed: bool = False
    manager_number: str | None = None  # the new manager; None: none
    deputy_cleared: bool = False

    @property
    def any(self) -> bool:
        return bool(
            self.adopt
            or self.name_nl is not None
            or self.name_en is not None
            or self.reactivate
            or self.parent_changed
            or self.manager_changed
            or self.deputy_cleared
        )


@dataclass
class NewPerson:
    line: PersonLine
    role: str


@dataclass
class PersonUpdate:
    """What changes in an existing account: the names of `fields` take the line's values."""

    person: PersonNow
    line: PersonLine
    fields: list[str]  # of employee_number, email, name, team, role, active
    role: str


@dataclass
class Plan:
    """Everything an import changes, in the order it is applied, and what it leaves alone."""

    lines: int
    new_teams: list[NewTeam] = field(default_factory=list)  # a parent before its children
    team_updates: list[TeamUpdate] = field(default_factory=list)
    person_updates: list[PersonUpdate] = field(default_factory=list)  # an address freed first
    new_people: list[NewPerson] = field(default_factory=list)
    deactivations: list[PersonNow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    notices: list[Finding] = field(default_factory=list)
    teams_not_in_file: list[TeamNow] = field(default_factory=list)
    # (team, its code, the name of the manager it loses)
    teams_losing_manager: list[tuple[TeamNow, str, str]] = field(default_factory=list)
    # Names for the report: the teams after the import by code, the people by number.
    team_names: dict[str, str] = field(default_factory=dict)
    people_names: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.lines - len(self.refused)

    @property
    def changes(self) -> int:
        return (
            len(self.new_teams)
            + len(self.team_updates)
            + len(self.person_updates)
            + len(self.new_people)
            + len(self.deactivations)
        )


@dataclass
class _TeamLines:
    """What the lines of one team say about it, and where each was first said."""

    name: str = ""
    name_line: int = 0
    parent: str = ""
    parent_line: int = 0
    manager: str = ""
    manager_line: int = 0


_Node = str | int  # a team of the file by code, or one of the app (not in the file) by id


def plan(parsed: Parsed, org: Organisation) -> Plan:
    """The changes the lines of `parsed` make to `org` (see the module's rules)."""
    planning = _Planning(parsed, org)
    return planning.run()


class _Planning:
    def __init__(self, parsed: Parsed, org: Organisation) -> None:
        self.parsed, self.org = parsed, org
        self.refusals: dict[int, Refusal] = {r.line: r for r in parsed.refused}
        self.teams_by_code = {t.code: t for t in org.teams if t.code}
        self.teams_by_id = {t.id: t for t in org.teams}
        self.people_by_id = {p.id: p for p in org.people}
        self.people_by_number = {p.employee_number: p for p in org.people if p.employee_number}
        self.people_by_email = {p.email: p for p in org.people}
        self.result = Plan(lines=len(parsed.lines) + len(parsed.refused))
        self.waits_for: dict[int, int] = {}  # line -> the line that frees its address first
        self.promoted: set[str] = set()  # employee numbers that become managers
        self.deputy_cleared: set[str] = set()  # team codes whose deputy stops

    def refuse(self, line: PersonLine, *findings: Finding) -> None:
        self.refusals[line.line] = Refusal(
            line.line, line.text, list(findings), line.employee_number
        )

    def run(self) -> Plan:
        lines = self._unique(self.parsed.lines)
        defined, lines = self._team_lines(lines)
        valid, matched = self._team_tree(defined)
        lines = [line for line in lines if line.line not in self.refusals]
        people, lines = self._people(lines)
        leavers = self._leavers()
        managers = self._managers(defined, valid, matched, lines, people, leavers)
        self._person_changes(lines, people, managers, matched)
        self._team_changes(defined, valid, matched, managers)
        result = self.result
        result.deactivations = sorted(leavers.values(), key=lambda p: (p.name.casefold(), p.id))
        result.refused = [self.refusals[number] for number in sorted(self.refusals)]
        in_file = set(defined)
        result.teams_not_in_file = [
            t for t in self.org.teams if t.code and t.code not in in_file and t.active
        ]
        return result

    # 1. Duplicates.

    def _unique(self, lines: Iterable[PersonLine]) -> list[PersonLine]:
        by_number: dict[str, int] = {}
        by_email: dict[str, int] = {}
        kept = []
        for line in lines:
            if line.employee_number in by_number:
                first = by_number[line.employee_number]
                self.refuse(line, Finding(Problem.DUPLICATE_EMPLOYEE_NUMBER, {"line": first}))
            elif line.email in by_email:
                self.refuse(line, Finding(Problem.DUPLICATE_EMAIL, {"line": by_email[line.email]}))
            else:
                by_number[line.employee_number] = by_email[line.email] = line.line
                kept.append(line)
        return kept

    # 2. What the lines say about their teams.

    def _team_lines(
        self, lines: Iterable[PersonLine]
    ) -> tuple[dict[str, _TeamLines], list[PersonLine]]:
        defined: dict[str, _TeamLines] = {}
        kept = []
        for line in lines:
            team = defined.get(line.team_code) or _TeamLines()
            code = line.team_code
            findings = []
            if line.team_name and team.name and line.team_name != team.name:
                findings.append(
                    Finding(
                        Problem.TEAM_NAME_CONFLICT,
                        {"team": code, "name": team.name, "line": team.name_line},
                    )
                )
            if line.parent_team_code and team.parent and line.parent_team_code != team.parent:
                findings.append(
                    Finding(
                        Problem.PARENT_CONFLICT,
                        {"team": code, "parent": team.parent, "line": team.parent_line},
                    )
                )
            manager = line.manager_employee_number
            if manager and team.manager and manager != team.manager:
                findings.append(
                    Finding(
                        Problem.MANAGER_CONFLICT,
                        {"team": code, "manager": team.manager, "line": team.manager_line},
                    )
                )
            if findings:
                self.refuse(line, *findings)
                continue
            if line.team_name and not team.name:
                team.name, team.name_line = line.team_name, line.line
            if line.parent_team_code and not team.parent:
                team.parent, team.parent_line = line.parent_team_code, line.line
            if manager and not team.manager:
                team.manager, team.manager_line = manager, line.line
            defined[code] = team
            kept.append(line)
        return defined, kept

    # 3. Which teams they are, and the tree.

    def _team_tree(
        self, defined: dict[str, _TeamLines]
    ) -> tuple[set[str], dict[str, TeamNow | None]]:
        without_code: dict[str, list[TeamNow]] = {}
        for existing in self.org.teams:
            if existing.code is None:
                names = {existing.name_nl.strip().casefold(), existing.name_en.strip().casefold()}
                for name in names - {""}:
                    without_code.setdefault(name, []).append(existing)
        matched: dict[str, TeamNow | None] = {}
        adopted: set[int] = set()
        invalid: dict[str, Finding] = {}
        for code, lines in defined.items():
            team = self.teams_by_code.get(code)
            if team is None and lines.name:
                candidates = [
                    t for t in without_code.get(lines.name.casefold(), []) if t.id not in adopted
                ]
                if len(candidates) == 1:
                    team = candidates[0]
                    adopted.add(team.id)
            matched[code] = team
            if team is None and not lines.name:
                invalid[code] = Finding(Problem.TEAM_UNKNOWN, {"team": code})
            elif (
                lines.parent
                and lines.parent not in defined
                and lines.parent not in self.teams_by_code
            ):
                invalid[code] = Finding(
                    Problem.PARENT_UNKNOWN, {"team": code, "parent": lines.parent}
                )
        in_file = {team.id: code for code, team in matched.items() if team is not None}

        def parent_of(node: _Node) -> _Node | None:
            if isinstance(node, str):
                parent = defined[node].parent
                if not parent:
                    return None
                if parent in defined:
                    return parent
                above = self.teams_by_code[parent]
                return in_file.get(above.id, above.id)
            parent_id = self.teams_by_id[node].parent_id
            if parent_id is None or parent_id not in self.teams_by_id:
                return None
            return in_file.get(parent_id, parent_id)

        def label(node: _Node | None) -> str:
            if node is None or isinstance(node, str):
                return node or ""
            team = self.teams_by_id[node]
            return team.code or team.name_nl or team.name_en

        status: dict[_Node, Finding | None] = {}
        for start in defined:
            path: list[_Node] = []
            node: _Node | None = start
            result: Finding | None = None
            while node is not None:
                if node in status:
                    result = status[node]
                    break
                if node in path:
                    cycle = path[path.index(node) :]
                    shown = " > ".join(label(n) for n in [*cycle, node])
                    for member in cycle:
                        status[member] = Finding(
                            Problem.PARENT_CYCLE, {"team": label(member), "cycle": shown}
                        )
                    path = path[: path.index(node)]
                    result = status[node]
                    break
                if isinstance(node, str) and node in invalid:
                    result = status[node] = invalid[node]
                    break
                path.append(node)
                node = parent_of(node)
            for member in reversed(path):
                if result is not None:
                    result = Finding(
                        Problem.PARENT_REFUSED,
                        {"team": label(member), "parent": label(parent_of(member))},
                    )
                status[member] = result
        valid = {code for code in defined if status.get(code) is None}
        for line in self.parsed.lines:
            finding = status.get(line.team_code)
            if finding is not None and line.line not in self.refusals:
                self.refuse(line, finding)
        return valid, matched

    # 4. Who the people are, and their addresses.

    def _people(
        self, lines: list[PersonLine]
    ) -> tuple[dict[int, PersonNow | None], list[PersonLine]]:
        by_number = {line.employee_number: line for line in lines}
        people: dict[int, PersonNow | None] = {}
        waits_for: dict[int, int] = {}  # line -> the line that frees its address first
        for line in lines:
            person = self.people_by_number.get(line.employee_number)
            holder = self.people_by_email.get(line.email)
            if person is None and holder is not None and holder.employee_number is None:
                person = holder  # an account made before the import: it gets the number
            people[line.line] = person
            if holder is None or (person is not None and holder.id == person.id):
                continue
            freeing = by_number.get(holder.employee_number or "")
            if freeing is not None and freeing.email != line.email:
                waits_for[line.line] = freeing.line
            else:
                self.refuse(line, Finding(Problem.EMAIL_TAKEN, {"email": line.email}))
        by_line = {line.line: line for line in lines}
        while True:
            changed = False
            for waiting, freeing_line in waits_for.items():
                if waiting not in self.refusals and freeing_line in self.refusals:
                    self.refuse(
                        by_line[waiting],
                        Finding(Problem.EMAIL_TAKEN, {"email": by_line[waiting].email}),
                    )
                    changed = True
            for start in waits_for:
                seen: list[int] = []
                current: int | None = start
                while current is not None and current not in self.refusals:
                    if current in seen:
                        for member in seen[seen.index(current) :]:
                            email = by_line[member].email
                            self.refuse(
                                by_line[member], Finding(Problem.EMAIL_CYCLE, {"email": email})
                            )
                        changed = True
                        break
                    seen.append(current)
                    current = waits_for.get(current)
            if not changed:
                break
        kept = [line for line in lines if line.line not in self.refusals]
        self.waits_for = {k: v for k, v in waits_for.items() if k not in self.refusals}
        return people, kept

    # 5. Who leaves.

    def _leavers(self) -> dict[int, PersonNow]:
        named = {line.employee_number for line in self.parsed.lines}
        named.update(r.employee_number for r in self.parsed.refused if r.employee_number)
        leavers: dict[int, PersonNow] = {}
        for person in self.org.people:
            if not person.active:
                continue
            if person.employee_number is None and person.source != IMPORT_SOURCE:
                continue  # made by an admin, never imported: not the HR system's to remove
            if person.employee_number is not None and person.employee_number in named:
                continue
            if person.id == self.org.actor_id:
                self.result.notices.append(Finding(Problem.OWN_ACCOUNT_KEPT, {"name": person.name}))
                continue
            leavers[person.id] = person
        return leavers

    # 6. Managers and deputies.

    def _managers(
        self,
        defined: dict[str, _TeamLines],
        valid: set[str],
        matched: dict[str, TeamNow | None],
        lines: list[PersonLine],
        people: dict[int, PersonNow | None],
        leavers: dict[int, PersonNow],
    ) -> dict[str, tuple[bool, str | None]]:
        """Per valid team: (whether its manager changes, the new manager's number or None).
        Also decides who becomes a manager (`self.promoted`)."""
        accepted = {line.employee_number: line for line in lines}
        chosen: dict[str, str | int | None] = {}  # code -> number, None, or a kept user id
        for code in defined:
            if code not in valid:
                continue
            team = matched[code]
            wanted = defined[code].manager
            if not wanted:
                chosen[code] = None
                continue
            line = accepted.get(wanted)
            person = people.get(line.line) if line is not None else None
            if line is None:
                self.result.notices.append(
                    Finding(Problem.MANAGER_NOT_IN_FILE, {"team": code, "manager": wanted})
                )
            elif person is not None and person.role in NEVER_MANAGE:
                self.result.notices.append(
                    Finding(
                        Problem.MANAGER_ROLE,
                        {"team": code, "manager": wanted, "name": person.name},
                    )
                )
            else:
                chosen[code] = wanted
                if person is None or person.role == EMPLOYEE:
                    self.promoted.add(wanted)
                continue
            chosen[code] = team.manager_id if team is not None else None  # kept
        by_id_in_file = {
            person.id: line.employee_number
            for line in lines
            if (person := people.get(line.line)) is not None
        }

        def can_manage(user_id: int) -> bool:
            person = self.people_by_id.get(user_id)
            if person is None or user_id in leavers:
                return False
            number = by_id_in_file.get(user_id)
            if number is not None:
                return person.role == MANAGER or number in self.promoted
            return person.active and person.role == MANAGER

        decided: dict[str, tuple[bool, str | None]] = {}
        for code, choice in chosen.items():
            team = matched[code]
            current = team.manager_id if team is not None else None
            if isinstance(choice, int) and not can_manage(choice):
                choice = None
            if isinstance(choice, int):
                final: int | str | None = choice
                decided[code] = (False, None)
            elif choice is None:
                final = None
                decided[code] = (current is not None, None)
            else:
                line = accepted[choice]
                person = people.get(line.line)
                final = person.id if person is not None else choice
                decided[code] = (final != current, choice)
            deputy = team.deputy_id if team is not None else None
            if deputy is not None and (deputy in leavers or deputy == final):
                self.deputy_cleared.add(code)
            if team is not None and current is not None and final is None:
                manager = self.people_by_id.get(current)
                if manager is not None and manager.active:
                    self.result.teams_losing_manager.append((team, code, manager.name))
        # Teams the file does not set the manager of, whose manager leaves.
        set_here = {team.id for code in chosen if (team := matched[code]) is not None}
        for team in self.org.teams:
            if team.id in set_here or not team.active or team.manager_id not in leavers:
                continue
            manager = leavers[team.manager_id]
            self.result.teams_losing_manager.append((team, team.code or "", manager.name))
        return decided

    # People's changes.

    def _person_changes(
        self,
        lines: list[PersonLine],
        people: dict[int, PersonNow | None],
        managers: dict[str, tuple[bool, str | None]],
        matched: dict[str, TeamNow | None],
    ) -> None:
        updates: dict[int, PersonUpdate] = {}
        for line in lines:
            person = people[line.line]
            self.result.people_names[line.employee_number] = line.name
            if person is None:
                role = MANAGER if line.employee_number in self.promoted else EMPLOYEE
                self.result.new_people.append(NewPerson(line, role))
                continue
            role = MANAGER if line.employee_number in self.promoted else person.role
            team = matched.get(line.team_code)
            fields = [
                name
                for name, differs in (
                    ("employee_number", person.employee_number != line.employee_number),
                    ("email", person.email != line.email),
                    ("name", person.name != line.name),
                    ("team", team is None or person.team_id != team.id),
                    ("role", role != person.role),
                    ("active", not person.active),
                )
                if differs
            ]
            if fields:
                updates[line.line] = PersonUpdate(person, line, fields, role)
        # Someone taking an address another person gives up comes after that person.
        ordered: list[PersonUpdate] = []
        placed: set[int] = set()
        for number in updates:
            chain = []
            current: int | None = number
            while current is not None and current not in placed and current in updates:
                chain.append(current)
                placed.add(current)
                current = self.waits_for.get(current)
            ordered.extend(updates[n] for n in reversed(chain))
        self.result.person_updates = ordered

    # Teams' changes.

    def _team_changes(
        self,
        defined: dict[str, _TeamLines],
        valid: set[str],
        matched: dict[str, TeamNow | None],
        managers: dict[str, tuple[bool, str | None]],
    ) -> None:
        names = self.result.team_names
        for existing in self.org.teams:
            if existing.code:
                names[existing.code] = existing.name_nl or existing.name_en
        new: dict[str, NewTeam] = {}
        for code in defined:
            if code not in valid:
                continue
            lines, team = defined[code], matched[code]
            changed, manager = managers[code]
            if team is None:
                names[code] = lines.name
                new[code] = NewTeam(code, lines.name, lines.parent or None, manager)
                continue
            update = TeamUpdate(team, code, adopt=team.code is None)
            if lines.name and lines.name != team.name_nl:
                update.name_nl = lines.name
                if team.name_en in ("", team.name_nl):
                    update.name_en = lines.name
            elif lines.name and team.name_en == "":
                update.name_en = lines.name
            names[code] = update.name_nl or team.name_nl or team.name_en
            update.reactivate = not team.active
            target = self._parent_target(lines.parent, defined, matched)
            if target != team.parent_id:
                update.parent_changed, update.parent_code = True, lines.parent or None
            update.manager_changed, update.manager_number = changed, manager
            update.deputy_cleared = code in self.deputy_cleared
            if update.any:
                self.result.team_updates.append(update)
        # New teams: parents first.
        ordered: list[NewTeam] = []
        placed: set[str] = set()
        for code in new:
            chain = []
            current: str | None = code
            while current is not None and current in new and current not in placed:
                chain.append(current)
                placed.add(current)
                current = new[current].parent_code
            ordered.extend(new[c] for c in reversed(chain))
        self.result.new_teams = ordered

    def _parent_target(
        self, parent: str, defined: dict[str, _TeamLines], matched: dict[str, TeamNow | None]
    ) -> int | str | None:
        """The id of the team `parent` names, the code of a new one, or None for none."""
        if not parent:
            return None
        if parent in defined:
            team = matched[parent]
            return team.id if team is not None else parent
        return self.teams_by_code[parent].id
