"""PostgreSQL: a transaction that only read ends with COMMIT, so the statements stay prepared.

psycopg prepares a statement once a connection has run it five times, so PostgreSQL stops
planning it again. But `connection.rollback()` throws away every prepared statement of the
connection (it cannot know whether the rollback undid something they depend on), and most
transactions of a request end in a rollback: a page that only reads is never committed, and
the session's close rolls it back. So nothing stayed prepared, and every statement was planned
again on every request (about 1 ms for the statistics' count of one incident).

A transaction that ran nothing but SELECT statements ends the same way whether it commits or
rolls back: its locks go and its snapshot ends. Just before SQLAlchemy rolls such a transaction
back, `init_engine` commits it instead; the rollback that follows finds nothing to do and
leaves the prepared statements alone. A transaction that ran anything else (an INSERT, an
UPDATE, a statement starting with WITH, SET or LOCK, an executemany), or whose last statement
failed, is rolled back as before: nothing half-done is ever committed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_WROTE = "reads.wrote"  # the pool record's info: the open transaction ran something not a SELECT


def only_reads(statement: str) -> bool:
    """True for a statement that reads and changes nothing: a plain SELECT. (A SELECT ... FOR
    UPDATE only locks, and a commit lets go of its locks as a rollback does.)"""
    return statement.lstrip()[:6].upper() == "SELECT"


def init_engine(engine: Engine) -> None:
    """Keep psycopg's prepared statements over transactions that only read (PostgreSQL)."""
    if engine.dialect.name != "postgresql" or event.contains(engine, "rollback", _end_reads):
        return
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "handle_error", _note_error)
    event.listen(engine, "begin", _forget)
    event.listen(engine, "commit", _forget)
    event.listen(engine, "rollback", _end_reads)


def _note_writes(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    if executemany or not only_reads(statement):
        conn.info[_WROTE] = True


def _note_error(context: Any) -> None:
    """A failed statement: roll back (the transaction may be aborted, or half done)."""
    connection = context.connection
    if connection is not None and not connection.closed:
        connection.info[_WROTE] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(_WROTE, None)


def _end_reads(conn: Connection) -> None:
    """Called just before SQLAlchemy rolls back: commit instead when the transaction only read."""
    if conn.closed or conn.invalidated:  # lost: its info cannot even be read
        return
    if conn.info.pop(_WROTE, False):
        return
    from psycopg.pq import TransactionStatus

    dbapi = conn.connection.dbapi_connection
    if dbapi is None or dbapi.info.transaction_status != TransactionStatus.INTRANS:
        return  # idle (the rollback costs nothing then), or failed: a real rollback
    dbapi.commit()
