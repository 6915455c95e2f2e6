"""People and teams from the HR system: an import of its CSV export, for organisations without
provisioning by SCIM (issue 16).

Every import begins as a dry run (`dry_run`): the file is read (`csvfile`), compared with the
organisation (`planner`), and the report of what would change is kept as an `OrgImport`, with
the sha256 of the file. Nothing else is written. The admin confirms it (`apply`): the file kept
under that digest is planned again, in one transaction that holds the accounts, the teams and
the incidents whose steps may move; the plan must give the same report as the dry run (else the
organisation changed meanwhile, and a new dry run is made instead), and is then written. The
command line (`flask import-org FILE --apply`) does both at once.

The changes are the accounts service's (`services.accounts`), made for thousands of people in
one transaction (`write`): the same audit events (each naming the import), sessions ended for
leavers, and the leavers' and movers' open steps handed over by `services.ownership`, which
mails the people concerned. Calling the per-person services one by one would take minutes for
15,000 people (an argon2 hash and a commit each). The import does not send the mails about a
changed account that an admin's edit sends: an HR export changes hundreds of accounts at once.

Reading (`csvfile`), planning (`planner`) and the report (`report`) are pure; `messages` puts
findings in the user's language.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.locks import begin_immediate, lock_incidents
from incidents.models import (
    AccountSource,
    AuditAction,
    OrgImport,
    Role,
    Team,
    User,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, audit, transaction
from incidents.services.org_import import csvfile, planner, report
from incidents.services.org_import.csvfile import (
    FIELDS,
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    Finding,
    Parsed,
)
from incidents.services.org_import.messages import (
    describe,
    format_report,
    reasons,
    too_large_message,
)
from incidents.services.org_import.planner import Organisation, Plan
from incidents.services.org_import.write import incidents_touched, write_plan

__all__ = [
    "FIELDS",
    "KEEP_HOURS",
    "MAX_LINES",
    "MAX_UPLOAD_BYTES",
    "Finding",
    "Outdated",
    "Run",
    "apply",
    "columns",
    "describe",
    "dry_run",
    "format_report",
    "import_file",
    "organisation",
    "read",
    "reasons",
    "runs",
    "too_large_message",
]

# A dry run's file is kept this long for the confirmation, then deleted (it holds personal data).
KEEP_HOURS = 24
# The PostgreSQL advisory lock that lets one import at a time write.
_LOCK_KEY = 16_0001


class Outdated(ServiceError):
    """The organisation changed between the dry run and the confirmation: nothing was applied,
    and `newer` is a new dry run of the same file to look at first."""

    def __init__(self, newer: OrgImport) -> None:
        super().__init__(
            _(
                "The organisation changed after this dry run, so nothing was applied. Check "
                "the new dry run and confirm that one."
            )
        )
        self.newer = newer


# Reading.


def columns() -> dict[str, str]:
    """Which header holds each field (the IMPORT_COLUMNS setting)."""
    configured = dict(current_app.config["IMPORT_COLUMNS"])
    csvfile.check_columns(configured)
    return {name: str(configured[name]).strip() for name in FIELDS}


def read(content: str) -> Parsed:
    """The lines of a file, checked one by one. Raises InvalidInput keyed "file" when the file
    as a whole cannot be used."""
    try:
        sheet = csvfile.split(content, columns())
        return csvfile.parse(sheet, allow_test_domains=bool(current_app.config["DEMO"]))
    except csvfile.UnusableFile as unusable:
        raise InvalidInput({"file": describe(unusable.finding)}) from None


def organisation(actor: User | None, *, lock: bool = False) -> Organisation:
    """Every account and team as plain data, in two queries (`lock`: held until the end of the
    transaction, on PostgreSQL; SQLite holds the whole database already)."""
    people = select(
        User.id,
        User.employee_number,
        User.email,
        User.name,
        User.role,
        User.team_id,
        User.active,
        User.source,
    ).order_by(User.id)
    teams = select(
        Team.id,
        Team.external_id,
        Team.name_nl,
        Team.name_en,
        Team.parent_id,
        Team.manager_id,
        Team.deputy_id,
        Team.active,
    ).order_by(Team.id)
    if lock and db.session.get_bind().dialect.name != "sqlite":
        people, teams = people.with_for_update(), teams.with_for_update()
    return Organisation(
        people=[
            planner.PersonNow(
                id=row.id,
                employee_number=row.employee_number,
                email=row.email,
                name=row.name,
                role=Role(row.role).value,
                team_id=row.team_id,
                active=row.active,
                source=AccountSource(row.source).value,
            )
            for row in db.session.execute(people)
        ],
        teams=[
            planner.TeamNow(
                id=row.id,
                code=row.external_id,
                name_nl=row.name_nl,
                name_en=row.name_en,
                parent_id=row.parent_id,
                manager_id=row.manager_id,
                deputy_id=row.deputy_id,
                active=row.active,
            )
            for row in db.session.execute(teams)
        ],
        actor_id=actor.id if actor is not None else None,
    )


@dataclass(frozen=True)
class Run:
    """One import in the list of runs: its figures, not its (possibly large) report."""

    id: int
    at: datetime
    filename: str
    applied_at: datetime | None
    counts: dict[str, int]


def runs(limit: int = 50) -> list[Run]:
    """The latest imports, newest first, in one query that reads only their figures."""
    rows = db.session.execute(
        select(
            OrgImport.id,
            OrgImport.at,
            OrgImport.filename,
            OrgImport.applied_at,
            OrgImport.report["counts"].label("counts"),
        )
        .order_by(OrgImport.at.desc(), OrgImport.id.desc())
        .limit(limit)
    )
    return [Run(row.id, row.at, row.filename, row.applied_at, row.counts or {}) for row in rows]


def digest_of(content: str) -> str:
    """The sha256 of a file's text (as UTF-8): what a confirmation must match."""
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


# Changing.


def dry_run(actor: User | None, content: str, filename: str, *, keep: bool = True) -> OrgImport:
    """Plan an import and keep its report (and, with `keep`, the file, for `apply`); nothing
    else is written. Raises InvalidInput keyed "file" when the file cannot be used."""
    parsed = read(content)
    org = organisation(actor)
    planned = _as_json(report.of(planner.plan(parsed, org), org))
    digest = digest_of(content)
    if keep:
        _keep(digest, content)
    with transaction():
        record = OrgImport(
            actor_id=actor.id if actor is not None else None,
            filename=filename[:255],
            digest=digest,
            report=planned,
        )
        db.session.add(record)
        db.session.flush()
        audit(actor, AuditAction.IMPORT_DRY_RUN, record, digest=digest, **planned["counts"])
    return record


def apply(actor: User | None, record: OrgImport) -> OrgImport:
    """Apply the dry run `record` with the file kept for it. Raises ServiceError when it was
    applied already or its file is gone, and Outdated (with a new dry run) when the
    organisation changed since."""
    if record.applied_at is not None:
        raise ServiceError(_("This import was applied already."))
    content = _kept(record.digest)
    if content is None:
        raise ServiceError(
            ngettext(
                "The file of this dry run is no longer kept (files are kept for %(num)s "
                "hour). Upload it again.",
                "The file of this dry run is no longer kept (files are kept for %(num)s "
                "hours). Upload it again.",
                KEEP_HOURS,
            )
        )
    applied = _apply(actor, record, content)
    _forget(record.digest)
    return applied


def import_file(actor: User | None, content: str, filename: str, *, write: bool) -> OrgImport:
    """The command line: a dry run, and with `write` at once its application."""
    record = dry_run(actor, content, filename, keep=False)
    return _apply(actor, record, content) if write else record


def _apply(actor: User | None, record: OrgImport, content: str) -> OrgImport:
    if digest_of(content) != record.digest:
        raise ServiceError(_("This is not the file of the dry run. Upload it again."))
    parsed = read(content)
    began = time.perf_counter()
    try:
        with transaction():
            _take_write_lock()
            current = db.session.get(OrgImport, record.id, populate_existing=True)
            if current is None or current.applied_at is not None:
                raise ServiceError(_("This import was applied already."))
            org, result = _plan_holding_locks(parsed, actor)
            if _as_json(report.of(result, org)) != current.report:
                raise _Changed
            handed = write_plan(actor, result, current.id)
            current.applied_at = utcnow()
            audit(
                actor,
                AuditAction.IMPORT_APPLY,
                current,
                digest=current.digest,
                steps_handed_over=handed,
                seconds=round(time.perf_counter() - began, 1),
                **current.report["counts"],
            )
    except _Changed:
        raise Outdated(dry_run(actor, content, record.filename)) from None
    except IntegrityError as error:
        # An account or team made elsewhere between the plan and the write.
        raise ServiceError(
            _("Someone changed accounts or teams at the same moment. Please try again.")
        ) from error
    return current


class _Changed(Exception):
    """The plan differs from the dry run's."""


def _take_write_lock() -> None:
    """One import at a time, and no other writer while it plans and writes: SQLite's write
    lock from the first statement on (BEGIN IMMEDIATE); on PostgreSQL an advisory lock, and the
    rows read for the plan are locked as they are read (`organisation(lock=True)`)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        begin_immediate(connection)
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    db.session.expire_all()  # what was read before the lock may be out of date


def _plan_holding_locks(parsed: Parsed, actor: User | None) -> tuple[Organisation, Plan]:
    """The plan, once the incidents whose steps it may move are locked (as `lock_all` does;
    nothing is written yet); planned again after taking them, until no more are needed."""
    for _attempt in range(5):
        org = organisation(actor, lock=True)
        result = planner.plan(parsed, org)
        if not lock_incidents(db.session, incidents_touched(result)):
            return org, result
        db.session.expire_all()  # what was read before the lock may be out of date
    raise ServiceError(_("Someone changed accounts or teams at the same moment. Please try again."))


# The file kept between the dry run and its confirmation.


def _folder() -> Path:
    return Path(current_app.instance_path) / "org-imports"


def _keep(digest: str, content: str) -> None:
    """Keep the file under its digest, readable by this user only; forget files older than
    KEEP_HOURS."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    limit = time.time() - KEEP_HOURS * 3600
    for old in folder.glob("*.csv"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except FileNotFoundError:
            pass  # another worker removed it
    path = folder / f"{digest}.csv"
    temporary = folder / f"{digest}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)
    temporary.replace(path)


def _kept(digest: str) -> str | None:
    """The kept file of this digest, when it is still there and still matches it."""
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        return None
    path = _folder() / f"{digest}.csv"
    try:
        if path.stat().st_mtime < time.time() - KEEP_HOURS * 3600:
            return None
        content = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return content if digest_of(content) == digest else None


def _forget(digest: str) -> None:
    (_folder() / f"{digest}.csv").unlink(missing_ok=True)


def _as_json(report: dict[str, Any]) -> dict[str, Any]:
    """The report as it reads back from the database (tuples become lists), for comparing."""
    loaded: dict[str, Any] = json.loads(json.dumps(report))
    return loaded
