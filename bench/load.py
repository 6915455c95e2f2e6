"""The load run of `make bench`: many people reporting at once, through the real forms.

Per backend: a fresh database (a SQLite file; a throwaway PostgreSQL server), migrated with
`flask db upgrade`, and accounts for the clients (an employee each, in teams of ten with a
manager); gunicorn with 4 workers and the production configuration, the login limits in a
throwaway Redis. Each of 50 clients logs in through the login form with a session of its own;
a barrier then releases them together, and each submits 20 reports: GET the report form (its
CSRF and submission tokens), POST it, open the new incident as a browser does.

Then it checks what was written, against what one report writes (the first client's first
report, measured alone before the others start): exactly clients x reports incidents, and in
every table but the statistics' running counts (`stat_tally`, upserted) that many times the
first report's rows; no HTTP errors; `flask stats check` clean. It prints one line a backend:

    LOAD sqlite 50x20 4 workers: 1000 reports in 24.4 s, 40.9 reports/s, submit p50 432.7 ms p95 643.3 ms, 0 HTTP errors; rows as 1000 x one report; stats check clean PASS

    python -m bench.load [--backends sqlite,postgresql] [--clients 50] [--reports 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import (
    Gunicorn,
    HarnessError,
    database,
    flask,
    percentile,
    shared_limits,
)

CLIENTS, REPORTS, WORKERS = 50, 20, 4
TEAM_SIZE = 10
PASSWORD = "load-password-2026"  # noqa: S105 - throwaway accounts of a throwaway database
# Upserted per (month, team, ...), the one row of their version, and the year's last incident
# number: not one row per report.
RUNNING_COUNTS = frozenset({"stat_tally", "stat_version", "incident_number"})
_INPUT = re.compile(r"<input\b[^>]*>")
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def hidden_value(html: str, name: str) -> str | None:
    """The value of the input called `name` in a page, or None."""
    for tag in _INPUT.findall(html):
        if f'name="{name}"' in tag:
            found = _VALUE.search(tag)
            return found[1] if found else ""
    return None


@dataclass
class Answer:
    status: int
    location: str
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """One person's browser: its own cookies; redirects are answers, not followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base_url + path, data=data)  # noqa: S310
        try:
            with self.opener.open(request, timeout=120) as response:
                return Answer(response.status, "", response.read().decode())
        except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx and 5xx
            with answer:
                return Answer(
                    answer.code, answer.headers.get("Location", ""), answer.read().decode()
                )
        except OSError as error:  # no answer at all (refused, reset, timed out): status 0
            return Answer(0, "", str(error))


@dataclass
class Client:
    """A logged-in employee submitting reports; keeps its submit latencies and its errors."""

    browser: Browser
    email: str
    submit_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def fail(self, what: str, answer: Answer) -> None:
        self.errors.append(f"{self.email}: {what} answered {answer.status} {answer.location}")

    def login(self) -> bool:
        form = self.browser.request("/login")
        if form.status != 200:
            self.fail("login form", form)
            return False
        answer = self.browser.request(
            "/login",
            {
                "csrf_token": hidden_value(form.text, "csrf_token") or "",
                "email": self.email,
                "password": PASSWORD,
                "next": "",
            },
        )
        if answer.status != 302:
            self.fail("login", answer)
            return False
        return True

    def report(self) -> None:
        form = self.browser.request(f"/incidents/new?t={secrets.token_urlsafe(24)}")
        token = hidden_value(form.text, "submission_token")
        if form.status != 200 or not token:
            self.fail("report form", form)
            return
        data = {
            "csrf_token": hidden_value(form.text, "csrf_token") or "",
            "submission_token": token,
            "occurred_at": hidden_value(form.text, "occurred_at") or "",
            # The same report every time: each writes the same rows as the first.
            "channel": "counter",
            "types": "threat",
            "description": "Client threatened to come back after the decision was explained.",
            "affected_self": "y",
            "perpetrator_known": "unknown",
            "submit": "Submit report",
        }
        began = time.perf_counter()
        answer = self.browser.request(f"/incidents/new?t={token}", data)
        self.submit_ms.append((time.perf_counter() - began) * 1000)
        if answer.status not in (302, 303) or "/incidents/" not in answer.location:
            self.fail("submit", answer)
            return
        # As a browser does: open the new incident (which shows and clears the thank-you).
        shown = self.browser.request(urllib.parse.urlsplit(answer.location).path)
        if shown.status != 200:
            self.fail("new incident", shown)


@dataclass
class LoadResult:
    backend: str
    clients: int
    reports: int
    workers: int
    seconds: float = 0.0  # the concurrent part: every report but the first
    submit_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    one_report: dict[str, int] = field(default_factory=dict)  # rows the first report wrote
    expected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    stats_check: str = ""
    stats_clean: bool = False
    phases: dict[str, float] = field(default_factory=dict)  # seconds, in order

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(time.perf_counter() - began, 2)

    @property
    def submitted(self) -> int:
        return self.clients * self.reports

    @property
    def per_second(self) -> float:
        return (self.submitted - 1) / self.seconds if self.seconds else 0.0

    def row_problems(self) -> list[str]:
        """Tables whose rows are not what `submitted` times the first report's would make."""
        found = []
        if self.one_report.get("incident") != 1:
            found.append(f"the first report wrote {self.one_report.get('incident', 0)} incidents")
        for table in ("aftercare_step", "notification", "audit_event"):
            if not self.one_report.get(table):
                found.append(f"the first report wrote no {table} rows")
        for table, rows in self.expected.items():
            if self.found.get(table) != rows:
                found.append(f"{table}: {self.found.get(table)} rows, expected {rows}")
        return found

    def problems(self) -> list[str]:
        """What went wrong: HTTP errors, rows that differ, running counts that drift."""
        found = self.row_problems()
        if self.errors:
            found.insert(0, f"{len(self.errors)} HTTP errors, e.g. {self.errors[0]}")
        if not self.stats_clean:
            found.append(f"flask stats check: {self.stats_check.strip()}")
        return found

    def line(self) -> str:
        problems = self.problems()
        rows = "rows differ" if self.row_problems() else f"rows as {self.submitted} x one report"
        return (
            f"LOAD {self.backend} {self.clients}x{self.reports} {self.workers} workers: "
            f"{self.submitted} reports in {self.seconds:.1f} s, {self.per_second:.1f} reports/s, "
            f"submit p50 {percentile(self.submit_ms, 0.50):.1f} ms "
            f"p95 {percentile(self.submit_ms, 0.95):.1f} ms, {len(self.errors)} HTTP errors; "
            f"{rows}; stats check {'clean' if self.stats_clean else 'DRIFT'} "
            f"{'FAIL' if problems else 'PASS'}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "clients": self.clients,
            "reports_each": self.reports,
            "workers": self.workers,
            "submitted": self.submitted,
            "seconds": round(self.seconds, 2),
            "reports_per_second": round(self.per_second, 2),
            "submit_p50_ms": round(percentile(self.submit_ms, 0.50), 1),
            "submit_p95_ms": round(percentile(self.submit_ms, 0.95), 1),
            "http_errors": len(self.errors),
            "error_examples": self.errors[:5],
            "one_report": self.one_report,
            "expected": self.expected,
            "found": self.found,
            "stats_clean": self.stats_clean,
            "phases_seconds": self.phases,
            "problems": self.problems(),
        }


def make_accounts(url: str, clients: int) -> list[str]:
    """One employee a client, in teams of TEAM_SIZE with a manager each; their e-mails."""
    from config import ProductionConfig
    from incidents import create_app, services
    from incidents.extensions import db
    from incidents.models import Role

    config = ProductionConfig()
    config.SECRET_KEY = secrets.token_hex(32)
    config.SQLALCHEMY_DATABASE_URI = url
    config.BASE_URL = "http://127.0.0.1"  # production refuses to start without one
    app = create_app(config)
    emails: list[str] = []
    with app.app_context():
        for first in range(0, clients, TEAM_SIZE):
            n = first // TEAM_SIZE + 1
            manager = services.create_user(
                None,
                email=f"manager{n}@load.test",
                name=f"Manager {n}",
                password=PASSWORD,
                role=Role.MANAGER,
            )
            team = services.create_team(
                None, name_nl=f"Team {n}", name_en=f"Team {n}", manager=manager
            )
            for i in range(first, min(first + TEAM_SIZE, clients)):
                email = f"employee{i + 1}@load.test"
                services.create_user(
                    None,
                    email=email,
                    name=f"Employee {i + 1}",
                    password=PASSWORD,
                    role=Role.EMPLOYEE,
                    team=team,
                )
                emails.append(email)
        db.engine.dispose()
    return emails


def count_rows(url: str) -> dict[str, int]:
    """The number of rows of every table of the app."""
    from sqlalchemy import create_engine, func, inspect, select, table

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
            return {
                name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
                for name in sorted(names)
            }
    finally:
        engine.dispose()


def run_load(
    backend: str,
    url: str,
    limits_url: str,
    workdir: Path,
    *,
    clients: int = CLIENTS,
    reports: int = REPORTS,
    workers: int = WORKERS,
    say: Callable[[str], None] = print,
) -> LoadResult:
    """Migrate the empty database at `url`, serve it, load it, and check what was written."""
    env = {
        **os.environ,
        "INCIDENTS_CONFIG": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "RATELIMIT_STORAGE_URI": limits_url,
        "BASE_URL": "http://127.0.0.1",
        "INCIDENTS_INSTANCE_PATH": str(workdir / "instance"),
        # Plain HTTP on loopback: a Secure cookie would never come back from the client.
        "INCIDENTS_SESSION_COOKIE_SECURE": "false",
    }
    result = LoadResult(backend, clients, reports, workers)
    with result.phase("migrate"):
        flask(env, "db", "upgrade")
    with result.phase("accounts"):
        emails = make_accounts(url, clients)
    server = Gunicorn(env, workdir / f"gunicorn-load-{backend}.log", workers=workers)
    with result.phase("gunicorn_start"):
        server.start()
    people = [Client(Browser(server.url), email) for email in emails]
    try:
        logged_in = threading.Barrier(clients + 1, timeout=600)
        go = threading.Barrier(clients + 1, timeout=600)

        def work(client: Client, first: bool) -> None:
            ok = client.login()
            logged_in.wait()
            go.wait()
            for _ in range(reports - 1 if first else reports):
                if ok:
                    client.report()

        threads = [
            threading.Thread(target=work, args=(c, i == 0), daemon=True)
            for i, c in enumerate(people)
        ]
        with result.phase("login"):
            for thread in threads:
                thread.start()
            logged_in.wait()
        before = count_rows(url)
        people[0].report()  # alone: what one report writes
        after = count_rows(url)
        result.one_report = {t: after[t] - before[t] for t in after if after[t] != before[t]}
        began = time.perf_counter()
        go.wait()
        for thread in threads:
            thread.join()
        result.seconds = time.perf_counter() - began
    finally:
        server.stop()
    for client in people:
        result.submit_ms += client.submit_ms
        result.errors += client.errors
    result.found = count_rows(url)
    result.expected = {
        table: before[table] + result.submitted * (after[table] - before[table])
        for table in before
        if table not in RUNNING_COUNTS
    }
    with result.phase("stats_check"):
        try:
            result.stats_check = flask(env, "stats", "check")
            result.stats_clean = True
        except HarnessError as error:
            result.stats_check = str(error)
    result.phases["reports"] = round(result.seconds, 2)
    say(result.line())
    say("    one report writes: " + ", ".join(f"{t} {n}" for t, n in result.one_report.items()))
    say("    phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items()))
    for problem in result.problems():
        say(f"    problem: {problem}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--reports", type=int, default=REPORTS, help="per client")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    options = parser.parse_args(argv)
    failed = False
    with shared_limits() as limits_url:
        for backend in [b.strip() for b in options.backends.split(",") if b.strip()]:
            workdir = Path(tempfile.mkdtemp(prefix=f"incidents-load-{backend}-"))
            try:
                with database(backend, workdir) as url:
                    result = run_load(
                        backend,
                        url,
                        limits_url,
                        workdir,
                        clients=options.clients,
                        reports=options.reports,
                        workers=options.workers,
                    )
                failed = failed or bool(result.problems())
            except (Exception, SystemExit):
                traceback.print_exc()
                failed = True
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
