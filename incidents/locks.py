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

The writers' queue (SQLite only, `init_writer_queue`): a writer that finds the database locked
by another process would sleep and retry (SQLite's busy handler, in steps of up to 100 ms), and
often sleep on after the lock is free. Before a write transaction begins, each process takes an
exclusive lock on a file next to the database (``<database>-writer``, `fcntl.lockf`), checking
every half millisecond, so it goes on as soon as the writer before it has committed. It orders writers; it does
not make anything correct that was not (SQLite's own lock still does that). A process's lock
is held while any of its connections writes (threads of one process do not queue, and wait on
SQLite as before), and it is let go at the commit or rollback.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine
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
        begin_immediate(connection)
    else:
        connection.execute(
            select(Incident.id)
            .where(Incident.id.in_(wanted))
            .order_by(Incident.id)
            .with_for_update()
        )
    held.update(wanted)
    return True


def begin_immediate(connection: Connection) -> None:
    """SQLite: begin the transaction with the write lock, unless it has begun (the writers'
    queue first, when the engine has one)."""
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_LOCKED, None)


def init_session(session_class: type[Session]) -> None:
    """Locks end with the transaction: forget them at commit and rollback."""
    if event.contains(session_class, "after_commit", _forget):
        return
    event.listen(session_class, "after_commit", _forget)
    event.listen(session_class, "after_rollback", _forget)


# --- the writers' queue (SQLite) -----------------------------------------------------------------

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
_QUEUED = "locks.queued"  # connection record info: this connection holds its process's turn
WAIT = 5.0  # seconds, as Python's sqlite3 waits for a lock by default


class WriterQueue:
    """One process's place in the queue of writers to one SQLite file (see the module)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._holders: set[int] = set()
        self._lock = threading.Lock()

    def take(self, holder: int) -> None:
        with self._lock:
            if self._holders:
                self._holders.add(holder)  # the process has its turn already
                return
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:  # a read-only folder: SQLite alone orders the writers
                    return
            if self._wait(self._fd):
                self._holders.add(holder)

    def _wait(self, fd: int) -> bool:
        """Wait for the writer of another process, checking every half millisecond; after
        `WAIT` seconds (SQLite's own busy timeout) go on without a turn, and let SQLite say
        that the database is locked."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.0005)
            else:
                return True

    def let_go(self, holder: int) -> None:
        with self._lock:
            self._holders.discard(holder)
            if not self._holders and self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    @property
    def held(self) -> bool:
        return bool(self._holders)


def init_writer_queue(engine: Engine, database: str) -> WriterQueue:
    """Queue this engine's write transactions on `<database>-writer` (the path of a
    `file:` URI database, without its query)."""
    if database.startswith("file:"):
        database = urlsplit(database).path
    queue = WriterQueue(database + "-writer")

    @event.listens_for(engine, "before_cursor_execute")
    def _take(connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        record = connection.connection
        driver = record.driver_connection
        if driver is None or driver.in_transaction or _QUEUED in record.info:
            return
        if statement.lstrip()[:15].upper().startswith(_WRITES):
            queue.take(id(record))
            record.info[_QUEUED] = True

    def _let_go(connection: Connection) -> None:
        # At the commit or rollback (just before it reaches SQLite: the next writer may find
        # the lock for the moment the commit takes, and SQLite's first retry is after 1 ms).
        record = connection.connection
        if record.info.pop(_QUEUED, None):
            queue.let_go(id(record))

    def _returned(_dbapi: Any, record: Any, *_args: Any) -> None:
        if record.info.pop(_QUEUED, None):  # a connection closed in the middle of a write
            queue.let_go(id(record))

    event.listen(engine, "commit", _let_go)
    event.listen(engine, "rollback", _let_go)
    event.listen(engine.pool, "checkin", _returned)
    return queue
