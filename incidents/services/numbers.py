"""Readable incident numbers: "2026-0142", the 142nd incident submitted in 2026.

A number is given once, when the incident is submitted, and never changes: it is what a legal
hold, a police report or a phone call refers to. The year's counter is raised with one upsert
in the submitting transaction; the row stays locked until that transaction ends (PostgreSQL),
or the write lock serialises it (SQLite), so two submissions never get the same number. A
rolled-back submission leaves no gap, as its upsert rolls back too.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from incidents.extensions import db
from incidents.models import Incident, IncidentNumber

# "2026-0142", "2026 142", "2026/142", "#2026-0142": a year, then the number in that year.
_NUMBER = re.compile(r"^\s*#?\s*([0-9]{4})\s*[-/ .]\s*0*([0-9]{1,7})\s*$")


def format_number(year: int, place: int) -> str:
    return f"{year}-{place:04d}"


def parse(text: str) -> str | None:
    """The number as stored, from what a person typed; None when it is not a number."""
    found = _NUMBER.match(text or "")
    if found is None or int(found.group(2)) == 0:
        return None
    return format_number(int(found.group(1)), int(found.group(2)))


def incident_numbered(number: str | None) -> Incident | None:
    """The incident with this number, as `parse` gives it; None for none (or no number)."""
    if not number:
        return None
    found: Incident | None = db.session.scalar(select(Incident).where(Incident.number == number))
    return found


def assign(incident: Incident, submitted_at: datetime) -> str:
    """Give a submitted incident the next number of the year it was submitted in (the
    organisation's time zone). In the caller's transaction, as its last change: the year's
    counter stays locked from here to the commit, and every other submission of that year
    waits for it."""
    if incident.number:
        return incident.number
    year = submitted_at.astimezone(ZoneInfo(current_app.config["ORG_TIMEZONE"])).year
    table = IncidentNumber.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(table).values(year=year, last=1)
    statement = upsert.on_conflict_do_update(
        index_elements=[table.c.year], set_={"last": table.c.last + 1}
    ).returning(table.c.last)
    place = db.session.execute(statement).scalar_one()
    incident.number = format_number(year, place)
    return incident.number
