"""PostgreSQL: a pooled connection is checked before each use, usually without a round trip.

SQLAlchemy's `pool_pre_ping` sends an empty statement to the server every time a connection
leaves the pool: one round trip more on every request (a tenth of a report's). What it guards
against is a server that went away since the connection was last used. When the server
restarts, is stopped, or ends the session (`pg_terminate_backend`, an idle timeout), it closes
the connection: the socket then has something to read (the server's last message, or the end of
the stream) while the connection is idle in the pool, where nothing else ever arrives (the app
does not LISTEN). `init_engine` looks at the socket without waiting; a readable one is given up
and the pool connects again, as after a failed ping.

A connection that was idle for `PING_AFTER` seconds or more still gets a real ping: a server
host that vanished, or a firewall that forgot the connection, closes nothing, and only a round
trip finds out. In steady use a connection is back in the pool within milliseconds, so the
ping is rare.
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

PING_AFTER = 10.0  # seconds idle in the pool after which a connection is pinged
_RETURNED = "liveness.returned"  # the pool record's info: when it came back (monotonic)


def init_engine(engine: Engine, ping_after: float = PING_AFTER) -> None:
    """Check PostgreSQL connections as they leave the pool (see the module)."""
    if engine.dialect.name != "postgresql" or event.contains(engine.pool, "checkin", _returned):
        return

    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED, None)
        if returned is None:  # just connected
            return
        if closed(dbapi_connection):
            raise exc.DisconnectionError("the server closed the connection")
        if time.monotonic() - returned >= ping_after:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except engine.dialect.loaded_dbapi.Error as error:
                raise exc.DisconnectionError("the connection did not answer a ping") from error

    event.listen(engine.pool, "checkout", _checkout)
    event.listen(engine.pool, "checkin", _returned)


def _returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED] = time.monotonic()


def closed(dbapi_connection: Any) -> bool:
    """True when an idle psycopg connection is lost: closed on this side, or its socket
    readable (the server said goodbye or hung up)."""
    import psycopg

    if dbapi_connection.closed:
        return True
    try:
        fd = dbapi_connection.pgconn.socket
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)
