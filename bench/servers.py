"""The processes the benchmark drives: the databases, Redis, the app under gunicorn, locust."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.postgres_server import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
WORKERS = 2
START_TIMEOUT = 60.0


class HarnessError(RuntimeError):
    """The harness itself could not measure (a server did not start, locust broke)."""


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL server of our own."""
    if backend == "sqlite":
        yield "sqlite:///" + str(workdir / "bench.db")
        return
    from tests.postgres_server import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise HarnessError("PostgreSQL (initdb, pg_ctl) is not installed; use --backends sqlite")
    server = PostgresServer(bin_dir).start()
    try:
        yield server.create_database("incidents_bench")
    finally:
        server.stop()


@contextmanager
def shared_limits() -> Iterator[str]:
    """A throwaway Redis for the login limits; yields its URL. Production refuses to start more
    than one gunicorn worker with the limits in each worker's memory (gunicorn.conf.py)."""
    from tests.redis_server import RedisServer, find_redis_server

    binary = find_redis_server()
    if binary is None:
        raise HarnessError(
            "redis-server is not installed (apt-get install redis-server): gunicorn with more "
            "than one worker keeps the login limits in Redis"
        )
    server = RedisServer(binary).start()
    try:
        yield server.url
    finally:
        server.stop()


def flask(env: dict[str, str], *args: str) -> str:
    """Run a `flask --app incidents` command with `env`; its output, or HarnessError."""
    result = subprocess.run(  # noqa: S603 - our own command
        [str(BIN / "flask"), "--app", "incidents", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise HarnessError(
            f"flask {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


class Gunicorn:
    """`gunicorn -w 2 "incidents:create_app('production')"` on a free loopback port, with the
    settings of gunicorn.conf.py (which refuses more than one worker without Redis)."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = WORKERS) -> None:
        self.env = env
        self.log = log
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        command = [
            str(BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",  # a slow page should be measured as slow, not killed at 30 s
            "--error-logfile",
            str(self.log),
            "--log-level",
            "warning",
            "incidents:create_app('production')",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: S603
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"gunicorn exited with {self.process.returncode}:\n{self.tail()}"
                )
            if self._answers() and len(self.worker_pids()) == self.workers:
                return self
            time.sleep(0.2)
        self.stop()
        raise HarnessError(f"gunicorn did not answer /healthz within {START_TIMEOUT:.0f} s")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        """The workers: the children of the gunicorn master."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(child) for child in children.split()]

    def peak_rss_mb(self) -> dict[int, float]:
        """Peak resident memory (VmHWM) of each worker, in MiB."""
        peaks: dict[int, float] = {}
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1]) / 1024
        return peaks

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


TICKS = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, stolen) clock ticks of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def _own_seconds() -> float:
    """CPU seconds used so far by the benchmark: this process, the children it waited for
    (locust), its living descendants (gunicorn) and the PostgreSQL server's processes."""
    me = os.getpid()
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    postgres_uid = _uid_of("postgres")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            uid = (entry / "status").stat().st_uid if postgres_uid is not None else None
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(rest[1])
        cpu[pid] = (int(rest[11]) + int(rest[12])) / TICKS
        if uid is not None and uid == postgres_uid:
            parents[pid] = me  # counted as ours
    for pid, seconds in cpu.items():
        ancestor, hops = parents.get(pid, 0), 0
        while ancestor not in (0, 1, me) and hops < 50:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor == me and pid != me:
            total += seconds
    return total


def _uid_of(user: str) -> int | None:
    try:
        import pwd

        return pwd.getpwnam(user).pw_uid
    except (KeyError, ImportError):
        return None


class CpuMeter:
    """How much CPU others took while we measured: processes that are not the benchmark's,
    and time the hypervisor gave to other machines (steal), in cores on average."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.busy, self.steal = _machine_ticks()
        self.own = _own_seconds()

    def others(self) -> tuple[float, float]:
        """(cores used by other processes, cores stolen) since the meter was made."""
        wall = max(time.monotonic() - self.began, 1e-6)
        busy, steal = _machine_ticks()
        foreign = (busy - self.busy) / TICKS - (_own_seconds() - self.own)
        return max(foreign, 0.0) / wall, (steal - self.steal) / TICKS / wall


@dataclass
class Measurement:
    """One endpoint under load: latency from every request, throughput from locust."""

    endpoint: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    failure_examples: list[str]
    others: dict[str, dict[str, float]]  # the other requests of the scenario (login, warm-up)
    other_cpu_cores: float = 0.0  # CPU taken by other processes meanwhile, in cores
    stolen_cores: float = 0.0  # CPU the hypervisor gave to other machines meanwhile
    size_bytes: float = 0.0  # the average body of a response (HTML, uncompressed)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_locust(
    user_class: str,
    endpoints: tuple[str, ...],
    host: str,
    params: Path,
    workdir: Path,
    *,
    seconds: int,
    users: int,
) -> list[Measurement]:
    """Run one locust scenario headless against `host`: a measurement for each of the request
    names in `endpoints`. Raises HarnessError when locust broke."""
    prefix = workdir / f"locust-{user_class}"
    samples = workdir / f"samples-{user_class}.json"
    log = workdir / f"locust-{user_class}.log"
    for path in (samples, Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv")):
        path.unlink(missing_ok=True)
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        user_class,
    ]
    env = {**os.environ, "BENCH_PARAMS": str(params), "BENCH_SAMPLES": str(samples)}
    meter = CpuMeter()
    with log.open("wb") as out:
        result = subprocess.run(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    other_cpu, stolen = meter.others()
    stats = Path(f"{prefix}_stats.csv")
    if result.returncode not in (0, 1) or not stats.exists():  # 1: some requests failed
        raise HarnessError(f"locust {user_class} exited with {result.returncode}; see {log}")
    named = {r["Name"]: r for r in csv.DictReader(stats.open()) if r["Type"]}
    missing = [endpoint for endpoint in endpoints if endpoint not in named]
    if missing:
        raise HarnessError(f"locust {user_class} made no {missing[0]!r} request; see {log}")
    samples_by_name = json.loads(samples.read_text()) if samples.exists() else {}
    failures = Path(f"{prefix}_failures.csv")
    examples = (
        [
            f"{r['Name']}: {r['Error']} (x{r['Occurrences']})"
            for r in csv.DictReader(failures.open())
        ]
        if failures.exists()
        else []
    )
    others = {
        name: {
            "requests": int(r["Request Count"]),
            "failures": int(r["Failure Count"]),
            "rps": float(r["Requests/s"]),
            "p50_ms": float(r["50%"]),
            "p95_ms": float(r["95%"]),
        }
        for name, r in named.items()
        if name not in endpoints
    }

    # Each endpoint's failures go with it; those of the other requests (login, the form of
    # the submit flow) with the first.
    def own(example: str, endpoint: str) -> bool:
        return example.startswith(f"{endpoint}: ")

    rest = [x for x in examples if not any(own(x, endpoint) for endpoint in endpoints)]
    measured = []
    for number, endpoint in enumerate(endpoints):
        row = named[endpoint]
        times = samples_by_name.get(endpoint, [])
        measured.append(
            Measurement(
                endpoint=endpoint,
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50_ms=percentile(times, 0.50) if times else float(row["50%"]),
                p95_ms=percentile(times, 0.95) if times else float(row["95%"]),
                failure_examples=(
                    [x for x in examples if own(x, endpoint)] + (rest if number == 0 else [])
                )[:5],
                others=others,
                other_cpu_cores=round(other_cpu, 2),
                stolen_cores=round(stolen, 2),
                size_bytes=float(row["Average Content Size"]),
            )
        )
    return measured
