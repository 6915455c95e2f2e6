"""`make bench`: latency, throughput and memory of the app on SQLite and PostgreSQL (issue #8).

Per backend: build the schema with the migrations, add the organisation (15,000 staff) and
10,000 incidents, serve the app with gunicorn (2 workers), run each scenario with locust, load
the report form on a throttled phone (bench/phone.py), stop gunicorn; then grow the same
database to 1,000,000 incidents (`--quick`: 100,000) and measure again. Then the load
run (bench/load.py) on a fresh database: 50 clients submitting 20 reports each (`--quick`: 5)
at once to gunicorn with 4 workers. The login limits of every gunicorn live in one throwaway
Redis. Prints a table, one `RATIO <backend>.<target> <value> <limit> PASS|FAIL` line per target
and backend (a figure without a target has no verdict) and one `LOAD ...` line per backend, and
writes everything to bench/results/<timestamp>.json and bench/results/latest.json.

Exit status 0 when everything was measured, even when a target is missed (that is a result);
1 when the harness broke (a server did not start, or every request of a scenario failed), or
the load run lost or doubled rows, had HTTP errors or left the running counts drifting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import generate, load, phone
from bench.servers import (
    ROOT,
    CpuMeter,
    Gunicorn,
    HarnessError,
    Measurement,
    database,
    run_locust,
    shared_limits,
)

RESULTS = Path(__file__).with_name("results")
SMALL, LARGE, QUICK_LARGE = 10_000, 1_000_000, 100_000
# The locust user class of each scenario and the request names it measures.
SCENARIOS = (
    ("Healthz", ("healthz",)),
    ("Statistics", ("statistics",)),
    ("Inbox", ("inbox",)),
    ("IncidentPage", ("incident",)),
    ("ReportForm", ("form",)),
    ("Submit", ("submit_post", "submit")),
)
ENDPOINTS = tuple(endpoint for _, endpoints in SCENARIOS for endpoint in endpoints)
PHONE = "phone_form"  # the phone check's line in the table
INCIDENT_SAMPLE = 200
COLLEAGUE_SAMPLE = 200  # witnesses the submissions name, from all over the organisation
NOISY = 0.2  # cores taken by others during a scenario: its numbers are then suspect


@dataclass(frozen=True)
class Target:
    """A goal of issues #8 and #17: a figure within one run on one server. A figure without
    a comparison is reported, not judged."""

    name: str
    comparison: str  # "<=", ">=", or "" for a figure without a target
    limit: float
    meaning: str

    def passes(self, value: float) -> bool | None:
        if not self.comparison:
            return None
        return value <= self.limit if self.comparison == "<=" else value >= self.limit

    @property
    def goal(self) -> str:
        return f"{self.comparison}{self.limit:g}" if self.comparison else "(no target)"


TARGETS = (
    Target("stats_1m_vs_10k", "<=", 1.5, "statistics p95 at the large size / at 10k"),
    Target("inbox_1m_vs_10k", "<=", 1.5, "inbox p95 at the large size / at 10k"),
    Target("stats_vs_healthz", "<=", 8, "statistics p95 / healthz p95 at the large size"),
    Target("submit_post_vs_healthz", "<=", 10, "report POST p95 / healthz p95, large size"),
    Target(
        "submit_vs_healthz",
        "",
        0,
        "submit flows (form, POST, incident page) per second / healthz per second, large size",
    ),
    Target("form_kb_15k", "<=", 40, "the report form's HTML in kB, 15,000 staff, large size"),
    Target(
        "phone_form_ms",
        "<=",
        2000,
        "report form usable on the throttled phone (ms, median of the loads), large size",
    ),
    Target("worker_rss_mb", "<=", 200, "peak resident memory of a worker (MiB), large size"),
)


class Phases:
    """How long each phase took, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - began, 2)


def say(message: str) -> None:
    print(message, flush=True)


def size_label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def choose_accounts(conn: Any, org: generate.Organisation) -> dict[str, Any]:
    """Who logs in for which scenario, and which incidents the manager opens.

    The manager is the front-office manager (the eight counter teams), whose first inbox page
    is full at every size: the inbox's growth then comes from the data, not from a page that
    fills up."""
    from sqlalchemy import func, or_, select

    from incidents.models import AftercareStep, Incident, IncidentStatus, StepStatus, Team, User

    manager = conn.scalar(select(User.id).where(User.email == generate.FRONT_OFFICE_EMAIL))
    teams = org.managed_by(manager)
    incident_ids = conn.scalars(
        select(Incident.id)
        .where(Incident.team_id.in_(teams), Incident.status == IncidentStatus.SUBMITTED)
        .order_by(func.random())
        .limit(INCIDENT_SAMPLE)
    ).all()
    managed = select(Team.id).where(or_(Team.manager_id == manager, Team.deputy_id == manager))
    open_steps = conn.scalar(
        select(func.count(AftercareStep.id)).where(
            AftercareStep.status == StepStatus.OPEN,
            or_(AftercareStep.owner_id == manager, AftercareStep.team_id.in_(managed)),
        )
    )
    reporter_ids = [org.members[t][0] for t in org.teams[:: max(1, len(org.teams) // 4)]][:4]
    everyone = sorted(set(org.team_of) - set(reporter_ids))
    rng = random.Random(17)  # noqa: S311 - which colleagues are named, not a secret
    return {
        "password": generate.PASSWORD,
        "hr": [generate.HR_EMAIL],
        "manager": [org.emails[manager]],
        "employees": [org.emails[r] for r in reporter_ids],
        "colleagues": rng.sample(everyone, min(COLLEAGUE_SAMPLE, len(everyone))),
        "incident_ids": list(incident_ids),
        "manager_teams": teams,
        "team_incidents": conn.scalar(select(func.count()).where(Incident.team_id.in_(teams))),
        "manager_open_steps": open_steps,
        "staff": conn.scalar(select(func.count(User.id))),
        "incidents": conn.scalar(select(func.count(Incident.id))),
    }


def bench_backend(
    backend: str,
    url: str,
    workdir: Path,
    sizes: tuple[int, ...],
    options: argparse.Namespace,
    phases: Phases,
    on_measured: Callable[[str, int, Measurement], None],
    limits_url: str,
) -> dict[str, Any]:
    """Fill, serve and measure one backend at each size; returns what it found."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from incidents import create_app, passwords
    from incidents.extensions import db
    from incidents.queries import INBOX_PAGE

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "BASE_URL": "http://127.0.0.1",
        "INCIDENTS_INSTANCE_PATH": str(workdir / "instance"),
        # Plain HTTP on loopback: a Secure cookie would never come back from the client, and
        # a browser keeps a cookie named __Host- only when it is Secure.
        "INCIDENTS_SESSION_COOKIE_SECURE": "false",
        "INCIDENTS_SESSION_COOKIE_NAME": "bench-session",
        # Production asks HR and managers for a second factor at login; the scenarios log in
        # with the password alone (the login is not what they measure).
        "INCIDENTS_TWO_FACTOR_ROLES": "[]",
        "RATELIMIT_STORAGE_URI": limits_url,
    }
    os.environ.update(
        {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "BASE_URL", "INCIDENTS_INSTANCE_PATH")}
    )
    app = create_app("production")
    found: dict[str, Any] = {"generation": [], "sizes": {}}
    with app.app_context():
        with phases(f"{backend}.schema"):
            logging.disable(logging.INFO)  # the migrations' progress lines
            try:
                upgrade()
            finally:
                logging.disable(logging.NOTSET)
            if backend == "sqlite":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            generate.setup_organisation(db.engine, passwords.hash_password(generate.PASSWORD))
        protocol = app.extensions["protocol"]
        previous = 0
        for size in sizes:
            label = f"{backend}.{size_label(size)}"
            with phases(f"{label}.generate"):
                made = generate.generate(db.engine, previous, size, protocol=protocol)
            say(
                f"[{label}] {made.incidents:,} incidents added in {made.seconds:.1f} s "
                f"(indexes {made.index_seconds:.1f} s): "
                + ", ".join(f"{table} {n:,}" for table, n in made.rows.items())
            )
            # Planner statistics first: without them PostgreSQL plans the recount badly (at 10k
            # incidents 3 minutes instead of 2 seconds); then again for the counts it wrote.
            with phases(f"{label}.analyze"):
                generate.analyze(db.engine)
            with phases(f"{label}.statistics_rebuild"):
                rebuilt = generate.rebuild_statistics(db.engine)
                generate.analyze(db.engine)
            say(
                f"[{label}] statistics rebuild: {rebuilt} "
                f"({phases.seconds[f'{label}.statistics_rebuild']:.1f} s); "
                f"analyze {phases.seconds[f'{label}.analyze']:.1f} s"
            )
            with db.engine.connect() as conn:
                params = choose_accounts(conn, generate.load_organisation(conn))
                if backend == "sqlite":
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.engine.dispose()  # gunicorn's workers get the database to themselves
            params_file = workdir / "params.json"
            params_file.write_text(json.dumps(params))
            say(
                f"[{label}] {params['incidents']:,} incidents, {params['staff']:,} staff; the "
                f"front-office manager ({len(params['manager_teams'])} teams, "
                f"{params['team_incidents']:,} incidents), open steps: "
                f"{params['manager_open_steps']:,}"
            )
            if params["manager_open_steps"] < INBOX_PAGE:
                say(
                    f"    not full: the manager's first inbox page ({INBOX_PAGE} steps) is not "
                    f"full at {size_label(size)}; inbox_1m_vs_10k compares pages that differ"
                )
            server = Gunicorn(env, workdir / f"gunicorn-{backend}-{size}.log")
            with phases(f"{label}.gunicorn_start"):
                server.start()
            version = code_version()
            try:
                with phases(f"{label}.locust"):
                    for user_class, endpoints in SCENARIOS:
                        for measured in run_locust(
                            user_class,
                            endpoints,
                            server.url,
                            params_file,
                            workdir,
                            seconds=options.seconds,
                            users=options.users,
                        ):
                            on_measured(backend, size, measured)
                with phases(f"{label}.phone"):
                    checked = check_phone(server.url, params, options.phone_loads, label)
                if checked is not None:
                    on_measured(backend, size, checked[0])
                rss = server.peak_rss_mb()
            finally:
                server.stop()
            found["generation"].append({"size": size, **asdict(made)})
            hidden = ("password", "incident_ids", "colleagues")
            found["sizes"][str(size)] = {
                "code": version,
                "statistics_rebuild": rebuilt,
                "worker_peak_rss_mb": {str(pid): round(mb, 1) for pid, mb in rss.items()},
                "phone": checked[1].as_dict() if checked is not None else None,
                **{k: v for k, v in params.items() if k not in hidden},
            }
            say(f"[{label}] worker peak RSS: " + ", ".join(f"{mb:.0f} MiB" for mb in rss.values()))
            previous = size
    return found


def check_phone(
    url: str, params: dict[str, Any], loads: int, label: str
) -> tuple[Measurement, phone.PhoneResult] | None:
    """The report form on the throttled phone, as one line of the table (None: not run)."""
    if loads <= 0:
        return None
    meter = CpuMeter()
    result = phone.check_report_form(url, params["employees"][0], params["password"], loads)
    if result.skipped:
        say(f"[{label}] phone check skipped: {result.skipped}")
        return None
    other_cpu, stolen = meter.others()
    loaded = result.loads

    def median(key: str) -> float:
        values = [load[key] for load in loaded if load.get(key) is not None]
        return statistics.median(values) if values else 0.0

    if loaded:
        say(
            f"[{label}] phone: usable after {median('usable_ms'):.0f} ms (median of "
            f"{len(loaded)}): redirect {median('redirect_ms'):.0f} ms, document "
            f"{median('response_end_ms'):.0f} ms, DOMContentLoaded "
            f"{median('dom_content_loaded_ms'):.0f} ms; {median('usable_after_redirect_ms'):.0f}"
            f" ms from the form's own address; {median('requests'):.0f} requests, "
            f"{median('transfer_bytes') / 1000:.0f} kB"
        )
    measured = Measurement(
        endpoint=PHONE,
        requests=loads,
        failures=len(result.failures),
        rps=0.0,
        p50_ms=result.median_ms(),
        p95_ms=result.p95_ms(),
        failure_examples=[f"{PHONE}: {failure}" for failure in result.failures[:5]],
        others={},
        other_cpu_cores=round(other_cpu, 2),
        stolen_cores=round(stolen, 2),
        size_bytes=median("transfer_bytes"),
    )
    return measured, result


def ratios(
    backend: str, rows: dict[tuple[str, int, str], Measurement], rss: float, small: int, large: int
) -> list[dict[str, Any]]:
    """The value of every target for one backend (None when what it needs was not measured)."""

    def row(size: int, endpoint: str) -> Measurement | None:
        return rows.get((backend, size, endpoint))

    def divide(a: Measurement | None, b: Measurement | None, field: str) -> float | None:
        if a is None or b is None:
            return None
        top, bottom = getattr(a, field), getattr(b, field)
        return top / bottom if bottom else float("inf")

    form, phone_form = row(large, "form"), row(large, PHONE)
    values = {
        "stats_1m_vs_10k": divide(row(large, "statistics"), row(small, "statistics"), "p95_ms"),
        "inbox_1m_vs_10k": divide(row(large, "inbox"), row(small, "inbox"), "p95_ms"),
        "stats_vs_healthz": divide(row(large, "statistics"), row(large, "healthz"), "p95_ms"),
        "submit_post_vs_healthz": divide(
            row(large, "submit_post"), row(large, "healthz"), "p95_ms"
        ),
        "submit_vs_healthz": divide(row(large, "submit"), row(large, "healthz"), "rps"),
        "form_kb_15k": form.size_bytes / 1000 if form is not None else None,
        "phone_form_ms": (
            phone_form.p50_ms
            if phone_form is not None and phone_form.failures < phone_form.requests
            else None
        ),
        "worker_rss_mb": rss,
    }
    results = []
    for target in TARGETS:
        value = values[target.name]
        results.append(
            {
                "backend": backend,
                "name": target.name,
                "value": round(value, 3) if value is not None else None,
                "target": target.goal,
                "pass": target.passes(value) if value is not None else None,
                "meaning": target.meaning,
            }
        )
    return results


def verdict(result: dict[str, Any]) -> str:
    """The RATIO line of one target."""
    name = f"{result['backend']}.{result['name']}"
    if result["value"] is None:
        return f"RATIO {name} - {result['target']} NOT MEASURED"
    if result["pass"] is None:
        return f"RATIO {name} {result['value']:.2f} {result['target']}"
    return (
        f"RATIO {name} {result['value']:.2f} {result['target']} "
        f"{'PASS' if result['pass'] else 'FAIL'}"
    )


def table(measurements: list[dict[str, Any]]) -> str:
    head = (
        f"{'backend':<11} {'size':>5}  {'endpoint':<11} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'req/s':>8} {'kB':>7} {'failures':>8}"
    )
    lines = [head, "-" * len(head)]
    for m in measurements:
        rps = f"{m['rps']:>8.1f}" if m["endpoint"] != PHONE else f"{'-':>8}"
        lines.append(
            f"{m['backend']:<11} {size_label(m['size']):>5}  {m['endpoint']:<11} "
            f"{m['p50_ms']:>8.1f} {m['p95_ms']:>8.1f} {rps} {m['size_bytes'] / 1000:>7.1f} "
            f"{m['failures']:>8}"
        )
    return "\n".join(lines)


def code_version() -> str:
    """The app's commit, plus a hash of uncommitted changes to it: the app may change while the
    benchmark runs (another engineer at work), and then sizes compare different code."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - our own git arguments
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changes = git("diff", "HEAD", "--", "incidents", "templates", "migrations", "config.py")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not changes:
        return commit
    return f"{commit}+{hashlib.sha256(changes.encode()).hexdigest()[:8]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 instead of 1,000,000")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--seconds", type=int, help="per scenario (default 20; quick: 8)")
    parser.add_argument("--users", type=int, default=4, help="concurrent locust users")
    parser.add_argument("--large", type=int, help="the large size (default 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, db)")
    parser.add_argument("--no-load", action="store_true", help="skip the load run")
    parser.add_argument("--load-clients", type=int, default=load.CLIENTS, help="load run clients")
    parser.add_argument("--load-reports", type=int, help="reports per client (20; quick: 5)")
    parser.add_argument(
        "--phone-loads",
        type=int,
        default=phone.LOADS,
        help=f"loads of the report form on the throttled phone per size ({phone.LOADS}; 0: skip)",
    )
    options = parser.parse_args(argv)
    options.seconds = options.seconds or (8 if options.quick else 20)
    options.load_reports = options.load_reports or (5 if options.quick else load.REPORTS)
    large = options.large or (QUICK_LARGE if options.quick else LARGE)
    sizes = (SMALL, large)
    backends = [b.strip() for b in options.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")

    started = datetime.now(UTC)
    began = time.perf_counter()
    phases = Phases()
    workdir = Path(tempfile.mkdtemp(prefix="incidents-bench-"))
    workdir.chmod(0o755)
    rows: dict[tuple[str, int, str], Measurement] = {}
    measurements: list[dict[str, Any]] = []
    broken: list[str] = []
    found: dict[str, Any] = {}
    say(
        f"bench: {', '.join(backends)} at {size_label(SMALL)} and {size_label(large)} incidents; "
        f"{options.users} users x {options.seconds} s per scenario; work folder {workdir}"
    )

    def on_measured(backend: str, size: int, m: Measurement) -> None:
        rows[(backend, size, m.endpoint)] = m
        measurements.append({"backend": backend, "size": size, **asdict(m)})
        say(
            f"[{backend}.{size_label(size)}] {m.endpoint:<11} p50 {m.p50_ms:7.1f} ms  "
            f"p95 {m.p95_ms:7.1f} ms  {m.rps:7.1f} req/s  {m.size_bytes / 1000:6.1f} kB  "
            f"{m.failures} failed of {m.requests}"
        )
        if m.other_cpu_cores + m.stolen_cores > NOISY:
            say(
                f"    noisy: other processes took {m.other_cpu_cores:.2f} cores and the "
                f"hypervisor {m.stolen_cores:.2f} cores meanwhile"
            )
        for example in m.failure_examples:
            say(f"    failure: {example}")
        if m.requests - m.failures <= 0:
            broken.append(f"{backend} {size_label(size)} {m.endpoint}: every request failed")

    loads: list[load.LoadResult] = []
    with ExitStack() as stack:
        try:
            limits_url = stack.enter_context(shared_limits())
        except HarnessError as error:
            broken.append(str(error))
            backends = []
        for backend in backends:
            try:
                with phases(f"{backend}.total"), database(backend, workdir) as url:
                    found[backend] = bench_backend(
                        backend, url, workdir, sizes, options, phases, on_measured, limits_url
                    )
            except (Exception, SystemExit) as error:  # the harness broke (or the app refused)
                traceback.print_exc()
                broken.append(f"{backend}: {error}")
            if options.no_load:
                continue
            loaddir = workdir / f"load-{backend}"
            loaddir.mkdir()
            try:
                with phases(f"{backend}.load"), database(backend, loaddir) as url:
                    loads.append(
                        load.run_load(
                            backend,
                            url,
                            limits_url,
                            loaddir,
                            clients=options.load_clients,
                            reports=options.load_reports,
                            say=say,
                        )
                    )
            except (Exception, SystemExit) as error:
                traceback.print_exc()
                broken.append(f"{backend} load: {error}")
    for result in loads:
        for problem in result.problems():
            broken.append(f"{result.backend} load: {problem}")

    results: list[dict[str, Any]] = []
    for backend in backends:
        if backend in found and all(
            (backend, size, e) in rows for size in sizes for e in ENDPOINTS
        ):
            peaks = found[backend]["sizes"][str(large)]["worker_peak_rss_mb"].values()
            results += ratios(backend, rows, max(peaks, default=0.0), SMALL, large)

    say("")
    say(table(measurements))
    noisy = [m for m in measurements if m["other_cpu_cores"] + m["stolen_cores"] > NOISY]
    for m in noisy:
        say(
            f"noisy: {m['backend']} {size_label(m['size'])} {m['endpoint']}: others took "
            f"{m['other_cpu_cores'] + m['stolen_cores']:.2f} of {os.cpu_count()} cores meanwhile"
        )
    for backend, seen in found.items():
        versions = list(dict.fromkeys(size["code"] for size in seen["sizes"].values()))
        if len(versions) > 1:
            say(
                f"changed: the app changed during the {backend} run ({' -> '.join(versions)}): "
                "its sizes compare different code"
            )
    say("")
    if large != LARGE:
        say(f"(the targets' '1m' is {size_label(large)} in this run)")
    for r in results:
        say(verdict(r))
    for result in loads:
        say(result.line())
    phases.seconds["total"] = round(time.perf_counter() - began, 2)
    say("")
    say("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.seconds.items()))

    report = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "commit": code_version(),
        "quick": options.quick,
        "sizes": list(sizes),
        "backends": backends,
        "users": options.users,
        "seconds_per_scenario": options.seconds,
        "gunicorn_workers": 2,
        "staff": generate.STAFF,
        "phone_loads": options.phone_loads,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "phases_seconds": phases.seconds,
        "measurements": measurements,
        "ratios": results,
        "load": [result.as_dict() for result in loads],
        "details": found,
        "broken": broken,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2, default=str)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    say(f"results: {RESULTS / f'{stamp}.json'}")
    if options.keep:
        say(f"work folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    for problem in broken:
        say(f"BROKEN {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
