"""One lock per incident.

Every change to an incident, its people or its steps takes the incident's row first, before
it reads anything it decides on: the closing check ("is every step done?"), the statistics'
running counts ("what did this incident contribute before?"), the version of a report form.
A second change to the same incident waits until the first has committed, then sees it.

- PostgreSQL: ``SELECT ... FOR UPDATE`` on the incident rows, in id order (no deadlock between
  two changes that lock the same incidents).
- SQLite has one writer at a time: the transaction begins with ``BEGIN IMMEDIATE``, which takes
  the write lock before the first read. (Without it, Python's sqlite3 begins a transaction only
  at the first write, and what was read before may already be out of date.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from incidents.models import Incident

_LOCKED = "locks.incidents"  # session.info: the incidents this transaction holds


def lock_incidents(session: Session | scoped_session[Any], incident_ids: Iterable[int]) -> bool:
    """Hold these incidents until the transaction ends; True when a lock was taken now (what
    the session read before may be out of date)."""
    held: set[int] = session.info.setdefault(_LOCKED, set())
    wanted = sorted({i for i in incident_ids if i is not None} - held)
    if not wanted:
        return False
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")
    else:
        connection.execute(
            select(Incident.id)
            .where(Incident.id.in_(wanted))
            .order_by(Incident.id)
            .with_for_update()
        )
    held.update(wanted)
    return True


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_LOCKED, None)


def init_session(session_class: type[Session]) -> None:
    """Locks end with the transaction: forget them at commit and rollback."""
    from sqlalchemy import event

    if event.contains(session_class, "after_commit", _forget):
        return
    event.listen(session_class, "after_commit", _forget)
    event.listen(session_class, "after_rollback", _forget)
