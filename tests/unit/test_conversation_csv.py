"""Pure tests of reading a CSV file of client conversation counts: no app, no database.

The upload as a whole (storing, the report page, the messages in the user's language) is
tested in tests/web/test_conversations.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from incidents.models import Channel
from incidents.services.conversations import csvfile
from incidents.services.conversations.csvfile import (
    MAX_COUNT,
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    Finding,
    Lookup,
    Parsed,
    Problem,
    Sheet,
    UnusableFile,
)

MARCH = date(2025, 3, 1)
THIS_MONTH = date(2026, 1, 1)
INCOME, CARE, TWIN, OTHER = 1, 2, 3, 4

LOOKUP = Lookup.of(
    this_month=THIS_MONTH,
    teams=[
        (INCOME, ("Inkomen", "Income")),
        (CARE, ("Zorg", " Care ")),
        (TWIN, ("Tweeling", "Twin")),
        (OTHER, ("Twin", "")),
    ],
    channel_labels=[
        ("Spreekkamer", Channel.INTERVIEW_ROOM),
        ("Telefoon", Channel.PHONE),
        ("Interview room", Channel.INTERVIEW_ROOM),
        ("Phone", Channel.PHONE),
        ("Home visit", Channel.HOME_VISIT),
        ("spreekkamer", Channel.OTHER),  # a later language never overrides an earlier one
        ("Counter", Channel.OTHER),  # a label that is a code: the code wins
    ],
    channels=Channel,
)


def read(text: str, lookup: Lookup = LOOKUP) -> Parsed:
    return csvfile.parse(csvfile.split(text), lookup)


def problems(parsed: Parsed) -> list[tuple[int, list[Finding]]]:
    return [(number, findings) for number, _line, findings in parsed.rejected]


def test_the_module_loads_without_flask_the_database_or_the_app() -> None:
    """Loaded on its own, in a fresh interpreter: nothing but the standard library."""
    path = Path(csvfile.__file__)
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('csvfile', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['csvfile'] = module\n"
        "spec.loader.exec_module(module)\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'flask_babel', 'sqlalchemy', 'incidents'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# Single values.


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2025-03", MARCH),
        (" 2025-3 ", MARCH),
        ("2025-12", date(2025, 12, 1)),
        ("0001-01", date(1, 1, 1)),
        ("0000-01", None),
        ("2025-13", None),
        ("2025-00", None),
        ("2025-003", None),
        ("25-03", None),
        ("2025-03-01", None),
        ("2025/03", None),
        ("march", None),
        ("", None),
        ("٢٠٢٥-٠٣", None),  # Arabic-Indic digits
    ],
)
def test_parse_month(text: str, month: date | None) -> None:
    assert csvfile.parse_month(text) == month


@pytest.mark.parametrize(
    ("month", "text"),
    [(MARCH, "2025-03"), (date(2025, 12, 1), "2025-12"), (date(1, 1, 1), "0001-01")],
)
def test_format_month(month: date, text: str) -> None:
    assert csvfile.format_month(month) == text
    assert csvfile.parse_month(text) == month


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("1200", 1200),
        (" 35 ", 35),
        ("0", 0),
        ("000", 0),
        ("+7", 7),
        ("-3", -3),
        ("10000000", MAX_COUNT),
        ("9" * 5000, 10**12),  # far too large, never converted digit by digit
        ("-" + "9" * 13, -(10**12)),
        ("1.200", None),
        ("1,5", None),
        ("1e3", None),
        ("12 000", None),
        ("0x10", None),
        ("٣", None),  # an Arabic-Indic digit
        ("²", None),
        ("", None),
        ("lots", None),
    ],
)
def test_parse_count(text: str, count: int | None) -> None:
    assert csvfile.parse_count(text) == count


@pytest.mark.parametrize(
    ("month", "finding"),
    [
        (date(2000, 1, 1), None),
        (THIS_MONTH, None),
        (MARCH, None),
        (date(1999, 12, 1), Finding(Problem.MONTH_TOO_EARLY, "2000-01")),
        (date(2026, 2, 1), Finding(Problem.MONTH_NOT_BEGUN, "2026-02")),
    ],
)
def test_check_month(month: date, finding: Finding | None) -> None:
    assert csvfile.check_month(month, THIS_MONTH) == finding


@pytest.mark.parametrize(
    ("count", "finding"),
    [
        (0, None),
        (MAX_COUNT, None),
        (-1, Finding(Problem.COUNT_NEGATIVE)),
        (MAX_COUNT + 1, Finding(Problem.COUNT_TOO_LARGE)),
    ],
)
def test_check_count(count: int, finding: Finding | None) -> None:
    assert csvfile.check_count(count) == finding


# The file as a whole.


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", Problem.FILE_EMPTY),
        ("  \r\n\n", Problem.FILE_EMPTY),
        ("\ufeff", Problem.FILE_EMPTY),
        ("2025-03,Income,counter,1\n", Problem.NO_HEADER),
        ("month,team,count\n2025-03,Income,1\n", Problem.NO_HEADER),
        ("month,team,channel,count,extra\n", Problem.NO_HEADER),
        ("month,team,channel,channel\n", Problem.NO_HEADER),
        ("month;team,channel;count\n", Problem.NO_HEADER),
        ("month\tteam\tchannel\tcount\n", Problem.NO_HEADER),
        ('"month,team,channel,count\n', Problem.NO_HEADER),
        ("month,team,channel,count\n" + "x" * MAX_UPLOAD_BYTES, Problem.FILE_TOO_LARGE),
        ("month,team,channel,count\n" + "é" * (MAX_UPLOAD_BYTES // 2), Problem.FILE_TOO_LARGE),
        ("month,team,channel,count\n" + "\n" * MAX_LINES, Problem.TOO_MANY_LINES),
        ("month,team,channel,count\n", Problem.NO_LINES),
        ("month,team,channel,count\n\n  \n,,,\n , , ,,\n", Problem.NO_LINES),
        ("month;team;channel;count\r\n;;;\r\n", Problem.NO_LINES),
    ],
)
def test_unusable_files(text: str, problem: Problem) -> None:
    with pytest.raises(UnusableFile) as refused:
        read(text)
    assert refused.value.finding == Finding(problem)


def test_the_largest_file_and_the_most_lines_are_read() -> None:
    header = "month,team,channel,count\n"
    assert csvfile.split(header + " " * (MAX_UPLOAD_BYTES - len(header))).rows
    assert len(csvfile.split(header + "\n" * (MAX_LINES - 1)).rows) == MAX_LINES - 1


@pytest.mark.parametrize(
    ("header", "separator", "order"),
    [
        ("month,team,channel,count", ",", ("month", "team", "channel", "count")),
        ("count,channel,team,month", ",", ("count", "channel", "team", "month")),
        ("Maand;Team;Kanaal;Aantal", ";", ("month", "team", "channel", "count")),
        ("MONTH ; team ; kanaal ; count", ";", ("month", "team", "channel", "count")),
        ("\ufeffmonth,team,channel,count", ",", ("month", "team", "channel", "count")),
        ('"month","team","channel","count"', ",", ("month", "team", "channel", "count")),
        ("month,team,channel,count,,", ",", ("month", "team", "channel", "count")),
    ],
)
def test_headers(header: str, separator: str, order: tuple[str, ...]) -> None:
    sheet = csvfile.split(f"{header}\r\n2025-03{separator}1{separator}phone{separator}2\r\n")
    assert (sheet.separator, sheet.order) == (separator, order)


def test_lines_are_numbered_as_in_the_file() -> None:
    sheet = csvfile.split("\n\nmonth,team,channel,count\r\na\rb\n\nc\n")
    assert sheet == Sheet(
        ",", ("month", "team", "channel", "count"), [(4, "a"), (5, "b"), (6, ""), (7, "c")]
    )


# Lines.


@pytest.mark.parametrize(
    ("line", "key", "count", "findings"),
    [
        ("2025-03,Income,counter,1200", (MARCH, INCOME, Channel.COUNTER), 1200, []),
        (f"2025-03,{CARE},interview_room,80", (MARCH, CARE, Channel.INTERVIEW_ROOM), 80, []),
        ("2025-3 , INKOMEN , Spreekkamer , 0", (MARCH, INCOME, Channel.INTERVIEW_ROOM), 0, []),
        ('2025-03,"Care",Home visit,4,,', (MARCH, CARE, Channel.HOME_VISIT), 4, []),
        ("2025-03,care,TELEFOON,3", (MARCH, CARE, Channel.PHONE), 3, []),
        ("2025-03,Income,Counter,1", (MARCH, INCOME, Channel.COUNTER), 1, []),
        ("2025-03,Tweeling,phone,1", (MARCH, TWIN, Channel.PHONE), 1, []),
        ("2026-01,Income,phone,1", (THIS_MONTH, INCOME, Channel.PHONE), 1, []),
        ("2025-13,Income,phone,5", None, 5, [Finding(Problem.NOT_A_MONTH, "2025-13")]),
        (",Income,phone,5", None, 5, [Finding(Problem.MONTH_MISSING)]),
        ("1999-12,Income,phone,5", None, 5, [Finding(Problem.MONTH_TOO_EARLY, "2000-01")]),
        ("2026-02,Income,phone,5", None, 5, [Finding(Problem.MONTH_NOT_BEGUN, "2026-02")]),
        ("2025-03,Nobody,phone,5", None, 5, [Finding(Problem.TEAM_UNKNOWN, "Nobody")]),
        ("2025-03,99,phone,5", None, 5, [Finding(Problem.TEAM_UNKNOWN, "99")]),
        ("2025-03,²,phone,5", None, 5, [Finding(Problem.TEAM_UNKNOWN, "²")]),
        ("2025-03,,phone,5", None, 5, [Finding(Problem.TEAM_MISSING)]),
        ("2025-03,twin,phone,5", None, 5, [Finding(Problem.TEAM_AMBIGUOUS, "twin")]),
        ("2025-03,Income,teleport,5", None, 5, [Finding(Problem.CHANNEL_UNKNOWN, "teleport")]),
        ("2025-03,Income,,5", None, 5, [Finding(Problem.CHANNEL_MISSING)]),
        (
            "2025-03,Income,phone,-3",
            (MARCH, INCOME, Channel.PHONE),
            None,
            [Finding(Problem.COUNT_NEGATIVE)],
        ),
        (
            "2025-03,Income,phone,10000001",
            (MARCH, INCOME, Channel.PHONE),
            None,
            [Finding(Problem.COUNT_TOO_LARGE)],
        ),
        (
            "2025-03,Income,phone,lots",
            (MARCH, INCOME, Channel.PHONE),
            None,
            [Finding(Problem.NOT_A_NUMBER, "lots")],
        ),
        (
            "2025-03,Income,phone,",
            (MARCH, INCOME, Channel.PHONE),
            None,
            [Finding(Problem.COUNT_MISSING)],
        ),
        ("2025-03,Income,phone", None, None, [Finding(Problem.WRONG_NUMBER_OF_VALUES, 3)]),
        ("2025-03,Income,phone,1,extra", None, None, [Finding(Problem.WRONG_NUMBER_OF_VALUES, 5)]),
        (
            "march,Nobody,teleport,lots",
            None,
            None,
            [
                Finding(Problem.NOT_A_MONTH, "march"),
                Finding(Problem.TEAM_UNKNOWN, "Nobody"),
                Finding(Problem.CHANNEL_UNKNOWN, "teleport"),
                Finding(Problem.NOT_A_NUMBER, "lots"),
            ],
        ),
    ],
)
def test_one_line(
    line: str,
    key: csvfile.RowKey | None,
    count: int | None,
    findings: list[Finding],
) -> None:
    cells = csvfile.line_values(line, ",")
    assert csvfile.parse_line(cells, ("month", "team", "channel", "count"), LOOKUP) == (
        key,
        count,
        findings,
    )


def test_columns_in_another_order() -> None:
    parsed = read(f"count;channel;team;month\n11;counter;{INCOME};2025-03\n")
    assert parsed.valid == {(MARCH, INCOME, Channel.COUNTER): 11} and parsed.rejected == []


def test_valid_lines_are_kept_and_the_others_reported_with_their_numbers() -> None:
    parsed = read(
        "month,team,channel,count\n"
        "2025-03,Income,counter,1200\n"  # 2
        "2025-03,Nobody,phone,5\n"  # 3
        "\n"  # 4: empty lines are no data
        ",,,\n"  # 5: nor are empty rows
        "2025-04,income,Phone,0\n"  # 6
        "2025-03,Income,counter,1300\n"  # 7: the same as line 2
        "2025-03,Income,counter,lots\n"  # 8: the same, and no number
        + "x" * 200_000  # 9: longer than a CSV field may be
        + "\n"
    )
    assert parsed.valid == {
        (MARCH, INCOME, Channel.COUNTER): 1200,
        (date(2025, 4, 1), INCOME, Channel.PHONE): 0,
    }
    assert problems(parsed) == [
        (3, [Finding(Problem.TEAM_UNKNOWN, "Nobody")]),
        (7, [Finding(Problem.DUPLICATE_LINE, 2)]),
        (8, [Finding(Problem.NOT_A_NUMBER, "lots"), Finding(Problem.DUPLICATE_LINE, 2)]),
        (9, [Finding(Problem.UNREADABLE_LINE)]),
    ]
    assert parsed.rejected[0][1] == "2025-03,Nobody,phone,5"  # the line as given


def test_a_rejected_line_does_not_hide_a_later_valid_one() -> None:
    parsed = read("month,team,channel,count\n2025-03,Income,counter,-1\n2025-03,Income,counter,2\n")
    assert parsed.valid == {(MARCH, INCOME, Channel.COUNTER): 2}
    assert problems(parsed) == [(2, [Finding(Problem.COUNT_NEGATIVE)])]


def test_a_file_of_only_rejected_lines_is_no_unusable_file() -> None:
    parsed = read("month,team,channel,count\n2025-03,Nobody,counter,1\n")
    assert parsed.valid == {} and problems(parsed) == [
        (2, [Finding(Problem.TEAM_UNKNOWN, "Nobody")])
    ]


# What the lines are checked against.


def test_the_lookup_folds_names_and_lets_codes_win() -> None:
    assert LOOKUP.team_ids == {INCOME, CARE, TWIN, OTHER}
    assert LOOKUP.team_names["care"] == {CARE}  # stripped and case-folded
    assert LOOKUP.team_names["twin"] == {TWIN, OTHER}
    assert "" not in LOOKUP.team_names  # an empty name finds no team
    assert LOOKUP.channels["spreekkamer"] is Channel.INTERVIEW_ROOM  # the first label wins
    assert LOOKUP.channels["counter"] is Channel.COUNTER  # the code wins over a label
    assert {LOOKUP.channels[channel.value] for channel in Channel} == set(Channel)


def test_inactive_teams_are_not_in_the_lookup() -> None:
    """The service passes the active teams only; a team it leaves out is found by neither
    its number nor its name."""
    lookup = Lookup.of(THIS_MONTH, [(INCOME, ("Inkomen", "Income"))], [], Channel)
    parsed = read(
        f"month,team,channel,count\n2025-03,Care,phone,1\n2025-03,{CARE},phone,1\n", lookup
    )
    assert problems(parsed) == [
        (2, [Finding(Problem.TEAM_UNKNOWN, "Care")]),
        (3, [Finding(Problem.TEAM_UNKNOWN, str(CARE))]),
    ]


def test_this_month_comes_from_the_caller() -> None:
    earlier = Lookup.of(date(2025, 2, 1), [(INCOME, ("Income",))], [], Channel)
    parsed = read("month,team,channel,count\n2025-03,Income,phone,1\n", earlier)
    assert problems(parsed) == [(2, [Finding(Problem.MONTH_NOT_BEGUN, "2025-03")])]
