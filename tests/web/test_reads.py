"""A transaction that only read ends with COMMIT on PostgreSQL, so psycopg keeps its prepared
statements (`incidents.reads`); anything that wrote, or failed, is still rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from incidents import reads
from incidents.extensions import db
from incidents.models import Setting, User, utcnow
from tests.conftest import make_app
from tests.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def pg_app(postgres_server: PostgresServer) -> Iterator[Flask]:
    """An app on PostgreSQL alone, for what only PostgreSQL has (prepared statements, a
    writing CTE)."""
    from flask_migrate import upgrade

    app = make_app(postgres_server.create_database("reads"))
    with app.app_context():
        upgrade()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def on_postgresql(app: Flask) -> bool:
    return db.engine.dialect.name == "postgresql"


def prepared(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() or 0)


def stored(name: str) -> bool:
    with db.engine.connect() as conn:
        return conn.scalar(select(Setting.name).where(Setting.name == name)) is not None


def write(conn: Connection, name: str) -> None:
    conn.execute(insert(Setting).values(name=name, value=True, updated_at=utcnow()))


def test_only_postgresql_gets_the_hook(app: Flask) -> None:
    assert event.contains(db.engine, "rollback", reads._end_reads) is on_postgresql(app)


@pytest.mark.parametrize(
    ("statement", "reads_only"),
    [
        ("SELECT 1", True),
        ("  select id FROM incident FOR UPDATE", True),
        ("\nSELECT count(*) FROM x", True),
        ("INSERT INTO setting VALUES (1)", False),
        ("UPDATE incident SET level = 1", False),
        ("WITH x AS (DELETE FROM setting RETURNING 1) SELECT * FROM x", False),
        ("SET LOCAL lock_timeout = 1", False),
        ("LOCK TABLE incident", False),
        ("SAVEPOINT a", False),
    ],
)
def test_what_counts_as_only_reading(statement: str, reads_only: bool) -> None:
    assert reads.only_reads(statement) is reads_only


def test_statements_stay_prepared_over_transactions_that_only_read(pg_app: Flask) -> None:
    with db.engine.connect() as conn:
        for _ in range(8):
            transaction = conn.begin()
            conn.execute(select(User.id).where(User.id == 1)).all()
            transaction.rollback()
        # psycopg prepares a statement at its sixth run; a real ROLLBACK would have dropped it.
        assert prepared(conn) > 0
        conn.rollback()
        transaction = conn.begin()
        write(conn, "then-a-write")
        transaction.rollback()  # a real rollback: psycopg lets its statements go
        assert prepared(conn) == 0
    assert not stored("then-a-write")


def test_a_transaction_that_wrote_is_rolled_back(app: Flask) -> None:
    with db.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(select(User.id)).all()
        write(conn, "written-then-rolled-back")
        conn.execute(select(User.id)).all()  # reading after the write does not undo it
        transaction.rollback()
    assert not stored("written-then-rolled-back")


def test_a_write_through_the_session_is_rolled_back(app: Flask) -> None:
    db.session.add(Setting(name="session-write", value=1))
    db.session.flush()
    db.session.rollback()
    assert not stored("session-write")
    db.session.add(Setting(name="session-write-closed", value=1))
    db.session.flush()
    db.session.remove()  # what the end of a request does
    assert not stored("session-write-closed")


def test_a_writing_statement_that_starts_like_a_read_is_rolled_back(pg_app: Flask) -> None:
    with db.engine.connect() as conn:
        transaction = conn.begin()
        now = utcnow().isoformat()
        conn.execute(
            text(
                "WITH made AS (INSERT INTO setting (name, value, updated_at) "
                "VALUES ('from-a-cte', 'true', :now) RETURNING name) SELECT name FROM made"
            ),
            {"now": now},
        ).all()
        transaction.rollback()
    assert not stored("from-a-cte")


def test_a_write_in_an_earlier_transaction_does_not_leak_into_the_next(app: Flask) -> None:
    with db.engine.connect() as conn:
        with conn.begin():
            write(conn, "committed")
        transaction = conn.begin()
        write(conn, "second")
        transaction.rollback()
        transaction = conn.begin()
        conn.execute(select(User.id)).all()
        transaction.rollback()
    assert stored("committed")
    assert not stored("second")


def test_a_failed_statement_rolls_back_and_the_connection_goes_on(app: Flask) -> None:
    with db.engine.connect() as conn:
        transaction = conn.begin()
        write(conn, "before-the-failure")
        with pytest.raises((DBAPIError, OperationalError)):
            conn.execute(text("SELECT * FROM no_such_table")).all()
        transaction.rollback()
        transaction = conn.begin()
        with pytest.raises((DBAPIError, OperationalError)):
            conn.execute(text("SELECT * FROM no_such_table")).all()
        transaction.rollback()  # a failed read: a real rollback, then the connection works
        assert conn.execute(select(User.id)).all() == []
    assert not stored("before-the-failure")


def test_a_lock_taken_by_a_read_is_let_go(app: Flask, make_user: Any) -> None:
    user_id = make_user().id
    db.session.commit()
    with db.engine.connect() as first, db.engine.connect() as second:
        transaction = first.begin()
        first.execute(select(User.id).where(User.id == user_id).with_for_update()).all()
        transaction.rollback()
        # NOWAIT fails at once if the first connection still held the row.
        with second.begin():
            assert second.execute(
                select(User.id).where(User.id == user_id).with_for_update(nowait=True)
            ).all() == [(user_id,)]
