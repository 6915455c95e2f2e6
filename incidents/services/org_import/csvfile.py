"""Reading the HR system's CSV export of people and teams: pure, no Flask, no database.

One line per person: employee number, e-mail address, name, team code, team name, the code of
the team's parent and the employee number of the team's manager. Which header holds which field
is the organisation's choice (the IMPORT_COLUMNS setting), so the caller passes the headers.

`split` checks the file as a whole and finds its header; `parse` reads the lines below it into
`PersonLine`s, and refuses the lines that are wrong by themselves (a missing field, a bad e-mail
address). What the lines say together (duplicates, the team tree, the people already in the app)
is the planner's (`planner.py`). What is wrong comes back as `Finding`s, a `Problem` and the
values its message names, which the service puts in the user's language.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

MAX_UPLOAD_BYTES = 16 * 1024 * 1024
MAX_LINES = 100_000
SEPARATORS = (",", ";", "\t")
# The refused line as kept in the report: enough to recognise it.
LINE_KEPT = 300

# Our fields, in the order the import documents them.
FIELDS = (
    "employee_number",
    "email",
    "name",
    "team_code",
    "team_name",
    "parent_team_code",
    "manager_employee_number",
)
REQUIRED = ("employee_number", "email", "name", "team_code")
# The longest value the app stores (the columns of `user` and `team`).
MAX_LENGTH = {
    "employee_number": 64,
    "email": 254,
    "name": 120,
    "team_code": 255,
    "team_name": 120,
    "parent_team_code": 255,
    "manager_employee_number": 64,
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Control characters never belong in a cell (NUL even breaks PostgreSQL); a tab may separate.
_CONTROL = dict.fromkeys(range(32))


class Problem(enum.Enum):
    """What can be wrong with a file or a line; the values a `Finding` carries are noted."""

    # The file as a whole: nothing is read.
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_LINES = "too_many_lines"
    FILE_EMPTY = "file_empty"
    NO_HEADER = "no_header"  # missing: the headers not found, comma-separated
    NO_LINES = "no_lines"
    # One line, by itself (this module).
    UNREADABLE_LINE = "unreadable_line"
    WRONG_NUMBER_OF_VALUES = "wrong_number_of_values"  # count, expected
    FIELD_MISSING = "field_missing"  # column: its header
    TOO_LONG = "too_long"  # column, max
    BAD_EMAIL = "bad_email"  # value
    # One line, against the others and the app (the planner).
    DUPLICATE_EMPLOYEE_NUMBER = "duplicate_employee_number"  # line: the one that is used
    DUPLICATE_EMAIL = "duplicate_email"  # line
    TEAM_NAME_CONFLICT = "team_name_conflict"  # team, name, line
    PARENT_CONFLICT = "parent_conflict"  # team, parent, line
    MANAGER_CONFLICT = "manager_conflict"  # team, manager, line
    TEAM_UNKNOWN = "team_unknown"  # team
    PARENT_UNKNOWN = "parent_unknown"  # team, parent
    PARENT_CYCLE = "parent_cycle"  # team, cycle: "A > B > A"
    PARENT_REFUSED = "parent_refused"  # team, parent
    EMAIL_TAKEN = "email_taken"  # email
    EMAIL_CYCLE = "email_cycle"  # email
    # Not a line: what the import leaves as it is, and why (the planner's notices).
    MANAGER_NOT_IN_FILE = "manager_not_in_file"  # team, manager
    MANAGER_ROLE = "manager_role"  # team, manager, name
    OWN_ACCOUNT_KEPT = "own_account_kept"  # name


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or left alone), with the values its message names (see `Problem`)."""

    problem: Problem
    values: Mapping[str, str | int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"problem": self.problem.value, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Finding:
        values = data.get("values")
        return cls(Problem(data["problem"]), dict(values) if isinstance(values, dict) else {})


class UnusableFile(Exception):
    """The file as a whole cannot be used; nothing of it is read."""

    def __init__(self, problem: Problem, **values: str | int) -> None:
        super().__init__(problem.value)
        self.finding = Finding(problem, values)


@dataclass(frozen=True)
class Sheet:
    """A file whose header was read: the separator, where each field is, how many columns the
    header has, and the lines below it as (line number, line)."""

    separator: str
    positions: Mapping[str, int]
    width: int
    headers: Mapping[str, str]
    rows: list[tuple[int, str]]


@dataclass(frozen=True)
class PersonLine:
    """One line that is right by itself: every value stripped, the e-mail address lowercase,
    optional values empty when not given."""

    line: int
    text: str
    employee_number: str
    email: str
    name: str
    team_code: str
    team_name: str
    parent_team_code: str
    manager_employee_number: str


@dataclass(frozen=True)
class Refusal:
    """A line that is not used, why, and the employee number it names (if it names one): that
    person is then left as they are, never deactivated for a typo."""

    line: int
    text: str
    findings: list[Finding]
    employee_number: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "text": self.text[:LINE_KEPT],
            "reasons": [finding.as_json() for finding in self.findings],
        }


@dataclass
class Parsed:
    """The lines below the header: those right by themselves, and the refused ones."""

    lines: list[PersonLine] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def normalise_email(email: str) -> str:
    """As `services.accounts.normalise_email`: compared case-insensitively, without spaces."""
    return email.strip().lower()


def check_columns(columns: Mapping[str, str]) -> None:
    """Raise ValueError unless every field has a header and no two fields share one."""
    missing = [name for name in FIELDS if not str(columns.get(name, "")).strip()]
    if missing:
        raise ValueError(f"IMPORT_COLUMNS lacks {', '.join(missing)}")
    headers = [str(columns[name]).strip().casefold() for name in FIELDS]
    if len(set(headers)) != len(headers):
        raise ValueError("IMPORT_COLUMNS gives two fields the same header")


def split(text: str, columns: Mapping[str, str]) -> Sheet:
    """The header and the lines of a file. `columns` maps each field to its header (compared
    without case and surrounding spaces; other columns are ignored). Raises UnusableFile when
    the file is too large, has too many lines, is empty or its first line lacks a header.
    Empty lines before the header are skipped."""
    check_columns(columns)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_UPLOAD_BYTES:
        raise UnusableFile(Problem.FILE_TOO_LARGE)
    lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line break
    if len(lines) > MAX_LINES:
        raise UnusableFile(Problem.TOO_MANY_LINES)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise UnusableFile(Problem.FILE_EMPTY)
    wanted = {name: str(columns[name]).strip() for name in FIELDS}
    best: tuple[int, str, list[str]] | None = None
    for separator in SEPARATORS:
        try:
            cells = [cell.casefold() for cell in line_values(lines[header_at], separator)]
        except csv.Error:
            continue
        positions = {
            name: cells.index(header.casefold())
            for name, header in wanted.items()
            if header.casefold() in cells
        }
        if len(positions) == len(FIELDS):
            rows = list(enumerate(lines[header_at + 1 :], start=header_at + 2))
            return Sheet(separator, positions, len(cells), wanted, rows)
        if best is None or len(positions) > best[0]:
            best = len(positions), separator, [h for n, h in wanted.items() if n not in positions]
    missing = best[2] if best else list(wanted.values())
    raise UnusableFile(Problem.NO_HEADER, missing=", ".join(missing))


def parse(sheet: Sheet, *, allow_test_domains: bool = False) -> Parsed:
    """The lines below the header, each either a `PersonLine` or a `Refusal`. Empty lines (also
    `;;;`) are no data. `allow_test_domains`: accept addresses in reserved domains such as
    `.test` (the demo). Raises UnusableFile when there are no lines at all."""
    parsed = Parsed()
    for number, line in sheet.rows:
        if not line.strip():
            continue
        try:
            cells = line_values(line, sheet.separator)
        except csv.Error:
            parsed.refused.append(Refusal(number, line, [Finding(Problem.UNREADABLE_LINE)]))
            continue
        if not any(cells):
            continue
        while len(cells) > sheet.width and not cells[-1]:
            cells.pop()  # spreadsheets write empty cells after the last column
        if len(cells) != sheet.width:
            finding = Finding(
                Problem.WRONG_NUMBER_OF_VALUES, {"count": len(cells), "expected": sheet.width}
            )
            parsed.refused.append(Refusal(number, line, [finding]))
            continue
        values = {name: cells[position] for name, position in sheet.positions.items()}
        findings = check_values(values, sheet.headers, allow_test_domains=allow_test_domains)
        if findings:
            named = values["employee_number"]
            usable = named if 0 < len(named) <= MAX_LENGTH["employee_number"] else None
            parsed.refused.append(Refusal(number, line, findings, usable))
            continue
        parsed.lines.append(
            PersonLine(
                line=number,
                text=line,
                employee_number=values["employee_number"],
                email=normalise_email(values["email"]),
                name=values["name"],
                team_code=values["team_code"],
                team_name=values["team_name"],
                parent_team_code=values["parent_team_code"],
                manager_employee_number=values["manager_employee_number"],
            )
        )
    if not parsed.lines and not parsed.refused:
        raise UnusableFile(Problem.NO_LINES)
    return parsed


def check_values(
    values: Mapping[str, str], headers: Mapping[str, str], *, allow_test_domains: bool
) -> list[Finding]:
    """What is wrong with one line's values by themselves, in the order of the fields."""
    findings: list[Finding] = []
    for name in FIELDS:
        value = values[name]
        if not value:
            if name in REQUIRED:
                findings.append(Finding(Problem.FIELD_MISSING, {"column": headers[name]}))
            continue
        if len(value) > MAX_LENGTH[name]:
            findings.append(
                Finding(Problem.TOO_LONG, {"column": headers[name], "max": MAX_LENGTH[name]})
            )
        elif name == "email" and not is_email(value, allow_test_domains=allow_test_domains):
            findings.append(Finding(Problem.BAD_EMAIL, {"value": value}))
    return findings


def is_email(value: str, *, allow_test_domains: bool = False) -> bool:
    """A syntactically valid address (no network: deliverability is never checked)."""
    try:
        validate_email(value, check_deliverability=False, test_environment=allow_test_domains)
    except EmailNotValidError:
        return False
    return True


def line_values(line: str, separator: str) -> list[str]:
    """The values of one CSV line, stripped of spaces and control characters."""
    cells = next(csv.reader([line], delimiter=separator, strict=True), [])
    return [cell.translate(_CONTROL).strip() for cell in cells]
