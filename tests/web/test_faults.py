"""Faults: a database that stops answering and comes back, and readiness on a read-only database.

The PostgreSQL server here is this module's own (tests/postgres_server.py): the tests stop it
under a running app and make it read-only, which the session's shared server must not see.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from werkzeug.test import TestResponse

from incidents import services
from incidents.errors import database_unavailable
from incidents.extensions import db
from incidents.models import AuditEvent, Incident, Role
from tests.conftest import PASSWORD, Client, login, make_app, started_postgres
from tests.postgres_server import PostgresServer

DUTCH = "De dienst is even niet beschikbaar. Er is niets opgeslagen; probeer het zo opnieuw."
ENGLISH = "The service is briefly unavailable. Nothing was saved; please try again in a moment."
EMAIL = "eva@example.test"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this module's own: the tests stop and start it."""
    yield from started_postgres()


def migrated_app(url: str) -> tuple[Flask, str]:
    """An app on `url` with its schema and one employee; returns the app and the employee's
    session token."""
    app = make_app(url)
    app.test_client_class = Client
    with app.app_context():
        upgrade()
        team = services.create_team(None, name_nl="Inkomen", name_en="Income")
        user = services.create_user(
            None, email=EMAIL, name="Eva Employee", password=PASSWORD, role=Role.EMPLOYEE, team=team
        )
        token = user.session_token
    return app, token


@pytest.fixture(scope="module")
def postgres_app(own_postgres: PostgresServer) -> Iterator[tuple[Flask, str]]:
    app, token = migrated_app(own_postgres.create_database("faults"))
    yield app, token
    with app.app_context():
        db.engine.dispose()


def logged_in(app: Flask, session_token: str) -> FlaskClient:
    """A client of `app` logged in as the account with this session token."""
    return login(app.test_client(), cast(Any, SimpleNamespace(session_token=session_token)))


def count(app: Flask, model: type = Incident) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def report_form(client: FlaskClient) -> tuple[str, dict[str, str]]:
    """The report form's address (with its submission token) and a complete report."""
    page = client.get("/incidents/new", follow_redirects=True)
    assert page.status_code == 200
    token = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', page.text)
    occurred = re.search(r'name="occurred_at"[^>]*value="([^"]+)"', page.text)
    assert token and occurred
    return f"/incidents/new?t={token[1]}", {
        "submission_token": token[1],
        "occurred_at": occurred[1],
        "channel": "counter",
        "types": "verbal",
        "description": "Client shouted at the counter.",
        "affected_self": "y",
        "perpetrator_known": "unknown",
        "submit": "Submit report",
    }


def assert_unavailable(response: TestResponse, text: str, lang: str) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.text
    assert text in page
    assert f'<html lang="{lang}">' in page


PostgresApp = tuple[Flask, str]


def test_an_outage_answers_503_in_the_users_language_and_the_app_recovers(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    app, eva = postgres_app
    client = logged_in(app, eva)
    anonymous = app.test_client()
    assert client.get("/").status_code == 200  # the pool now holds a live connection
    own_postgres.pause()
    try:
        # Logged in: the first query of the request (loading the user) finds no database.
        response = client.get("/")
        assert_unavailable(response, DUTCH, "nl")
        assert "Foutcode 503" in response.text
        assert "Eva Employee" not in response.text  # rendered as if logged out: no query
        browser_english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert_unavailable(browser_english, ENGLISH, "en")
        # Not logged in: the login form's POST looks the account up.
        response = anonymous.post("/login", data={"email": EMAIL, "password": PASSWORD})
        assert_unavailable(response, DUTCH, "nl")
        assert anonymous.get("/healthz").status_code == 200
        ready = anonymous.get("/readyz")
        assert (ready.status_code, ready.text) == (503, "database unavailable\n")
        # The language switch is kept in the session (cookie): it wins over the browser's.
        with client.session_transaction() as session:
            session["locale"] = "en"
        assert_unavailable(client.get("/", headers={"Accept-Language": "nl"}), ENGLISH, "en")
    finally:
        own_postgres.resume()
    # The same app, without a restart: the pool replaces the connections the outage broke.
    response = client.get("/")
    assert response.status_code == 200
    assert "Welcome, Eva Employee" in response.text
    assert anonymous.get("/readyz").status_code == 200


def test_a_server_restarted_between_requests_costs_no_request(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    # No request meets the outage, so nothing has told the pool: the connection it holds is
    # closed by the server, and the first request after the restart must not be the one that
    # finds out.
    app, eva = postgres_app
    client = logged_in(app, eva)
    assert client.get("/").status_code == 200
    own_postgres.pause()
    own_postgres.resume()
    response = client.get("/")
    assert response.status_code == 200
    assert "Eva Employee" in response.text


def test_a_session_the_server_ended_is_replaced_without_an_error(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    app, eva = postgres_app
    client = logged_in(app, eva)
    assert client.get("/").status_code == 200
    own_postgres.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = 'faults' AND pid <> pg_backend_pid()"
    )
    for _ in range(3):  # every pooled connection is gone; each is noticed as it is taken
        assert client.get("/").status_code == 200


def last_statement(server: PostgresServer, pid: int) -> str:
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        row = conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("ping_after", [0.2, 60.0])
def test_a_pooled_connection_is_pinged_only_after_it_was_idle_a_while(
    own_postgres: PostgresServer, ping_after: float
) -> None:
    from sqlalchemy import create_engine

    from incidents import liveness

    engine = create_engine(own_postgres.url(), pool_size=1, max_overflow=0)
    liveness.init_engine(engine, ping_after=ping_after)
    try:
        with engine.connect() as conn:
            pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        returned = last_statement(own_postgres, pid)  # the pool's reset as it came back
        with engine.connect():  # straight back out of the pool: no ping
            assert last_statement(own_postgres, pid) == returned
        time.sleep(0.3)
        with engine.connect() as conn:
            pinged = last_statement(own_postgres, pid) != returned
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
        assert pinged == (ping_after < 0.3)
    finally:
        engine.dispose()


def test_a_connection_that_does_not_answer_a_ping_is_replaced(
    own_postgres: PostgresServer,
) -> None:
    from sqlalchemy import create_engine

    from incidents import liveness

    engine = create_engine(own_postgres.url(), pool_size=1, max_overflow=0)
    liveness.init_engine(engine, ping_after=0.0)
    failed: list[int] = []
    real_ping = engine.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        if not failed:  # the first ping meets a connection gone silent (no FIN, as a host lost)
            failed.append(1)
            raise psycopg.OperationalError("timed out")
        return bool(real_ping(dbapi_connection))

    engine.dialect.do_ping = ping  # type: ignore[method-assign]
    try:
        with engine.connect() as conn:
            first = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != first
        assert failed == [1]
    finally:
        engine.dispose()


def test_a_report_sent_during_an_outage_stores_nothing(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    app, eva = postgres_app
    client = logged_in(app, eva)
    address, report = report_form(client)
    incidents, events = count(app), count(app, AuditEvent)
    own_postgres.pause()
    try:
        assert_unavailable(client.post(address, data=report), DUTCH, "nl")
    finally:
        own_postgres.resume()
    assert (count(app), count(app, AuditEvent)) == (incidents, events)
    # Sent again once the database is back, the same form makes its report.
    response = client.post(address, data=report)
    assert response.status_code == 302 and "/incidents/" in response.headers["Location"]
    assert count(app) == incidents + 1


def test_a_connection_lost_while_saving_saves_none_of_the_report(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    """The server ends the connection in the middle of the report's transaction (as a crash
    or a failover would): 503, none of what the transaction had written is kept."""
    app, eva = postgres_app
    client = logged_in(app, eva)
    address, report = report_form(client)
    incidents, events = count(app), count(app, AuditEvent)
    killed: list[int] = []

    def end_connection(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO aftercare_step") and not killed:
            pid = conn.connection.driver_connection.info.backend_pid
            own_postgres.admin(f"SELECT pg_terminate_backend({pid}, 5000)")  # waits for it
            killed.append(pid)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", end_connection)
    try:
        response = client.post(address, data=report)
    finally:
        event.remove(engine, "before_cursor_execute", end_connection)
    assert killed, "the report never wrote its steps"
    assert_unavailable(response, DUTCH, "nl")
    assert (count(app), count(app, AuditEvent)) == (incidents, events)
    assert client.get("/").status_code == 200


def test_a_sqlite_file_that_cannot_be_opened_answers_503(tmp_path: Path) -> None:
    app = make_app("sqlite:///" + str(tmp_path / "gone" / "incidents.db"))
    client = app.test_client()
    with client.session_transaction() as session:  # a session cookie: loading it needs the file
        session["_user_id"] = "x" * 43
    assert_unavailable(client.get("/"), DUTCH, "nl")
    assert_unavailable(client.get("/", headers={"Accept-Language": "en"}), ENGLISH, "en")


def test_readyz_answers_503_on_a_read_only_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "incidents.db"
    writable, _ = migrated_app(f"sqlite:///{path}")
    assert writable.test_client().get("/readyz").status_code == 200
    # The same file opened read-only (as a read-only mount or file would be): a SELECT still
    # answers, a write does not.
    read_only = make_app(f"sqlite:///file:{path}?mode=ro&uri=true")
    response = read_only.test_client().get("/readyz")
    assert (response.status_code, response.text) == (503, "database read-only\n")
    with read_only.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 0
    assert writable.test_client().get("/readyz").status_code == 200
    for app in (writable, read_only):
        with app.app_context():
            db.engine.dispose()


def test_readyz_says_when_the_database_is_locked_or_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "incidents.db"
    writer, _ = migrated_app(f"sqlite:///{path}")
    # Another process holds SQLite's write lock longer than the app waits for it.
    app = make_app(
        f"sqlite:///{path}",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.1}},
    )
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        response = app.test_client().get("/readyz")
        assert (response.status_code, response.text) == (503, "database locked\n")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert app.test_client().get("/readyz").status_code == 200
    empty = make_app("sqlite:///" + str(tmp_path / "empty.db"))
    response = empty.test_client().get("/readyz")
    assert (response.status_code, response.text) == (503, "database not migrated\n")
    for each in (writer, app, empty):
        with each.app_context():
            db.engine.dispose()


def wait_for_readyz(client: FlaskClient, status: int) -> str:
    """/readyz's body once it answers `status`: a configuration reload reaches each server
    process between two of its statements, so the first probe may still see the old setting."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get("/readyz")
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return str(response.text)
        time.sleep(0.05)


def test_readyz_answers_503_on_read_only_postgresql(
    postgres_app: PostgresApp, own_postgres: PostgresServer
) -> None:
    app, _ = postgres_app
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    # The server turns read-only (as a standby, or a server protecting a full disk, does):
    # the app's open connections see it too.
    own_postgres.admin(
        "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"
    )
    try:
        assert wait_for_readyz(client, 503) == "database read-only\n"
    finally:
        own_postgres.admin("ALTER SYSTEM RESET default_transaction_read_only")
        own_postgres.admin("SELECT pg_reload_conf()")
    wait_for_readyz(client, 200)
    # A read-only session from the start (a role or connection set read-only).
    read_only = make_app(
        own_postgres.url("faults") + "?options=-c%20default_transaction_read_only%3Don"
    )
    response = read_only.test_client().get("/readyz")
    assert (response.status_code, response.text) == (503, "database read-only\n")
    with read_only.app_context():
        db.engine.dispose()


def sqlite_error(message: str, code: int) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("SELECT 1", {}, psycopg.OperationalError("connection failed")), True),
        (OperationalError(None, None, psycopg.errors.AdminShutdown("shutting down")), True),
        (OperationalError(None, None, psycopg.errors.CannotConnectNow("starting up")), True),
        (OperationalError(None, None, psycopg.errors.TooManyConnections("too many")), True),
        (InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is lost")), True),
        (OperationalError(None, None, sqlite_error("unable to open database file", 14)), True),
        (DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), True),
        # SQLite's one writer held the file past the busy timeout: nothing done, try again.
        (OperationalError("UPDATE", {}, sqlite_error("database is locked", 5)), True),
        # A database that answered: a serialisation failure, a lock, a constraint.
        (OperationalError("UPDATE", {}, psycopg.errors.SerializationFailure("retry")), False),
        (OperationalError("UPDATE", {}, psycopg.errors.LockNotAvailable("locked")), False),
        (OperationalError("SELECT", {}, sqlite_error("no such table: incident", 1)), False),
        (IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate")), False),
    ],
    ids=lambda value: type(getattr(value, "orig", value)).__name__,
)
def test_only_a_database_that_does_not_answer_is_unavailable(
    error: DBAPIError, unavailable: bool
) -> None:
    assert database_unavailable(error) is unavailable


def test_other_database_errors_stay_a_500(tmp_path: Path) -> None:
    app, eva = migrated_app("sqlite:///" + str(tmp_path / "incidents.db"))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page

    @app.route("/locked")
    def locked() -> str:
        raise OperationalError("SELECT", {}, sqlite_error("no such table: incident", 1))

    locked.allowed_roles = frozenset(Role)  # type: ignore[attr-defined]
    response = logged_in(app, eva).get("/locked")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert "Er is niets opgeslagen; probeer het later opnieuw." in response.text
    with app.app_context():
        db.engine.dispose()
