"""Pure tests of the HR import: reading the CSV export and planning its changes. No app, no
database: the organisation comes in as plain data.

Storing, the dry-run page, the confirmation and the hand-over of steps are tested in
tests/web/test_org_import.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from incidents.models import AccountSource, Role
from incidents.services.accounts import normalise_email
from incidents.services.org_import import csvfile, planner, report
from incidents.services.org_import.csvfile import (
    FIELDS,
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    Finding,
    Parsed,
    Problem,
    UnusableFile,
)
from incidents.services.org_import.planner import Organisation, PersonNow, Plan, TeamNow

COLUMNS = {name: name for name in FIELDS}
HEADER = ",".join(FIELDS)
P = Problem


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def read(text: str, columns: dict[str, str] = COLUMNS, test_domains: bool = True) -> Parsed:
    return csvfile.parse(csvfile.split(text, columns), allow_test_domains=test_domains)


def person(
    id: int,
    number: str | None,
    email: str,
    name: str = "",
    role: str = "employee",
    team: int | None = None,
    active: bool = True,
    source: str = "import",
) -> PersonNow:
    return PersonNow(id, number, email, name or f"Person {id}", role, team, active, source)


def team(
    id: int,
    code: str | None,
    name: str = "",
    parent: int | None = None,
    manager: int | None = None,
    deputy: int | None = None,
    active: bool = True,
    name_en: str | None = None,
) -> TeamNow:
    name = name or f"Team {id}"
    return TeamNow(
        id, code, name, name if name_en is None else name_en, parent, manager, deputy, active
    )


def plan_of(
    text: str,
    people: list[PersonNow] | None = None,
    teams: list[TeamNow] | None = None,
    actor: int | None = None,
) -> Plan:
    return planner.plan(read(text), Organisation(people or [], teams or [], actor))


def refused(result: Plan) -> dict[int, list[str]]:
    return {r.line: [f.problem.value for f in r.findings] for r in result.refused}


def summary(result: Plan) -> dict[str, Any]:
    """What a plan does, in a form the table below can state."""
    return {
        "refused": refused(result),
        "added": {p.line.employee_number: p.role for p in result.new_people},
        "updated": {u.line.employee_number: u.fields for u in result.person_updates},
        "deactivated": [p.id for p in result.deactivations],
        "new_teams": [(t.code, t.parent_code, t.manager_number) for t in result.new_teams],
        "team_updates": {u.code: _team_change(u) for u in result.team_updates},
        "notices": [n.problem.value for n in result.notices],
        "losing": [code for _team, code, _name in result.teams_losing_manager],
    }


def _team_change(update: planner.TeamUpdate) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    if update.adopt:
        shown["adopt"] = True
    if update.name_nl is not None:
        shown["name"] = update.name_nl
    if update.reactivate:
        shown["active"] = True
    if update.parent_changed:
        shown["parent"] = update.parent_code
    if update.manager_changed:
        shown["manager"] = update.manager_number
    if update.deputy_cleared:
        shown["deputy"] = None
    return shown


# Reading the file.


def test_the_modules_load_without_flask_the_database_or_the_app() -> None:
    """The parser, the planner and the report, loaded on their own in a fresh interpreter."""
    code = (
        "import importlib.util, sys\n"
        "def load(name, path):\n"
        "    spec = importlib.util.spec_from_file_location(name, path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    sys.modules[name] = module\n"
        "    spec.loader.exec_module(module)\n"
        f"load('incidents.services.org_import.csvfile', {csvfile.__file__!r})\n"
        f"load('incidents.services.org_import.planner', {planner.__file__!r})\n"
        f"load('incidents.services.org_import.report', {report.__file__!r})\n"
        "ours = {f'incidents.services.org_import.{name}' for name in ('csvfile', 'planner', 'report')}\n"
        "loaded = {n for n in sys.modules if n.split('.')[0] in "
        "{'flask', 'flask_babel', 'sqlalchemy', 'incidents'}} - ours\n"
        "print(sorted(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_role_and_source_names_are_the_models() -> None:
    assert Role.EMPLOYEE.value == planner.EMPLOYEE
    assert Role.MANAGER.value == planner.MANAGER
    assert {Role(role) for role in planner.NEVER_MANAGE} == {Role.HR, Role.ADMIN}
    assert AccountSource.IMPORT.value == planner.IMPORT_SOURCE
    for address in (" Anna@Example.NL ", "b@c.d"):
        assert csvfile.normalise_email(address) == normalise_email(address)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (HEADER, "1,a@x.nl,Anna,T,Team,,1"),
        (HEADER.replace(",", ";"), "1;a@x.nl;Anna;T;Team;;1"),
        (HEADER.replace(",", "\t"), "1\ta@x.nl\tAnna\tT\tTeam\t\t1"),
        # Other columns are ignored, the order is free, headers are matched without case.
        (
            "Extra,MANAGER_EMPLOYEE_NUMBER,name ,email,employee_number,team_code,team_name,"
            "parent_team_code",
            "x,1,Anna,a@x.nl,1,T,Team,",
        ),
        ("\ufeff" + HEADER, '1,"a@x.nl",Anna,T,"Team",,1'),
    ],
    ids=["comma", "semicolon", "tab", "other-columns", "bom-and-quotes"],
)
def test_the_header_may_vary(header: str, row: str) -> None:
    bom = "\ufeff" if header.startswith("\ufeff") else ""  # a BOM comes first, if at all
    parsed = read(f"{bom}\n{header.removeprefix(bom)}\r\n{row}\r\n")
    assert parsed.refused == []
    (line,) = parsed.lines
    assert (line.line, line.employee_number, line.email, line.name) == (3, "1", "a@x.nl", "Anna")
    assert (line.team_code, line.team_name, line.manager_employee_number) == ("T", "Team", "1")


def test_the_headers_come_from_the_setting() -> None:
    columns = dict(
        zip(
            FIELDS,
            ["Personeelsnummer", "E-mail", "Naam", "Afdelingscode", "Afdeling", "Boven", "Chef"],
            strict=True,
        )
    )
    text = "Naam;E-mail;Personeelsnummer;Afdelingscode;Afdeling;Boven;Chef\nAnna;a@x.nl;7;T;Tt;;7\n"
    (line,) = read(text, columns).lines
    assert (line.employee_number, line.name, line.team_name) == ("7", "Anna", "Tt")
    with pytest.raises(UnusableFile) as raised:
        read(csv("1,a@x.nl,Anna,T,Team,,1"), columns)
    assert raised.value.finding.problem is P.NO_HEADER
    assert str(raised.value.finding.values["missing"]).startswith("Personeelsnummer, E-mail")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", P.FILE_EMPTY),
        ("\n  \n", P.FILE_EMPTY),
        ("employee_number,email,name\n1,a@x.nl,A\n", P.NO_HEADER),
        (HEADER + "\n", P.NO_LINES),
        (HEADER + "\n\n,,,,,,\n", P.NO_LINES),
        (HEADER + "\n" + "\n" * MAX_LINES, P.TOO_MANY_LINES),
        ("x" * (MAX_UPLOAD_BYTES + 1), P.FILE_TOO_LARGE),
    ],
    ids=["empty", "blank", "header-incomplete", "no-lines", "only-empty", "long", "large"],
)
def test_a_file_that_cannot_be_used(text: str, problem: Problem) -> None:
    with pytest.raises(UnusableFile) as raised:
        read(text)
    assert raised.value.finding.problem is problem


def test_the_setting_must_name_every_field_once() -> None:
    with pytest.raises(ValueError, match="lacks team_code"):
        csvfile.split(HEADER, {**COLUMNS, "team_code": " "})
    with pytest.raises(ValueError, match="same header"):
        csvfile.split(HEADER, {**COLUMNS, "team_name": "TEAM_CODE"})


@pytest.mark.parametrize(
    ("row", "findings"),
    [
        (",a@x.nl,Anna,T,Team,,", [Finding(P.FIELD_MISSING, {"column": "employee_number"})]),
        (
            "1,,,,,,",
            [
                Finding(P.FIELD_MISSING, {"column": "email"}),
                Finding(P.FIELD_MISSING, {"column": "name"}),
                Finding(P.FIELD_MISSING, {"column": "team_code"}),
            ],
        ),
        ("1,anna,Anna,T,Team,,", [Finding(P.BAD_EMAIL, {"value": "anna"})]),
        ("1,a b@x.nl,Anna,T,,,", [Finding(P.BAD_EMAIL, {"value": "a b@x.nl"})]),
        ("1,a@x.nl," + "n" * 121 + ",T,,,", [Finding(P.TOO_LONG, {"column": "name", "max": 120})]),
        ("1,a@x.nl,Anna,T", [Finding(P.WRONG_NUMBER_OF_VALUES, {"count": 4, "expected": 7})]),
        ("1,a@x.nl,Anna,T,,,,x", [Finding(P.WRONG_NUMBER_OF_VALUES, {"count": 8, "expected": 7})]),
        ('1,"a@x.nl"x,Anna,T,,,', [Finding(P.UNREADABLE_LINE)]),
    ],
    ids=["no-number", "only-number", "no-at", "space", "long-name", "short", "long", "quote"],
)
def test_a_line_that_is_wrong_by_itself(row: str, findings: list[Finding]) -> None:
    parsed = read(csv("9,ok@x.nl,Ok,T,Team,,", row))
    assert [line.employee_number for line in parsed.lines] == ["9"]
    (refusal,) = parsed.refused
    assert (refusal.line, refusal.text, refusal.findings) == (3, row, findings)


def test_cells_are_cleaned() -> None:
    parsed = read(csv(" 1 , Anna.Jansen@X.NL ,An\x00na\x07,T,Team,,,,"))
    (line,) = parsed.lines
    assert (line.employee_number, line.email, line.name) == ("1", "anna.jansen@x.nl", "Anna")


def test_reserved_domains_only_in_the_demo() -> None:
    text = csv("1,a@example.test,Anna,T,Team,,")
    assert read(text, test_domains=True).lines
    assert read(text, test_domains=False).refused[0].findings[0].problem is P.BAD_EMAIL


def test_a_refused_line_keeps_the_employee_number_it_names() -> None:
    parsed = read(csv("12,bad,Anna,T,,,", "," + "a" * 10 + ",x,T,,,", "9" * 65 + ",bad,x,T,,,"))
    assert [r.employee_number for r in parsed.refused] == ["12", None, None]


# Planning: one table, each case a file against an organisation and what the plan does.

H = "employee_number,email,name,team_code,team_name,parent_team_code,manager_employee_number"
EMPTY: dict[str, Any] = {"refused": {}, "deactivated": [], "notices": []}

CASES: list[tuple[str, list[str], list[PersonNow], list[TeamNow], int | None, dict[str, Any]]] = [
    (
        "a new organisation",
        [
            "1,boss@x.nl,Boss,D,Department,,1",
            "2,m@x.nl,Manager,T1,Team one,D,2",
            "3,e@x.nl,Employee,T1,,D,2",
            "4,f@x.nl,Other,T2,Team two,D,",
        ],
        [],
        [],
        None,
        {
            **EMPTY,
            "added": {"1": "manager", "2": "manager", "3": "employee", "4": "employee"},
            "new_teams": [("D", None, "1"), ("T1", "D", "2"), ("T2", "D", None)],
            "updated": {},
            "team_updates": {},
        },
    ),
    (
        "children before parents in the file: parents are made first",
        ["1,a@x.nl,A,T1,Team,D,", "2,b@x.nl,B,D,Department,TOP,", "3,c@x.nl,C,TOP,Top,,"],
        [],
        [],
        None,
        {"new_teams": [("TOP", None, None), ("D", "TOP", None), ("T1", "D", None)]},
    ),
    (
        "duplicates: the first line is used",
        ["1,a@x.nl,A,T,Team,,", "1,b@x.nl,B,T,,,", "2,A@X.NL,C,T,,,"],
        [],
        [],
        None,
        {
            "refused": {3: ["duplicate_employee_number"], 4: ["duplicate_email"]},
            "added": {"1": "employee"},
        },
    ),
    (
        "a team's data must agree; empty cells say nothing",
        [
            "1,a@x.nl,A,T,Team,D,1",
            "2,b@x.nl,B,T,,,",
            "3,c@x.nl,C,T,Other name,D,1",
            "4,d@x.nl,D,T,Team,E,1",
            "5,e@x.nl,E,T,Team,D,2",
            "6,f@x.nl,F,D,Department,,",
            "7,g@x.nl,G,E,Else,,",
        ],
        [],
        [],
        None,
        {
            "refused": {
                4: ["team_name_conflict"],
                5: ["parent_conflict"],
                6: ["manager_conflict"],
            },
            "added": {"1": "manager", "2": "employee", "6": "employee", "7": "employee"},
        },
    ),
    (
        "a new team needs a name; a known one does not",
        ["1,a@x.nl,A,NEW,,,", "2,b@x.nl,B,OLD,,,"],
        [],
        [team(5, "OLD", "Old team")],
        None,
        {"refused": {2: ["team_unknown"]}, "added": {"2": "employee"}, "team_updates": {}},
    ),
    (
        "an unknown parent, a cycle, and a team under the cycle",
        [
            "1,a@x.nl,A,T,Team,NOWHERE,",
            "2,b@x.nl,B,X,X team,Y,",
            "3,c@x.nl,C,Y,Y team,X,",
            "4,d@x.nl,D,Z,Z team,X,",
            "5,e@x.nl,E,SELF,Self,SELF,",
            "6,f@x.nl,F,OK,Fine,KNOWN,",
        ],
        [],
        [team(9, "KNOWN", "Known in the app")],
        None,
        {
            "refused": {
                2: ["parent_unknown"],
                3: ["parent_cycle"],
                4: ["parent_cycle"],
                5: ["parent_refused"],
                6: ["parent_cycle"],
            },
            "new_teams": [("OK", "KNOWN", None)],
        },
    ),
    (
        "a cycle through a team of the app that the file does not name",
        ["1,a@x.nl,A,T,Team,APP,"],
        [],
        [team(1, "T", "Team"), team(2, "APP", "App team", parent=1)],
        None,
        {"refused": {2: ["parent_cycle"]}, "deactivated": []},
    ),
    (
        "leavers: only accounts with an employee number or from the import",
        ["1,a@x.nl,A,T,Team,,"],
        [
            person(10, "1", "a@x.nl", name="A", team=1),
            person(11, "2", "gone@x.nl", team=1),
            person(12, None, "admin@x.nl", role="admin", source="admin"),
            person(13, "3", "admin2@x.nl", role="admin", source="admin"),
            person(14, None, "scim@x.nl", source="import"),
            person(15, "4", "before@x.nl", active=False),
        ],
        [team(1, "T", "Team")],
        None,
        {**EMPTY, "deactivated": [11, 13, 14], "updated": {}, "added": {}},
    ),
    (
        "the admin's own account and the people on refused lines stay",
        ["1,a@x.nl,A,T,Team,,", "2,bad,B,T,,,", "3,c@x.nl,C,T,Another,,"],
        [
            person(10, "1", "a@x.nl", team=1),
            person(11, "2", "b@x.nl", team=1),
            person(12, "3", "c@x.nl", team=1),
            person(13, "4", "me@x.nl", role="admin"),
        ],
        [team(1, "T", "Team")],
        13,
        {
            "refused": {3: ["bad_email"], 4: ["team_name_conflict"]},
            "deactivated": [],
            "notices": ["own_account_kept"],
        },
    ),
    (
        "an account made by an admin gets its number; a team by its name gets its code",
        ["1,a@x.nl,Anna,T,Income,,"],
        [person(10, None, "a@x.nl", name="Anna", role="hr", source="admin", team=1)],
        [team(1, None, "Income", name_en="Income"), team(2, None, "Other")],
        None,
        {
            **EMPTY,
            "added": {},
            "updated": {"1": ["employee_number"]},
            "team_updates": {"T": {"adopt": True}},
            "new_teams": [],
        },
    ),
    (
        "two app teams with the name: a new team",
        ["1,a@x.nl,A,T,Twin,,"],
        [],
        [team(1, None, "Twin"), team(2, None, "twin")],
        None,
        {"new_teams": [("T", None, None)]},
    ),
    (
        "an address another account keeps is refused; one given up in the same file is taken",
        ["1,b@x.nl,A,T,Team,,", "2,new-b@x.nl,B,T,,,", "3,c@x.nl,C,T,,,"],
        [
            person(10, "1", "a@x.nl", name="A", team=1),
            person(11, "2", "b@x.nl", name="B", team=1),
            person(12, "9", "c@x.nl", team=1, active=False),
        ],
        [team(1, "T", "Team")],
        None,
        {
            "refused": {4: ["email_taken"]},
            "updated": {"2": ["email"], "1": ["email"]},  # B gives up the address first
            "added": {},
        },
    ),
    (
        "addresses swapped in a circle are refused, and whoever waited for them",
        ["1,b@x.nl,A,T,Team,,", "2,a@x.nl,B,T,,,", "3,old-c@x.nl,C,T,,,"],
        [
            person(10, "1", "a@x.nl", name="A", team=1),
            person(11, "2", "b@x.nl", name="B", team=1),
            person(12, "3", "c@x.nl", name="C", team=1),
        ],
        [team(1, "T", "Team")],
        None,
        {"refused": {2: ["email_cycle"], 3: ["email_cycle"]}, "updated": {"3": ["email"]}},
    ),
    (
        "movers, a new parent, a new manager, a renamed team, a reactivation",
        [
            "1,a@x.nl,A,T2,Team two,D,2",
            "2,b@x.nl,B,T2,,D,2",
            "3,c@x.nl,C,T1,Team one (new),,3",
            "4,d@x.nl,D,D,Department,,",
        ],
        [
            person(10, "1", "a@x.nl", name="A", team=1, role="manager"),
            person(11, "2", "b@x.nl", name="B", team=1),
            person(12, "3", "c@x.nl", name="C", team=1, active=False),
            person(13, "4", "d@x.nl", name="D", team=3),
        ],
        [
            team(1, "T1", "Team one", parent=3, manager=10),
            team(2, "T2", "Team two", manager=10, active=False),
            team(3, "D", "Department"),
        ],
        None,
        {
            **EMPTY,
            "updated": {"1": ["team"], "2": ["team", "role"], "3": ["role", "active"]},
            "team_updates": {
                "T2": {"active": True, "parent": "D", "manager": "2"},
                "T1": {"name": "Team one (new)", "parent": None, "manager": "3"},
            },
            "losing": [],
        },
    ),
    (
        "a team whose lines name no manager loses its manager",
        ["1,a@x.nl,A,T,Team,,", "2,b@x.nl,B,U,Other,,"],
        [person(10, "1", "a@x.nl", name="A", team=1), person(11, "2", "b@x.nl", name="B", team=2)],
        [team(1, "T", "Team", manager=11), team(2, "U", "Other")],
        None,
        {"team_updates": {"T": {"manager": None}}, "losing": ["T"], "updated": {}},
    ),
    (
        "a manager who is HR, or not among the accepted lines: the team keeps its manager",
        ["1,a@x.nl,A,T,Team,,1", "2,b@x.nl,B,U,Other,,99", "3,c@x.nl,C,V,Vee,,4", "4,bad,D,V,,,"],
        [
            person(10, "1", "a@x.nl", name="A", team=1, role="hr"),
            person(11, "2", "b@x.nl", name="B", team=2),
            person(12, "5", "m@x.nl", name="M", role="manager"),
        ],
        [team(1, "T", "Team", manager=12), team(2, "U", "Other"), team(3, "V", "Vee", manager=12)],
        None,
        {
            "refused": {5: ["bad_email"]},
            "notices": ["manager_role", "manager_not_in_file", "manager_not_in_file"],
            # M leaves (not in the file): the teams that kept M lose their manager.
            "deactivated": [12],
            "team_updates": {"T": {"manager": None}, "V": {"manager": None}},
            "losing": ["T", "V"],
            "added": {"3": "employee"},
        },
    ),
    (
        "a deputy who leaves, or becomes the manager, is no longer deputy",
        ["1,a@x.nl,A,T,Team,,1", "2,b@x.nl,B,U,Other,,2"],
        [
            person(10, "1", "a@x.nl", name="A", team=1, role="manager"),
            person(11, "2", "b@x.nl", name="B", team=2, role="manager"),
            person(12, "3", "c@x.nl", name="C", role="manager"),
        ],
        [team(1, "T", "Team", manager=11, deputy=10), team(2, "U", "Other", deputy=12)],
        None,
        {
            "team_updates": {
                "T": {"manager": "1", "deputy": None},
                "U": {"manager": "2", "deputy": None},
            },
            "deactivated": [12],
        },
    ),
    (
        "a team the file does not name whose manager leaves",
        ["1,a@x.nl,A,T,Team,,"],
        [person(10, "1", "a@x.nl", name="A", team=1), person(11, "2", "m@x.nl", role="manager")],
        [team(1, "T", "Team"), team(2, None, "Typed in", manager=11), team(3, "OLD", "Old")],
        None,
        {"deactivated": [11], "losing": [""], "team_updates": {}},
    ),
    (
        "the same file against the organisation it made changes nothing",
        ["1,boss@x.nl,Boss,D,Department,,1", "2,m@x.nl,Manager,T1,Team one,D,2"],
        [
            person(10, "1", "boss@x.nl", name="Boss", team=1, role="manager"),
            person(11, "2", "m@x.nl", name="Manager", team=2, role="manager"),
        ],
        [team(1, "D", "Department", manager=10), team(2, "T1", "Team one", parent=1, manager=11)],
        None,
        {**EMPTY, "added": {}, "updated": {}, "new_teams": [], "team_updates": {}, "losing": []},
    ),
]


@pytest.mark.parametrize(
    ("rows", "people", "teams", "actor", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan(
    rows: list[str],
    people: list[PersonNow],
    teams: list[TeamNow],
    actor: int | None,
    expected: dict[str, Any],
) -> None:
    result = plan_of(csv(*rows, header=H), people, teams, actor)
    got = summary(result)
    assert {key: got[key] for key in expected} == expected


def test_the_report_is_json_and_the_same_for_the_same_input() -> None:
    text = csv("1,a@x.nl,A,T,Team,,1", "2,b@x.nl,B,U,Other,T,1", "3,bad,C,T,,,", header=H)
    org = Organisation([person(10, "9", "z@x.nl", name="Z")], [team(1, "U", "Old name")])
    first = report.of(planner.plan(read(text), org), org)
    second = report.of(planner.plan(read(text), org), org)
    assert first == second == json.loads(json.dumps(first))
    assert first["counts"] == {"lines": 3, "accepted": 2, "refused": 1, "changes": 5}
    assert [e["number"] for e in first["people_added"]] == ["1", "2"]
    assert first["teams_changed"][0]["changes"] == [
        {"field": "name", "old": "Old name", "new": "Other"},
        {"field": "name_en", "old": "Old name", "new": "Other"},
        {"field": "manager", "old": None, "new": "A (1)"},
    ]
    assert first["teams_reparented"] == [
        {"id": 1, "code": "U", "name": "Other", "from": None, "to": "Team"}
    ]
    assert first["people_deactivated"][0]["id"] == 10
    assert first["refused"] == [
        {
            "line": 4,
            "text": "3,bad,C,T,,,",
            "reasons": [{"problem": "bad_email", "values": {"value": "bad"}}],
        }
    ]


def test_a_translated_english_name_is_kept() -> None:
    """The file names teams in Dutch; a team's English name that an admin typed stays."""
    text = csv("1,a@x.nl,A,T,Inkomen,,", header=H)
    result = plan_of(text, [], [team(1, "T", "Werk", name_en="Income")])
    (update,) = result.team_updates
    assert (update.name_nl, update.name_en) == ("Inkomen", None)


def test_fifteen_thousand_people_plan_quickly_enough_to_be_pure() -> None:
    """Not a timing test (see bench/org_import.py): the plan is linear, one pass per rule."""
    rows = [f"{n},p{n}@x.nl,P {n},T{n % 600},Team {n % 600},,{n % 600}" for n in range(15_000)]
    result = plan_of(csv(*rows, header=H))
    assert len(result.new_people) == 15_000 and len(result.new_teams) == 600
    assert sum(p.role == "manager" for p in result.new_people) == 600
