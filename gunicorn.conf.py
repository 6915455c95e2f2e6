"""gunicorn's settings; gunicorn reads this file from the folder it is started in.

    GUNICORN_BIND       the address to listen on (default 127.0.0.1:8000)
    WEB_CONCURRENCY     the number of worker processes (default 2)

`gunicorn` alone serves `incidents:create_app()`, whose configuration comes from
INCIDENTS_CONFIG; an application named on the command line (or with `--workers`) wins.

Before any worker starts, `on_starting` refuses a production server with more than one worker
while the login limits live in memory: each worker would count failed logins on its own, so an
account would get its 5 attempts once per worker. Redis (RATELIMIT_STORAGE_URI=redis://...)
keeps one count for every worker and every server.
"""

from __future__ import annotations

import gc
import json
import os
import re
from typing import Any

wsgi_app = "incidents:create_app()"
bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# No control socket (gunicorn 25.1+): every server on a host would share its one default path
# (~/.gunicorn/gunicorn.ctl), and the worker count it can change escapes the check below.
control_socket_disable = True


def _config_name(app_uri: str | None) -> str:
    """The configuration the app will load: named in `create_app('...')`, else INCIDENTS_CONFIG
    (as in `incidents.create_app`)."""
    named = re.search(r"create_app\(\s*['\"](\w+)['\"]", app_uri or "")
    return named[1] if named else os.environ.get("INCIDENTS_CONFIG") or "development"


def _env_setting(name: str) -> Any:
    """An INCIDENTS_ setting from the environment, parsed as `Flask.from_prefixed_env` does."""
    value = os.environ.get(f"INCIDENTS_{name}")
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def memory_limits_problem(app_uri: str | None, worker_count: int) -> str | None:
    """Why this server must not start, or None: login limits in memory, shared by nobody, in a
    production server with more than one worker."""
    from config import CONFIGS

    name = _config_name(app_uri)
    config = CONFIGS.get(name)
    if config is None or worker_count <= 1:
        return None  # an unknown name: create_app says so itself
    demo = _env_setting("DEMO")
    if demo if demo is not None else config.DEMO:
        return None
    storage = (
        _env_setting("RATELIMIT_STORAGE_URI")
        or (os.environ.get("RATELIMIT_STORAGE_URI") if name == "production" else None)
        or config.RATELIMIT_STORAGE_URI
    )
    if not str(storage).startswith("memory://"):
        return None
    return (
        f"incidents: the login limits are kept in each worker's memory ({storage}) while "
        f"gunicorn would run {worker_count} workers, so each worker would count failed logins "
        "on its own. Set RATELIMIT_STORAGE_URI=redis://HOST:6379 (one count for every worker "
        "and server), or run one worker (WEB_CONCURRENCY=1)."
    )


def on_starting(server: Any) -> None:
    """Refuse to start a production server whose login limits each worker would keep alone."""
    problem = memory_limits_problem(server.app.app_uri, server.cfg.workers)
    if problem:
        # gunicorn prints a RuntimeError as "Error: ..." and exits with status 1.
        raise RuntimeError(problem)


def post_worker_init(worker: Any) -> None:
    """The app is loaded: what it holds now (modules, routes, settings) lives as long as the
    worker. `gc.freeze()` moves it out of the collector's sight, so that a full collection
    walks only what requests made since (one took 70 to 100 ms, walking some 175,000 objects;
    now under 10 ms)."""
    gc.freeze()
