"""Fixtures: the app on SQLite and on a real PostgreSQL server, clients, and factories.

Every test that uses `app` runs twice: once per database. After each test all rows are
removed, so tests see real commits and start from an empty database.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, select, text

from config import TestConfig
from incidents import create_app, services
from incidents.extensions import db as _db
from incidents.extensions import limiter
from incidents.models import Role, Team, User
from incidents.services import sessions
from incidents.stats import tally
from incidents.stats.memo import memo
from tests.oidc_provider import OidcProvider, ProviderUnavailable, find_node
from tests.oidc_provider import started as started_oidc_provider
from tests.postgres_server import PostgresServer, find_bin_dir, memory_folder
from tests.redis_server import RedisServer, find_redis_server

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct horse battery"


def missing(what: str) -> None:
    """Skip for a missing system piece on a developer machine; fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available", pytrace=False)
    pytest.skip(f"{what} is not installed")


@pytest.hookimpl(trylast=True)  # after tests/e2e/conftest.py has marked its tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `postgresql_with(name=[values])` runs on PostgreSQL only with those values
    of its parameter `name` (on SQLite with all): for a sweep whose other values try what
    the templates do, the same on both databases, while what PostgreSQL could do differently
    (a query that fails there) one value already finds. Tests without the parameter run."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("postgresql_with")
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgresql = params.get("session_app") == "postgresql"
        if (
            marker
            and on_postgresql
            and any(
                name in params and params[name] not in values
                for name, values in marker.kwargs.items()
            )
        ):
            dropped.append(item)
            continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def started_postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the fixture that yields from this (stopped after)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        missing("PostgreSQL (initdb, pg_ctl)")
    assert bin_dir is not None
    server = PostgresServer(bin_dir, folder=memory_folder()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    yield from started_postgres()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server on a free loopback port (the login limits' shared store)."""
    binary = find_redis_server()
    if binary is None:
        missing("redis-server")
    assert binary is not None
    server = RedisServer(binary).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A real OpenID provider (oidc-provider from npm, on Node.js) on a free loopback port,
    installed into a folder of this session (tests/oidc_provider.py)."""
    node, npm = find_node()
    if node is None or npm is None:
        missing("Node.js and npm (for the test OpenID provider, oidc-provider)")
    assert node is not None and npm is not None
    try:
        provider = started_oidc_provider(node, npm, tmp_path_factory.mktemp("oidc-provider"))
    except ProviderUnavailable as error:
        missing(f"oidc-provider ({error})")
        raise
    yield provider
    provider.stop()


def make_app(database_url: str, **overrides: Any) -> Flask:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    for key, value in overrides.items():
        setattr(Config, key, value)
    return create_app(Config)


def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str
) -> str:
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.create_database(name)
    return "sqlite:///" + str(tmp_path_factory.mktemp(name) / "test.db")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def session_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app per database, its schema built by the migrations (upgrade from empty to head)."""
    from flask_migrate import upgrade

    evidence = tmp_path_factory.mktemp(f"evidence-{request.param}")
    app = make_app(
        database_url(request, tmp_path_factory, "incidents_test"),
        EVIDENCE_STORAGE=evidence.as_uri(),
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def app(session_app: Flask) -> Iterator[Flask]:
    """The app with an empty database; every row written by the test is removed afterwards."""
    session_app.test_client_class = Client
    with session_app.app_context():
        limiter.reset()
        yield session_app
        _db.session.rollback()
        _db.session.remove()
        drift = tally_drift()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(text("UPDATE team SET manager_id = NULL, deputy_id = NULL"))
                for table in tables:
                    conn.execute(table.delete())
        memo().clear()  # the tables were emptied behind the app's back, as a restore would
        # Every test doubles as a check that the statistics' running counts followed
        # whatever it changed: they must equal a full recount from the incidents.
        assert not drift, f"stat_tally differs from a full recount: {drift}"


def tally_drift() -> dict[Any, tuple[int, int]]:
    with _db.engine.connect() as connection:
        return tally.drift(connection)


class Client(FlaskClient):
    """A test client that adds a valid CSRF token to form posts, unless `csrf=False`."""

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            if "csrf_token" not in session:
                session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
            raw = session["csrf_token"]
        secret_key = self.application.secret_key
        assert secret_key is not None  # the test config sets one
        serializer = URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")
        return str(serializer.dumps(raw))

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Each request gets its own app context (its own `g` and database session), as in
        # production; otherwise it would share the test's context and its cached user.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_counter = itertools.count(1)


@pytest.fixture
def make_team(app: Flask) -> Callable[..., Team]:
    def make(name: str | None = None, **kwargs: Any) -> Team:
        name = name or f"Team {next(_counter)}"
        return services.create_team(
            None, name_nl=kwargs.pop("name_nl", name + " NL"), name_en=name, **kwargs
        )

    return make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    def make(
        role: Role = Role.EMPLOYEE,
        *,
        email: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> User:
        n = next(_counter)
        return services.create_user(
            None,
            email=email or f"user{n}@example.test",
            name=name or f"{role.value.title()} {n}",
            password=kwargs.pop("password", PASSWORD),
            role=role,
            **kwargs,
        )

    return make


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Log `client` in as `user` without the form (the form itself is tested in test_auth):
    a real session on the server, beginning now, whose opaque id goes into the cookie."""
    user_id = getattr(user, "id", None)
    with client.application.app_context():  # its own database session, committed at once
        if user_id is None:  # tests/web/test_faults.py names the account by its session_token
            user_id = _db.session.scalar(
                select(User.id).filter_by(session_token=user.session_token)
            )
        account = _db.session.get(User, user_id)
        assert account is not None, "login() needs a user that exists"
        token = sessions.start(account, address="127.0.0.1", user_agent="test client")
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


@pytest.fixture
def login_as(client: FlaskClient, make_user: Callable[..., User]) -> Callable[..., FlaskClient]:
    """`login_as(Role.MANAGER)` or `login_as(user)`: the client, logged in."""

    def as_(who: Role | User) -> FlaskClient:
        user = who if isinstance(who, User) else make_user(who)
        return login(client, user)

    return as_


def form_errors(html: str) -> list[str]:
    """The error messages shown next to fields."""
    return re.findall(r'<p class="error" id="([\w-]+)-error">', html)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, _connection: Any, _cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as counter:` counts the SQL statements run inside the block."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(_db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(_db.engine, "before_cursor_execute", counter)

    return counting


ROOT = Path(__file__).resolve().parent.parent


def run_fresh(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` in a new Python process with a fresh app's environment (a SQLite database
    in `folder`), for what a worker imports; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{folder / 'probe.db'}",
            "INCIDENTS_SECRET_KEY": "probe-secret-key-for-one-request",
        },
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result
