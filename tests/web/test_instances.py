"""More than one server: the login delays held in the database across two gunicorn instances
(with and without Redis), the flood cap falling back to memory when Redis is gone, gunicorn
refusing several workers whose cap would live in memory, and a small load run (bench/load.py)
through the real forms on both databases."""

from __future__ import annotations

import gc
import os
import runpy
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy

from bench import load
from bench.servers import BIN, Gunicorn, flask
from tests.conftest import PASSWORD, ROOT, missing
from tests.postgres_server import PostgresServer, free_port
from tests.redis_server import RedisServer, find_redis_server

NOWHERE = "postgresql://nobody@127.0.0.1:9/nothing"  # /healthz never connects


def production_env(database_url: str, workdir: Path, limits: str | None = None) -> dict[str, str]:
    """The environment of a production server on loopback (plain HTTP: cookies not Secure)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("INCIDENTS_")
        and k not in {"SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI", "WEB_CONCURRENCY"}
    }
    env.update(
        {
            "INCIDENTS_CONFIG": "production",
            "SECRET_KEY": "instances-test-" + "k" * 48,
            "DATABASE_URL": database_url,
            "BASE_URL": "http://127.0.0.1",
            "INCIDENTS_INSTANCE_PATH": str(workdir / "instance"),
            "INCIDENTS_SESSION_COOKIE_SECURE": "false",
        }
    )
    if limits:
        env["RATELIMIT_STORAGE_URI"] = limits
    return env


def login(server: Gunicorn, email: str, password: str) -> int:
    """One login through the form of `server`; the status of the POST (302: logged in)."""
    browser = load.Browser(server.url)
    form = browser.request("/login")
    assert form.status == 200
    data = {"csrf_token": load.hidden_value(form.text, "csrf_token") or "", "next": ""}
    return browser.request("/login", {**data, "email": email, "password": password}).status


def failed_login(server: Gunicorn, email: str) -> int:
    """One wrong password through the login form of `server`; the status of the POST."""
    return login(server, email, "not the password")


@pytest.fixture(scope="module")
def database_with_eva(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A PostgreSQL database migrated with `flask db upgrade`, with Eva's account made by
    `flask create-user`; its URL."""
    url = postgres_server.create_database("instances")
    env = production_env(url, tmp_path_factory.mktemp("setup"))
    flask(env, "db", "upgrade")
    flask(env, "create-user", "eva@example.test", "--name", "Eva", "--password", PASSWORD)
    return url


def forget_failed_logins(database_url: str) -> None:
    """Empty the login delays' table (the database is shared by this module's tests)."""
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DELETE FROM login_throttle"))
    engine.dispose()


@pytest.mark.parametrize("redis_for_limits", [True, False], ids=["redis", "without-redis"])
def test_the_login_delays_hold_across_two_servers(
    database_with_eva: str, request: pytest.FixtureRequest, tmp_path: Path, redis_for_limits: bool
) -> None:
    """The delays live in the database: two servers share them, with Redis (two workers each,
    Redis keeping the flood cap) or without (one worker each, the cap in each one's memory)."""
    limits, workers = None, 1
    if redis_for_limits:
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        redis.Redis.from_url(redis_server.url).flushall()
        limits, workers = redis_server.url, 2
    forget_failed_logins(database_with_eva)
    env = production_env(database_with_eva, tmp_path, limits=limits)
    env["INCIDENTS_LOGIN_DELAY_BASE_SECONDS"] = "600"  # a first delay no slow machine outlasts
    servers = [Gunicorn(env, tmp_path / f"gunicorn-{n}.log", workers=workers) for n in (1, 2)]
    try:
        for server in servers:
            server.start()
        # One SECRET_KEY and one database: a session begun on one server is good on the other.
        browser = load.Browser(servers[0].url)
        form = browser.request("/login")
        token = load.hidden_value(form.text, "csrf_token") or ""
        data = {"csrf_token": token, "email": "eva@example.test", "password": PASSWORD}
        assert browser.request("/login", {**data, "next": ""}).status == 302
        browser.base_url = servers[1].url
        assert "Welkom, Eva" in browser.request("/").text
        # Three wrong passwords, alternating between the servers (and their workers): then
        # every server makes the next attempt wait, even with the right password.
        statuses = [failed_login(servers[n % 2], "eva@example.test") for n in range(3)]
        assert statuses == [200] * 3
        assert login(servers[1], "eva@example.test", PASSWORD) == 429
        assert failed_login(servers[0], "eva@example.test") == 429
        # Another account is not slowed by Eva's failures.
        assert failed_login(servers[0], "other@example.test") == 200
    finally:
        for server in servers:
            server.stop()
        forget_failed_logins(database_with_eva)


def test_without_redis_logins_still_work_and_are_limited_per_worker(
    database_with_eva: str, tmp_path: Path
) -> None:
    binary = find_redis_server()
    if binary is None:
        missing("redis-server")
    assert binary is not None
    forget_failed_logins(database_with_eva)
    own_redis = RedisServer(binary).start()  # this test stops it
    env = production_env(database_with_eva, tmp_path, limits=own_redis.url)
    env["INCIDENTS_LOGIN_LIMIT_PER_ADDRESS"] = "5 per 15 minutes"  # the flood cap, made small
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=1)
    try:
        server.start()
        assert login(server, "eva@example.test", "wrong password") == 200
        # Redis hangs (it takes connections and never answers), then it is gone. Flask-Limiter
        # gives up after the 2 s timeout and falls back to the worker's memory (config.py).
        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        began = time.monotonic()
        assert login(server, "eva@example.test", PASSWORD) == 302
        assert time.monotonic() - began < 10
        own_redis.process.kill()  # a stopped process ignores SIGTERM
        # Wrong passwords for other accounts each (no delay): the worker's own memory counts
        # them toward the flood cap.
        statuses = [login(server, f"guess{n}@example.test", "wrong password") for n in range(6)]
        assert statuses == [200] * 5 + [429]
    finally:
        server.stop()
        if own_redis.process is not None and own_redis.process.poll() is None:
            own_redis.process.send_signal(signal.SIGCONT)
        own_redis.stop()
        forget_failed_logins(database_with_eva)


def gunicorn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """gunicorn started in the repository (so with gunicorn.conf.py), expected to exit."""
    return subprocess.run(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{free_port()}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gunicorn_refuses_workers_whose_limits_live_in_memory(tmp_path: Path) -> None:
    env = production_env(NOWHERE, tmp_path)
    # The defaults of gunicorn.conf.py: the app from INCIDENTS_CONFIG, two workers.
    result = gunicorn(env)
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI=redis://" in result.stderr
    assert "2 workers" in result.stderr
    result = gunicorn(env, "--workers", "3", "incidents:create_app('production')")
    assert result.returncode != 0 and "3 workers" in result.stderr
    # One worker keeps one count: it starts.
    server = Gunicorn(env, tmp_path / "one-worker.log", workers=1)
    try:
        server.start()
    finally:
        server.stop()


@pytest.fixture
def limits_problem(monkeypatch: pytest.MonkeyPatch) -> tuple[pytest.MonkeyPatch, Any]:
    """gunicorn.conf.py's check, with a clean environment to set variables in."""
    for name in ("INCIDENTS_CONFIG", "INCIDENTS_DEMO", "INCIDENTS_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return monkeypatch, settings["memory_limits_problem"]


@pytest.mark.parametrize(
    ("environ", "app_uri", "workers", "refused"),
    [
        ({"INCIDENTS_CONFIG": "production"}, "incidents:create_app()", 2, True),
        ({"INCIDENTS_CONFIG": "production"}, "incidents:create_app()", 1, False),
        ({}, "incidents:create_app('production')", 4, True),
        ({}, "incidents:create_app()", 4, False),  # development: demo data, one machine
        ({"INCIDENTS_CONFIG": "development"}, 'incidents:create_app("production")', 2, True),
        (
            {"INCIDENTS_CONFIG": "production", "RATELIMIT_STORAGE_URI": "redis://cache:6379"},
            "incidents:create_app()",
            4,
            False,
        ),
        (
            {
                "INCIDENTS_CONFIG": "production",
                "RATELIMIT_STORAGE_URI": "redis://cache:6379",
                "INCIDENTS_RATELIMIT_STORAGE_URI": "memory://",
            },
            "incidents:create_app()",
            2,
            True,
        ),
        (
            {"INCIDENTS_CONFIG": "production", "RATELIMIT_STORAGE_URI": "memory://"},
            "incidents:create_app()",
            2,
            True,
        ),
        # A production configuration set to demo mode is the demo.
        ({"INCIDENTS_CONFIG": "production", "INCIDENTS_DEMO": "true"}, None, 2, False),
    ],
)
def test_which_servers_gunicorn_refuses(
    limits_problem: tuple[pytest.MonkeyPatch, Any],
    environ: dict[str, str],
    app_uri: str | None,
    workers: int,
    refused: bool,
) -> None:
    monkeypatch, problem = limits_problem
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    found = problem(app_uri, workers)
    assert bool(found) == refused, found
    if refused:
        assert "RATELIMIT_STORAGE_URI=redis://" in found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_small_load_run_writes_every_report_once(
    backend: str, request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path
) -> None:
    """bench/load.py in small: 5 clients at once, 4 reports each, gunicorn with 2 workers."""
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database("load_small")
    else:
        url = "sqlite:///" + str(tmp_path / "load.db")
    result = load.run_load(
        backend, url, redis_server.url, tmp_path, clients=5, reports=4, workers=2, say=print
    )
    assert result.problems() == []
    assert result.found["incident"] == 20
    assert result.one_report["incident"] == 1
    assert all(result.one_report[t] for t in ("aftercare_step", "notification", "audit_event"))
    assert len(result.submit_ms) == 20


def test_a_worker_freezes_what_it_loaded_before_its_first_request() -> None:
    """What a worker holds once the app is loaded lives as long as the worker: after
    gunicorn.conf.py's `post_worker_init` the collector no longer walks it (a full collection
    of an unfrozen worker took 70 to 100 ms)."""
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
