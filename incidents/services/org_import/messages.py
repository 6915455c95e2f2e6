"""What an import says, in the user's language: the problems of a file and its lines, and the
report for the command line (in English, as every command writes)."""

from __future__ import annotations

from typing import Any, assert_never

from flask_babel import force_locale, format_number, ngettext
from flask_babel import gettext as _

from incidents.models import OrgImport
from incidents.services.org_import.csvfile import MAX_LINES, MAX_UPLOAD_BYTES, Finding, Problem


def too_large_message() -> str:
    """What is said about a file over the size limit (the upload form checks it first)."""
    return describe(Finding(Problem.FILE_TOO_LARGE))


def describe(finding: Finding) -> str:
    """What is wrong (or left alone), in the user's language."""
    values = finding.values
    match finding.problem:
        case Problem.FILE_TOO_LARGE:
            return _(
                "The file is larger than %(size)s MB. Export only the columns the import uses.",
                size=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
        case Problem.TOO_MANY_LINES:
            return ngettext(
                "The file has more than %(max)s line.",
                "The file has more than %(max)s lines.",
                MAX_LINES,
                max=format_number(MAX_LINES),
            )
        case Problem.FILE_EMPTY:
            return _("The file is empty.")
        case Problem.NO_HEADER:
            return _(
                "The first line must name the columns. Not found: %(missing)s.",
                missing=values.get("missing", ""),
            )
        case Problem.NO_LINES:
            return _("The file has no lines below the header.")
        case Problem.UNREADABLE_LINE:
            return _("This line cannot be read as CSV.")
        case Problem.WRONG_NUMBER_OF_VALUES:
            return ngettext(
                "Expected %(num)s value, as in the header, found %(found)s.",
                "Expected %(num)s values, as in the header, found %(found)s.",
                int(values.get("expected") or 0),
                found=values.get("count", ""),
            )
        case Problem.FIELD_MISSING:
            return _("The column “%(column)s” is empty.", column=values.get("column", ""))
        case Problem.TOO_LONG:
            return ngettext(
                "The value in “%(column)s” is longer than %(num)s character.",
                "The value in “%(column)s” is longer than %(num)s characters.",
                int(values.get("max") or 0),
                column=values.get("column", ""),
            )
        case Problem.BAD_EMAIL:
            return _("“%(value)s” is not a valid e-mail address.", value=values.get("value", ""))
        case Problem.DUPLICATE_EMPLOYEE_NUMBER:
            return _(
                "The same employee number as line %(line)s; only that line is used.",
                line=values.get("line", ""),
            )
        case Problem.DUPLICATE_EMAIL:
            return _(
                "The same e-mail address as line %(line)s; only that line is used.",
                line=values.get("line", ""),
            )
        case Problem.TEAM_NAME_CONFLICT:
            return _(
                "Line %(line)s gives team %(team)s another name: “%(name)s”.",
                line=values.get("line", ""),
                team=values.get("team", ""),
                name=values.get("name", ""),
            )
        case Problem.PARENT_CONFLICT:
            return _(
                "Line %(line)s places team %(team)s under another team: %(parent)s.",
                line=values.get("line", ""),
                team=values.get("team", ""),
                parent=values.get("parent", ""),
            )
        case Problem.MANAGER_CONFLICT:
            return _(
                "Line %(line)s gives team %(team)s another manager: %(manager)s.",
                line=values.get("line", ""),
                team=values.get("team", ""),
                manager=values.get("manager", ""),
            )
        case Problem.TEAM_UNKNOWN:
            return _(
                "Team %(team)s is not in the app, and no line gives its name.",
                team=values.get("team", ""),
            )
        case Problem.PARENT_UNKNOWN:
            return _(
                "Team %(team)s is placed under %(parent)s, a team neither in the file nor in "
                "the app.",
                team=values.get("team", ""),
                parent=values.get("parent", ""),
            )
        case Problem.PARENT_CYCLE:
            return _(
                "Team %(team)s would be placed under itself: %(cycle)s.",
                team=values.get("team", ""),
                cycle=values.get("cycle", ""),
            )
        case Problem.PARENT_REFUSED:
            return _(
                "Team %(team)s is placed under team %(parent)s, whose lines are refused.",
                team=values.get("team", ""),
                parent=values.get("parent", ""),
            )
        case Problem.EMAIL_TAKEN:
            return _(
                "Another account uses the e-mail address %(email)s.",
                email=values.get("email", ""),
            )
        case Problem.EMAIL_CYCLE:
            return _(
                "People would swap e-mail addresses in a circle (%(email)s). Change one of "
                "them in the app first, then import again.",
                email=values.get("email", ""),
            )
        case Problem.MANAGER_NOT_IN_FILE:
            return _(
                "Team %(team)s: its manager %(manager)s is not among the accepted lines, so "
                "the team keeps its current manager.",
                team=values.get("team", ""),
                manager=values.get("manager", ""),
            )
        case Problem.MANAGER_ROLE:
            return _(
                "Team %(team)s: %(name)s (%(manager)s) has the HR or administrator role and "
                "cannot manage a team, so the team keeps its current manager.",
                team=values.get("team", ""),
                name=values.get("name", ""),
                manager=values.get("manager", ""),
            )
        case Problem.OWN_ACCOUNT_KEPT:
            return _(
                "Your own account (%(name)s) is not in the file but stays active; another "
                "administrator can deactivate it.",
                name=values.get("name", ""),
            )
        case _:
            assert_never(finding.problem)


def reasons(refusal: dict[str, Any]) -> str:
    """The reasons a line of a kept report was refused, in the user's language."""
    return " ".join(describe(Finding.from_json(reason)) for reason in refusal.get("reasons", []))


def format_report(record: OrgImport, shown: int = 20) -> list[str]:
    """The report for the command line, in English: the figures, every refused line, every
    person deactivated, and the first `shown` entries of the other lists."""
    report: dict[str, Any] = record.report
    counts = report["counts"]
    state = f"applied {record.applied_at:%Y-%m-%d %H:%M} UTC" if record.applied_at else "dry run"
    lines = [
        f"import {record.id} ({state}): {counts['lines']} lines, {counts['accepted']} accepted, "
        f"{counts['refused']} refused, {counts['changes']} changes",
        "people: added {}, changed {}, moved {}, deactivated {}".format(
            *(len(report[key]) for key in _PEOPLE)
        ),
        "teams: added {}, changed {}, placed elsewhere {}, losing their manager {}".format(
            *(len(report[key]) for key in _TEAMS)
        ),
    ]
    with force_locale("en"):
        lines.extend(f"note: {describe(Finding.from_json(n))}" for n in report["notices"])
        lines.extend(
            f"refused line {r['line']}: {reasons(r)} ({r['text']})" for r in report["refused"]
        )
    for key, entries in report.items():
        if not isinstance(entries, list) or key in ("refused", "notices"):
            continue
        limit = None if key == "people_deactivated" else shown
        for entry in entries[:limit]:
            lines.append(f"{key.replace('_', ' ')}: {_one_line(entry)}")
        if limit is not None and len(entries) > limit:
            lines.append(f"{key.replace('_', ' ')}: ... and {len(entries) - limit} more")
    return lines


_PEOPLE = ("people_added", "people_changed", "people_moved", "people_deactivated")
_TEAMS = ("teams_added", "teams_changed", "teams_reparented", "teams_losing_manager")


def _one_line(entry: dict[str, Any]) -> str:
    parts = []
    for key, value in entry.items():
        if key == "changes":
            value = ", ".join(f"{c['field']} {c['old']} -> {c['new']}" for c in value)
        if key != "id" and value not in (None, ""):
            parts.append(f"{key} {value}")
    return "; ".join(parts)
