"""`flask doctor`: find what must never happen, and repair it.

- incidents whose steps are all done (or no longer required) but that never closed: retention
  only looks at closed incidents, so their personal data would be kept for ever;
- closed incidents with an open step;
- open steps without an owner: in nobody's inbox, no mail goes out;
- statistics' running counts that differ from a full recount.

Each repair is its own transaction and takes the incident's lock, so the doctor can run
while people work. Run it daily (see the README); it exits 1 when it found something it did
not repair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select, text

from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    Incident,
    IncidentStatus,
    StepStatus,
    utcnow,
)
from incidents.services.base import audit, lock, lock_all, transaction
from incidents.services.ownership import give_waiting_steps
from incidents.stats import tally

_OPEN_STEP = exists().where(
    AftercareStep.incident_id == Incident.id, AftercareStep.status == StepStatus.OPEN
)
_ANY_STEP = exists().where(AftercareStep.incident_id == Incident.id)


@dataclass
class Findings:
    not_closed: list[int] = field(default_factory=list)  # incident ids
    closed_but_open: list[int] = field(default_factory=list)  # incident ids
    unowned: list[int] = field(default_factory=list)  # step ids
    drift: dict[Any, tuple[int, int]] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.not_closed or self.closed_but_open or self.unowned or self.drift)


def examine() -> Findings:
    """Four queries and a recount; changes nothing."""
    submitted = Incident.status == IncidentStatus.SUBMITTED
    findings = Findings(
        not_closed=list(
            db.session.scalars(
                select(Incident.id)
                .where(submitted, Incident.closed_at.is_(None), _ANY_STEP, ~_OPEN_STEP)
                .order_by(Incident.id)
            )
        ),
        closed_but_open=list(
            db.session.scalars(
                select(Incident.id)
                .where(submitted, Incident.closed_at.is_not(None), _OPEN_STEP)
                .order_by(Incident.id)
            )
        ),
        unowned=list(
            db.session.scalars(
                select(AftercareStep.id)
                .where(AftercareStep.status == StepStatus.OPEN, AftercareStep.owner_id.is_(None))
                .order_by(AftercareStep.id)
            )
        ),
    )
    db.session.rollback()
    with db.engine.connect() as connection:
        findings.drift = tally.drift(connection)
    return findings


def repair(findings: Findings) -> dict[str, int]:
    """Close, reopen, give owners and recount what `examine` found (checked again under each
    incident's lock: what was mended meanwhile is left alone). Returns what was repaired."""
    done = {"closed": 0, "reopened": 0, "owned": 0, "recounted": 0}
    for incident_id in findings.not_closed + findings.closed_but_open:
        with transaction():
            incident = lock(incident_id)
            still_open = any(s.is_open for s in incident.steps)
            if still_open and incident.closed_at is not None:
                incident.closed_at = None
                done["reopened"] += 1
            elif not still_open and incident.closed_at is None and incident.steps:
                moments = [s.done_at for s in incident.steps if s.done_at is not None]
                incident.closed_at = max(moments) if moments else utcnow()
                done["closed"] += 1
            else:
                continue
            audit(None, AuditAction.DOCTOR_CLOSING, incident, closed=incident.closed_at is not None)
    if findings.unowned:
        with transaction():
            lock_all(
                db.session.scalars(
                    select(AftercareStep.incident_id).where(AftercareStep.id.in_(findings.unowned))
                ).all()
            )
            done["owned"] = give_waiting_steps(None)
    if findings.drift:
        with transaction():
            connection = db.session.connection()
            if connection.dialect.name == "postgresql":
                # Changes that are counting now wait, then add their difference to the recount.
                connection.execute(text("LOCK TABLE stat_tally IN EXCLUSIVE MODE"))
            done["recounted"] = tally.rebuild(connection)
            audit(None, AuditAction.DOCTOR_RECOUNT, None, keys=len(findings.drift))
    return done


def summary(findings: Findings) -> list[str]:
    """One line per kind of problem, for the command."""
    lines = []
    if findings.not_closed:
        lines.append(f"all steps done but not closed: incidents {_ids(findings.not_closed)}")
    if findings.closed_but_open:
        lines.append(f"closed with an open step: incidents {_ids(findings.closed_but_open)}")
    if findings.unowned:
        lines.append(f"open steps without an owner: {_ids(findings.unowned)}")
    if findings.drift:
        lines.append(f"statistics' running counts differ from a recount: {len(findings.drift)}")
    return lines


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:20]))
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
