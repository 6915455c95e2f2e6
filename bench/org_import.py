"""The HR import at the size of a large municipality (issue 16): 15,000 people in 600 teams.

Per backend (a SQLite file; a throwaway PostgreSQL server), on a fresh database built by the
migrations, with the production configuration (argon2 as in production), through the service
the admin pages call (`services.org_import`: `dry_run`, then `apply` of the file kept for it):

1. first:  the whole organisation into an empty app (one admin): 600 teams (a municipality,
           12 departments, 587 teams under them) and 15,000 people, each team with a manager;
2. again:  the same file once more: nothing changes;
3. month:  a month later: 2 % leave, 2 % join, 5 % move team, 1 % get another name and 1 %
           another e-mail address, 10 teams are placed under another department and 20 get
           another manager; 200 incidents were reported before it, so leavers' and movers'
           open steps are handed over.

Each phase is timed on its own (the dry run: reading, planning, keeping the report; the apply:
planning again under the locks, writing, handing over). The goal: a dry run plus its apply of
the first import in under 60 seconds. It prints one line per phase and one per backend:

    ORG_IMPORT sqlite first: dry run 3.1 s, apply 9.8 s, total 12.9 s <=60 PASS

and writes everything to bench/results/org-import-<timestamp>.json and
bench/results/org-import-latest.json.

    python -m bench.org_import [--backends sqlite,postgresql] [--people 15000] [--teams 600]

Exit status 0 when everything was measured (a missed goal is a result); 1 when the harness
broke or an import did not do what its dry run said.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.servers import HarnessError, database

RESULTS = Path(__file__).with_name("results")
PEOPLE, TEAMS, DEPARTMENTS = 15_000, 600, 12
INCIDENTS = 200
GOAL_SECONDS = 60.0
HEADER = "employee_number,email,name,team_code,team_name,parent_team_code,manager_employee_number"
DOMAIN = "gemeente.example.nl"


def say(message: str) -> None:
    print(message, flush=True)


class Organisation:
    """The HR system's view: teams (code -> name, parent code) and people, as lines."""

    def __init__(self, people: int, teams: int, seed: int = 2026) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - made-up people, no secret
        self.teams: dict[str, tuple[str, str]] = {"GEM": ("Gemeente", "")}
        departments = [f"D{n:02d}" for n in range(1, DEPARTMENTS + 1)]
        for code in departments:
            self.teams[code] = (f"Afdeling {code}", "GEM")
        for n in range(teams - 1 - DEPARTMENTS):
            self.teams[f"T{n:04d}"] = (f"Team {n:04d}", departments[n % DEPARTMENTS])
        codes = list(self.teams)
        # person number -> (e-mail, name, team code); the first person of a team manages it
        self.people: dict[str, list[str]] = {}
        self.next_number = 100_000
        for index in range(people):
            self.add(codes[index % len(codes)])
        self.managers: dict[str, str] = {}
        for number, (_email, _name, team) in self.people.items():
            self.managers.setdefault(team, number)

    def add(self, team: str) -> str:
        number = str(self.next_number)
        self.next_number += 1
        self.people[number] = [f"p{number}@{DOMAIN}", f"Medewerker {number}", team]
        return number

    def csv(self) -> str:
        lines = [HEADER]
        for number, (email, name, team) in self.people.items():
            team_name, parent = self.teams[team]
            manager = self.managers.get(team, "")
            lines.append(f"{number},{email},{name},{team},{team_name},{parent},{manager}")
        return "\n".join(lines) + "\n"

    def a_month_later(self) -> dict[str, int]:
        """Leavers, newcomers, movers, new names and addresses, teams placed elsewhere and
        new managers; returns how many of each."""
        rng, total = self.rng, len(self.people)
        managers = set(self.managers.values())
        ordinary = [n for n in self.people if n not in managers]
        rng.shuffle(ordinary)
        picked = iter(ordinary)

        def take(share: float) -> list[str]:
            return [next(picked) for _ in range(int(total * share))]

        leavers, movers, renamed, readdressed = take(0.02), take(0.05), take(0.01), take(0.01)
        teams = [code for code in self.teams if code.startswith("T")]
        for number in leavers:
            del self.people[number]
        for number in movers:
            self.people[number][2] = rng.choice(teams)
        for number in renamed:
            self.people[number][1] += "-Jansen"
        for number in readdressed:
            self.people[number][0] = f"new.{number}@{DOMAIN}"
        for _ in range(int(total * 0.02)):
            self.add(rng.choice(teams))
        departments = [code for code in self.teams if code.startswith("D")]
        for code in rng.sample(teams, 10):
            name, parent = self.teams[code]
            self.teams[code] = (name, rng.choice([d for d in departments if d != parent]))
        changed_managers = 0
        for code in rng.sample(teams, 40):
            members = [n for n, p in self.people.items() if p[2] == code and n not in managers]
            if members and changed_managers < 20:
                self.managers[code] = members[0]
                changed_managers += 1
        return {
            "leavers": len(leavers),
            "newcomers": int(total * 0.02),
            "movers": len(movers),
            "renamed": len(renamed),
            "new_addresses": len(readdressed),
            "teams_placed_elsewhere": 10,
            "new_managers": changed_managers,
        }


def make_app(url: str, instance: Path) -> Any:
    os.environ["INCIDENTS_INSTANCE_PATH"] = str(instance)
    from config import ProductionConfig
    from incidents import create_app

    config = ProductionConfig()
    config.SECRET_KEY = secrets.token_hex(32)
    config.SQLALCHEMY_DATABASE_URI = url
    config.BASE_URL = "http://127.0.0.1"
    return create_app(config)


@contextmanager
def timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    began = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = round(time.perf_counter() - began, 2)


def report_incidents(org: Organisation, count: int) -> int:
    """Incidents for people who leave or move next month and in teams that get a new manager:
    open aftercare steps for the hand-over to move. Returns how many steps are open."""
    from sqlalchemy import func, select

    from incidents import services
    from incidents.extensions import db
    from incidents.models import AftercareStep, Channel, IncidentType, StepStatus, User
    from incidents.services import ReportData

    numbers = [n for n in org.people if n not in set(org.managers.values())]
    org.rng.shuffle(numbers)
    users = {
        u.employee_number: u
        for u in db.session.scalars(select(User).where(User.employee_number.in_(numbers[:count])))
    }
    for index, number in enumerate(numbers[:count]):
        user = users[number]
        services.save_report(
            user,
            f"bench-import-{index:05d}-{secrets.token_hex(8)}",
            ReportData(
                occurred_at=datetime.now(UTC) - timedelta(hours=2),
                channel=Channel.COUNTER,
                types=[IncidentType.VERBAL],
                description="Bench incident.",
                affected_ids=[user.id],
                witness_ids=[],
            ),
            submit=True,
        )
    return int(
        db.session.scalar(
            select(func.count(AftercareStep.id)).where(AftercareStep.status == StepStatus.OPEN)
        )
        or 0
    )


def run_phase(
    name: str, content: str, actor: Any, results: dict[str, Any], backend: str
) -> dict[str, Any]:
    from sqlalchemy import select

    from incidents.extensions import db
    from incidents.models import AuditAction, AuditEvent
    from incidents.services import org_import

    seconds: dict[str, float] = {}
    with timed(seconds, "dry_run"):
        record = org_import.dry_run(actor, content, f"{name}.csv")
    counts = dict(record.report["counts"])
    with timed(seconds, "apply"):
        org_import.apply(actor, record)
    db.session.expire_all()
    with timed(seconds, "check"):
        again = org_import.dry_run(actor, content, f"{name}-check.csv", keep=False)
    total = round(seconds["dry_run"] + seconds["apply"], 2)
    last = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == AuditAction.IMPORT_APPLY)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    phase = {
        "phase": name,
        "seconds": {**seconds, "total": total},
        "counts": counts,
        "report_bytes": len(json.dumps(record.report)),
        "steps_handed_over": last.details.get("steps_handed_over") if last else None,
        "changes_left": again.report["counts"]["changes"],
    }
    verdict = "PASS" if total <= GOAL_SECONDS else "FAIL"
    say(
        f"ORG_IMPORT {backend} {name}: {counts['lines']} lines, {counts['changes']} changes; "
        f"dry run {seconds['dry_run']:.1f} s, apply {seconds['apply']:.1f} s, total {total:.1f} s "
        f"<={GOAL_SECONDS:.0f} {verdict}; left after it: {phase['changes_left']} changes"
        + (
            f"; {phase['steps_handed_over']} steps handed over"
            if phase["steps_handed_over"]
            else ""
        )
    )
    results.setdefault("phases", []).append(phase)
    return phase


def bench_backend(backend: str, options: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from flask_migrate import upgrade

    from incidents import services
    from incidents.extensions import db
    from incidents.models import Role

    results: dict[str, Any] = {"backend": backend}
    folder = workdir / backend
    folder.mkdir()
    with database(backend, folder) as url:
        app = make_app(url, folder / "instance")
        with app.app_context():
            upgrade()
            admin = services.create_user(
                None,
                email=f"admin@{DOMAIN}",
                name="Beheerder",
                password=secrets.token_urlsafe(16),
                role=Role.ADMIN,
            )
            org = Organisation(options.people, options.teams)
            content = org.csv()
            say(
                f"[{backend}] {len(org.people)} people in {len(org.teams)} teams, "
                f"{len(content) / 1e6:.1f} MB"
            )
            run_phase("first", content, admin, results, backend)
            run_phase("again", content, admin, results, backend)
            with timed(results.setdefault("setup_seconds", {}), "incidents"):
                results["open_steps_before_month"] = report_incidents(org, options.incidents)
            results["month_changes"] = org.a_month_later()
            run_phase("month", org.csv(), admin, results, backend)
            db.session.remove()
            db.engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.org_import", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--teams", type=int, default=TEAMS)
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    options = parser.parse_args(argv)
    backends = [b.strip() for b in options.backends.split(",") if b.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="incidents-bench-import-"))
    workdir.chmod(0o755)
    started = datetime.now(UTC)
    everything: dict[str, Any] = {
        "started": started.isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "people": options.people,
        "teams": options.teams,
        "goal_seconds": GOAL_SECONDS,
        "backends": [],
    }
    broken: list[str] = []
    for backend in backends:
        try:
            result = bench_backend(backend, options, workdir)
        except HarnessError as error:
            broken.append(f"{backend}: {error}")
            continue
        except Exception:  # the harness broke: say where, go on with the next backend
            broken.append(f"{backend}: {traceback.format_exc()}")
            continue
        everything["backends"].append(result)
        for phase in result["phases"]:
            if phase["changes_left"]:
                broken.append(f"{backend} {phase['phase']}: {phase['changes_left']} changes left")
    everything["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    everything["broken"] = broken
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"org-import-{stamp}.json", "org-import-latest.json"):
        (RESULTS / name).write_text(json.dumps(everything, indent=2) + "\n", encoding="utf-8")
    say(f"peak memory of this process: {everything['peak_rss_mb']} MiB")
    for problem in broken:
        say(f"BROKEN {problem}")
    if not options.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
