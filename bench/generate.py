"""Bulk benchmark data: an organisation and five years of incidents with their aftercare.

The organisation is a large municipality of 15,000 staff (issue 17): 12 departments, 50
front-line teams where most incidents happen (the eight counter teams share one manager, the
front-office manager) and 550 back-office teams with the rest of the staff and few incidents.

Rows go straight into the tables in big batches on one connection (SQLite: executemany;
PostgreSQL: COPY), never through the ORM or the services. The aftercare steps follow the real
protocol: `rules.plan` is asked once per kind of incident (level, people, weekday, hour) and
its deadlines are replicated with shifted dates. Generation is incremental:
`generate(engine, 10_000, 1_000_000)` grows the database that `generate(engine, 0, 10_000)` made.
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import json
import multiprocessing
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from incidents import rules
from incidents.models import (
    AftercareStep,
    Channel,
    ConversationCount,
    Incident,
    IncidentChange,
    IncidentPerson,
    IncidentTypeRow,
    Role,
    Team,
    User,
)

DOMAIN = "bench.test"
PASSWORD = "bench-password-2026"  # noqa: S105 - throwaway accounts of a throwaway database
HR_EMAIL = f"hr@{DOMAIN}"
ADMIN_EMAIL = f"admin@{DOMAIN}"
STAFF = 15_000  # accounts in all: a large municipality (issue 17)
DEPARTMENTS = 12
FRONT_TEAMS = 50  # counters, phone, enforcement, social work: where incidents happen
COUNTER_TEAMS = 8  # the first front-line teams: the public counters, with one manager
TEAM_SIZE = (16, 24)  # employees of a front-line team, besides its manager and deputy
OFFICE_TEAMS = 550  # the back office: the rest of the staff, in teams of about 21
# Which share of the incidents each kind of team gets, spread over its teams by lognormal
# weights. The counters' third gives the front-office manager a full first inbox page
# (queries.INBOX_PAGE open steps) at 10,000 incidents already.
INCIDENT_SHARES = {"counter": 0.35, "front": 0.50, "office": 0.15}
FRONT_OFFICE_EMAIL = f"frontoffice@{DOMAIN}"
YEARS = 5
BATCH = 20_000  # incidents per round trip of inserts
WORKERS = 1  # a process making rows while the main process writes them (2 cores)
DONE_AFTER = timedelta(days=60)  # every step of an older incident is done
DRAFT_SHARE = 0.015
LEVEL_WEIGHTS = {1: 55, 2: 30, 3: 12, 4: 3}
CHANNEL_WEIGHTS = {
    "counter": 26,
    "phone": 24,
    "interview_room": 15,
    "home_visit": 8,
    "letter_email": 10,
    "social_media": 5,
    "public_space": 7,
    "other": 5,
}
# Hours of the day (UTC) incidents happen at: office hours mostly.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 6, 10, 12, 12, 11, 12, 12, 11, 9, 6, 4, 3, 2, 2, 1, 1, 1, 1]
ON_TIME_SHARE = 0.82
REPORT_DELAY = timedelta(minutes=25)
REFERENCE_MONDAY = datetime(2025, 1, 6, tzinfo=UTC)
VICTIM_IDS = (1, 2)
WITNESS_IDS = (11, 12)

DESCRIPTIONS = {
    1: (
        "Client raised his voice at the counter and swore when the application was refused.",
        "Caller shouted and called me names on the phone about the payment.",
        "Client stood very close and stared at me for a long time after the interview.",
    ),
    2: (
        "Client threatened to wait for me outside after the decision was explained.",
        "Threatening e-mail about my colleague after the benefit was stopped.",
        "Client kicked the door of the interview room and broke the lock.",
    ),
    3: (
        "Client pushed me against the wall during the home visit.",
        "Client showed a knife while making threats at the counter.",
        "Client said he knows where I live and named my children.",
    ),
    4: (
        "Client hit my colleague, who was taken to hospital.",
        "Physical attack at the counter; the employee was injured and is off work.",
    ),
}
LOCATIONS = ("Counter 2", "Interview room 3", "Main entrance", "Phone", "Home visit", "")
NOTES = ("", "", "", "", "Agreed to talk again next week.", "Employee is back at work.")


class _Weighted:
    """A weighted random choice, with the cumulative weights worked out once."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.keys = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def pick(self, rng: random.Random) -> Any:
        return self.keys[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


LEVELS = _Weighted(LEVEL_WEIGHTS)
CHANNELS = _Weighted(CHANNEL_WEIGHTS)
HOURS = _Weighted(dict(enumerate(HOUR_WEIGHTS)))
LEVEL_2_TYPES = _Weighted(
    {"threat": 40, "discrimination": 20, "sexual": 10, "damage": 15, "online": 15}
)


def moment_text(moment: datetime, postgres: bool) -> str:
    """A naive UTC moment as the database stores it (SQLAlchemy's SQLite text form)."""
    stored = moment.isoformat(" ", "microseconds")
    return stored + "+00" if postgres else stored


@dataclass
class Organisation:
    """The teams and people incidents are spread over, read back from the database."""

    teams: list[int]
    weights: list[float]
    members: dict[int, list[int]]
    team_of: dict[int, int]
    manager: dict[int, int]
    emails: dict[int, str]
    cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        total = 0.0
        for weight in self.weights:
            total += weight
            self.cumulative.append(total)

    def managed_by(self, manager: int) -> list[int]:
        """The teams whose manager `manager` is."""
        return [team for team in self.teams if self.manager.get(team) == manager]

    def pick_team(self, rng: random.Random) -> int:
        index = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.teams[min(index, len(self.teams) - 1)]


def team_kind(name_en: str) -> str:
    """The kind of a bench team (counter, front or office), from its English name."""
    return {"Counter": "counter", "Team": "front", "Office": "office"}[name_en.split()[0]]


def setup_organisation(engine: Engine, password_hash: str) -> None:
    """Departments, teams, managers, deputies, employees, HR, an admin and client conversation
    counts, once: STAFF accounts in all. Every account gets the same password hash (argon2 per
    user is too slow)."""
    with engine.begin() as conn:
        if conn.scalar(select(User.id).where(User.email == HR_EMAIL)) is not None:
            return
        rng = random.Random(1)  # noqa: S311 - benchmark data, not secrets
        now = datetime.now(UTC)
        teams: list[dict[str, Any]] = []
        users: list[dict[str, Any]] = []

        def user(email: str, name: str, role: Role, team_id: int | None) -> int:
            users.append(
                {
                    "id": len(users) + 1,
                    "email": email,
                    "name": name,
                    "password_hash": password_hash,
                    "role": role,
                    "active": True,
                    "absent": False,
                    "team_id": team_id,
                    "session_token": secrets.token_urlsafe(32),
                    "created_at": now - timedelta(days=YEARS * 366),
                }
            )
            return len(users)

        def team(name_nl: str, name_en: str, parent: int | None) -> int:
            teams.append(
                {"id": len(teams) + 1, "name_nl": name_nl, "name_en": name_en, "parent_id": parent}
            )
            return len(teams)

        leaders: dict[int, tuple[int, int | None]] = {}
        for d in range(1, DEPARTMENTS + 1):
            department = team(f"Afdeling {d}", f"Department {d}", None)
            leaders[department] = (user(f"head{d}@{DOMAIN}", f"Head {d}", Role.MANAGER, d), None)
        front_office = user(FRONT_OFFICE_EMAIL, "Front Office Manager", Role.MANAGER, 1)
        front_teams = []
        for t in range(1, FRONT_TEAMS + 1):
            department = (t - 1) % DEPARTMENTS + 1
            if t <= COUNTER_TEAMS:
                team_id = team(f"Balie {t:02d}", f"Counter {t:02d}", department)
                boss = front_office
            else:
                team_id = team(f"Team {t:02d}", f"Team {t:02d}", department)
                boss = user(
                    f"manager{t:02d}@{DOMAIN}", f"Manager {t:02d}", Role.MANAGER, department
                )
            deputy = user(f"deputy{t:02d}@{DOMAIN}", f"Deputy {t:02d}", Role.MANAGER, team_id)
            leaders[team_id] = (boss, deputy)
            front_teams.append(team_id)
            for e in range(1, rng.randint(*TEAM_SIZE) + 1):
                user(
                    f"employee{t:02d}-{e:02d}@{DOMAIN}",
                    f"Employee {t:02d}-{e:02d}",
                    Role.EMPLOYEE,
                    team_id,
                )
        # The back office takes the rest: a manager, a deputy and an even share of employees
        # each, so that with HR and the admin there are exactly STAFF accounts.
        employees = STAFF - len(users) - 2 - 2 * OFFICE_TEAMS
        base, extra = divmod(employees, OFFICE_TEAMS)
        for o in range(1, OFFICE_TEAMS + 1):
            department = (o - 1) % DEPARTMENTS + 1
            team_id = team(f"Bureau {o:03d}", f"Office {o:03d}", department)
            boss = user(
                f"officemanager{o:03d}@{DOMAIN}",
                f"Office Manager {o:03d}",
                Role.MANAGER,
                department,
            )
            deputy = user(
                f"officedeputy{o:03d}@{DOMAIN}", f"Office Deputy {o:03d}", Role.MANAGER, team_id
            )
            leaders[team_id] = (boss, deputy)
            for e in range(1, base + (o <= extra) + 1):
                user(
                    f"staff{o:03d}-{e:02d}@{DOMAIN}",
                    f"Staff {o:03d}-{e:02d}",
                    Role.EMPLOYEE,
                    team_id,
                )
        hr = user(HR_EMAIL, "Bench HR", Role.HR, None)
        user(ADMIN_EMAIL, "Bench Admin", Role.ADMIN, None)
        if len(users) != STAFF:
            raise RuntimeError(f"bench organisation of {len(users)} accounts, not {STAFF}")
        for row in teams:
            row["active"] = True
        conn.execute(insert(Team), teams)
        conn.execute(insert(User), users)
        # The membership history (`team_membership`, when the app keeps one): everyone since
        # the start, so teams are as large in every period as they are today.
        if "team_membership" in inspect_tables(conn):
            conn.execute(
                text(
                    "INSERT INTO team_membership (user_id, team_id, since, until) "
                    'SELECT id, team_id, created_at, NULL FROM "user"'
                )
            )
        conn.execute(  # one executemany: 612 teams
            update(Team)
            .where(Team.id == bindparam("unit"))
            .values(manager_id=bindparam("head"), deputy_id=bindparam("second")),
            [
                {"unit": unit, "head": head, "second": second}
                for unit, (head, second) in leaders.items()
            ],
        )
        counts = []
        first = date(now.year - YEARS, now.month, 1)
        for team_id in front_teams:  # the back office has no client conversations
            monthly = rng.randint(300, 1500)
            for channel in (Channel.COUNTER, Channel.PHONE, Channel.INTERVIEW_ROOM):
                month = first
                while month <= now.date():
                    counts.append(
                        {
                            "team_id": team_id,
                            "channel": channel,
                            "month": month,
                            "count": int(monthly * rng.uniform(0.7, 1.3)),
                            "updated_at": now,
                            "updated_by_id": hr,
                        }
                    )
                    month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        conn.execute(insert(ConversationCount), counts)
        _fix_sequences(conn, ("team", "user", "conversation_count"))


def inspect_tables(conn: Connection) -> set[str]:
    from sqlalchemy import inspect as inspect_schema

    return set(inspect_schema(conn).get_table_names())


def load_organisation(conn: Connection) -> Organisation:
    """The bench organisation as stored: teams (not departments), their employees, managers."""
    teams = sorted(
        conn.execute(
            select(Team.id, Team.manager_id, Team.name_en).where(Team.parent_id.is_not(None))
        ).all()
    )
    rng = random.Random(7)  # noqa: S311 - the same team weights on every run
    raw = [rng.lognormvariate(0, 0.5) for _ in teams]
    kinds = [team_kind(name) for _, _, name in teams]
    totals = {kind: sum(w for w, k in zip(raw, kinds, strict=True) if k == kind) for kind in kinds}
    weights = [INCIDENT_SHARES[k] * w / totals[k] for w, k in zip(raw, kinds, strict=True)]
    members: dict[int, list[int]] = {team_id: [] for team_id, _, _ in teams}
    team_of: dict[int, int] = {}
    emails: dict[int, str] = {}
    for user_id, team_id, role, email in conn.execute(
        select(User.id, User.team_id, User.role, User.email).order_by(User.id)
    ):
        emails[user_id] = email
        if team_id in members and role == Role.EMPLOYEE:
            members[team_id].append(user_id)
            team_of[user_id] = team_id
    return Organisation(
        teams=[team_id for team_id, _, _ in teams],
        weights=weights,
        members=members,
        team_of=team_of,
        manager={team_id: manager for team_id, manager, _ in teams if manager is not None},
        emails=emails,
    )


# --- incidents ---------------------------------------------------------------------------------

INCIDENT_COLUMNS = (
    "id",
    "submission_token",
    "status",
    "quick",
    "reporter_id",
    "occurred_at",
    "channel",
    "location",
    "description",
    "weapon",
    "threat_home",
    "injury",
    "absence",
    "hospital",
    "outside_witnesses",
    "perpetrator_known",
    "perpetrator_name",
    "perpetrator_reference",
    "police_called",
    "police_report_wanted",
    "damage",
    "created_at",
    "submitted_at",
    "updated_at",
    "level",
    "level_rule",
    "level_reason",
    "protocol_version",
    "closed_at",
    "legal_hold",
    "anonymised_at",
    "team_id",
)
TYPE_COLUMNS = ("incident_id", "type")
PERSON_COLUMNS = ("id", "incident_id", "user_id", "role")
CHANGE_COLUMNS = ("id", "incident_id", "at", "actor_id", "action", "fields")
STEP_COLUMNS = (
    "id",
    "incident_id",
    "definition_id",
    "kind",
    "subject",
    "subject_user_id",
    "team_id",
    "owner_id",
    "due_at",
    "status",
    "outcomes",
    "held_on",
    "reference",
    "end_date",
    "citizen_heard",
    "reason",
    "police_outcome",
    "attempt_times",
    "measure_expired",
    "note",
    "done_at",
    "done_by_id",
    "not_required_reason",
    "repeat_of_id",
    "attempts",
    "escalated_at",
    "created_at",
)
TABLES = {
    Incident.__tablename__: INCIDENT_COLUMNS,
    IncidentTypeRow.__tablename__: TYPE_COLUMNS,
    IncidentPerson.__tablename__: PERSON_COLUMNS,
    IncidentChange.__tablename__: CHANGE_COLUMNS,
    AftercareStep.__tablename__: STEP_COLUMNS,
}
SUBMITTED_FIELDS = json.dumps(["occurred_at", "channel", "description", "types", "affected"])


@dataclass(frozen=True)
class TemplateStep:
    """One planned step of a kind of incident, its deadline as an offset from the incident."""

    definition_id: str
    kind: str
    subject: str
    person: int  # index into the victims or witnesses; 0 for the incident as a whole
    offset: timedelta
    repeat_after: timedelta | None


@dataclass
class Generated:
    """What one call of `generate` wrote, and how long it took."""

    incidents: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # all of it, including the commit
    index_seconds: float = 0.0  # of which building the indexes again


class _Writer:
    """Batched inserts on one connection: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.written: dict[str, int] = dict.fromkeys(TABLES, 0)

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        columns = TABLES[table]
        names = ", ".join(f'"{c}"' for c in columns)
        if self.postgres:
            driver: Any = self.conn.connection.driver_connection
            with (
                driver.cursor() as cursor,
                cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            insert_rows = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - our names
            self.conn.exec_driver_sql(insert_rows, rows)
        self.written[table] += len(rows)
        rows.clear()


def _check_columns(conn: Connection) -> None:
    """Refuse early, with a clear message, when the schema has a required column we do not fill."""
    from incidents.extensions import db

    for table, columns in TABLES.items():
        for column in db.metadata.tables[table].columns:
            required = not column.nullable and column.server_default is None
            if column.name not in columns and required:
                raise RuntimeError(f"bench/generate.py does not fill {table}.{column.name}")


def _fix_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """PostgreSQL: after explicit ids, the id sequences continue after the highest id."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        highest = f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1'  # noqa: S608 - our names
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {highest}, false)")
        )


def _drop_indexes(conn: Connection) -> list[str]:
    """Drop the secondary indexes of the tables we fill and return how to make them again:
    building an index once after the load is much faster than growing it row by row."""
    tables = list(TABLES)
    found: list[tuple[str, str]]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        found = [
            (name, definition)
            for name, definition in conn.execute(
                text(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                    "WHERE t.relname = ANY(:tables) "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
                ),
                {"tables": tables},
            )
        ]
    else:  # indexes that SQLite made for constraints have no SQL and stay
        found = [
            (name, sql)
            for name, table, sql in conn.exec_driver_sql(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"
            )
            if table in tables and sql
        ]
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def _next_id(conn: Connection, table: str) -> int:
    highest = f'SELECT COALESCE(MAX(id), 0) FROM "{table}"'  # noqa: S608 - our table names
    return int(conn.scalar(text(highest)) or 0) + 1


class _Planner:
    """Levels, reasons and step templates, each worked out once and then reused."""

    def __init__(
        self, protocol: rules.Protocol, words: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self.protocol = protocol
        self.words = words or {}  # language -> the labels a rule's reason is named by
        self.assessments: dict[tuple[frozenset[str], frozenset[str]], rules.Assessment] = {}
        self.templates: dict[tuple[int, int, int, int, int], list[TemplateStep]] = {}
        self.reasons: dict[str, str] = {}

    def assess(self, types: frozenset[str], facts: frozenset[str]) -> rules.Assessment:
        key = (types, facts)
        if key not in self.assessments:
            flags = {name: name in facts for name in rules.FACT_NAMES}
            self.assessments[key] = rules.assess(rules.Facts(types=types, **flags), self.protocol)
        return self.assessments[key]

    def reason(self, assessment: rules.Assessment) -> str:
        rule = assessment.rule.id if assessment.rule else ""
        if rule not in self.reasons:
            self.reasons[rule] = json.dumps(
                {
                    "nl": assessment.reason("nl", self.words.get("nl")),
                    "en": assessment.reason("en", self.words.get("en")),
                }
            )
        return self.reasons[rule]

    def template(self, level: int, victims: int, witnesses: int, occurred: datetime) -> list[Any]:
        key = (level, victims, witnesses, occurred.weekday(), occurred.hour)
        if key not in self.templates:
            base = REFERENCE_MONDAY + timedelta(days=key[3], hours=key[4], minutes=30)
            planned = rules.plan(
                level,
                VICTIM_IDS[:victims],
                WITNESS_IDS[:witnesses],
                base,
                base + REPORT_DELAY,
                self.protocol,
            )
            steps = []
            for p in planned:
                ids = WITNESS_IDS if p.definition.subject is rules.Subject.WITNESS else VICTIM_IDS
                repeat = p.definition.repeat_if_declined_after
                steps.append(
                    TemplateStep(
                        definition_id=p.definition.id,
                        kind=p.definition.kind.value,
                        subject=p.definition.subject.value,
                        person=ids.index(p.subject_id) if p.subject_id is not None else 0,
                        offset=p.due_at - base,
                        repeat_after=(
                            rules.due_at(base, repeat, self.protocol.calendar) - base
                            if repeat
                            else None
                        ),
                    )
                )
            self.templates[key] = steps
        return self.templates[key]


def _types_and_facts(level: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Incident types (one or two) and aggravating facts that give roughly `level`."""
    r = rng.random()
    if level == 1:
        types = (
            ["verbal"] if r < 0.6 else ["intimidation"] if r < 0.85 else ["intimidation", "verbal"]
        )
        return types, []
    if level == 2:
        main = LEVEL_2_TYPES.pick(rng)
        types = sorted({main, "verbal"}) if r < 0.4 else [main]
        return types, ["injury"] if rng.random() < 0.03 else []
    if level == 3:
        if r < 0.6:
            return ["physical"] if rng.random() < 0.7 else ["physical", "verbal"], (
                ["injury"] if rng.random() < 0.3 else []
            )
        if r < 0.8:
            return ["threat"], ["weapon"]
        return ["threat"], ["threat_home"]
    return ["physical"], ["hospital"] if r < 0.4 else ["absence", "injury"]


def _channel(types: list[str], rng: random.Random) -> str:
    if "online" in types:
        return "social_media" if rng.random() < 0.5 else "letter_email"
    return str(CHANNELS.pick(rng))


def _outcome(kind: str, level: int, done: datetime, rng: random.Random) -> tuple[str, Recorded]:
    """A recorded outcome of a step of `kind` as (outcomes JSON, what was recorded with it)."""
    day = done.date().isoformat()
    r = rng.random()
    if kind in (
        "contact",
        "aftercare_conversation",
        "follow_up_conversation",
        "closing_conversation",
    ):
        declined = 0.03 if kind == "contact" else 0.15
        if r < declined:
            return '["declined"]', Recorded()
        return '["held"]', Recorded(held_on=day)
    if kind == "police_report":
        employer = 0.3 if level == 2 else 0.65
        if r < employer:
            reference = f"PL{rng.randint(1000, 9999)}-{day[:4]}"
            known = "Suspect fined" if rng.random() < 0.3 else None
            return '["filed_by_employer"]', Recorded(reference=reference, police_outcome=known)
        if r < employer + 0.15:
            return '["filed_by_employee"]', Recorded()
        return '["not_filed"]', Recorded(reason="Perpetrator unknown")
    if kind == "perpetrator_response":
        if r < 0.45:
            return '["warning_letter"]', Recorded()
        if r < 0.6:
            return '["conversation", "warning_letter"]', Recorded()
        if r < 0.7:
            end = (done + timedelta(days=180)).date().isoformat()
            return '["building_ban"]', Recorded(end_date=end, citizen_heard=True)
        if r < 0.8:
            return '["conversation"]', Recorded()
        return '["none"]', Recorded(reason="Client could not be identified")
    if kind == "labour_inspectorate":
        if r < 0.6:
            return '["reported"]', Recorded(
                held_on=day, reference=f"NLA-{rng.randint(10000, 99999)}"
            )
        return '["not_required"]', Recorded(reason="No absence of more than a day")
    if kind == "referral_decision":
        choices = ("victim_support", "social_work", "occupational_physician", "gp")
        if r < 0.3:
            return '["none_needed"]', Recorded()
        if r < 0.4:
            return '["declined"]', Recorded()
        chosen = sorted(rng.sample(choices, 2 if rng.random() < 0.2 else 1))
        return json.dumps(chosen), Recorded()
    return '["held"]', Recorded(held_on=day)  # team_evaluation


@dataclass(frozen=True)
class Recorded:
    """What a step recorded beside its outcomes, in the columns' order (dates as ISO text)."""

    held_on: str | None = None
    reference: str = ""
    end_date: str | None = None
    citizen_heard: bool = False
    reason: str = ""
    police_outcome: str | None = None

    def row(self) -> tuple[Any, ...]:
        """The values of the step's columns held_on ... measure_expired."""
        return (
            self.held_on,
            self.reference,
            self.end_date,
            self.citizen_heard,
            self.reason,
            self.police_outcome,
            "[]",  # attempt_times
            False,  # measure_expired
        )


def generate(
    engine: Engine, start_count: int, end_count: int, *, protocol: rules.Protocol, seed: int = 8
) -> Generated:
    """Add `end_count - start_count` incidents, spread over the five years up to now, with
    their types, people, history and aftercare steps. `setup_organisation` comes first.

    A second process makes the rows while this one writes them. Each batch gets its own range
    of ids, so ids of people and steps may have gaps."""
    began = time.perf_counter()
    with engine.begin() as conn:
        _check_columns(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        else:  # the rows are consistent by construction: skip the per-row foreign key triggers
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        writer = _Writer(conn)
        indexes = _drop_indexes(conn)
        first = {table: _next_id(conn, table) for table in ID_RESERVE}
        total = end_count - start_count
        tasks = [
            (
                seed * 1_000_003 + start_count + offset,
                min(BATCH, total - offset),
                {table: first[table] + offset * reserve for table, reserve in ID_RESERVE.items()},
            )
            for offset in range(0, total, BATCH)
        ]
        context = multiprocessing.get_context("fork")
        state = (load_organisation(conn), protocol, writer.postgres, _reason_words())
        with context.Pool(WORKERS, initializer=_start_worker, initargs=state) as pool:
            for batch in pool.imap(_make_batch, tasks):
                for table, rows in batch.items():
                    writer.write(table, rows)
        loaded = time.perf_counter()
        for index in indexes:
            conn.exec_driver_sql(index)
        _fix_sequences(conn, list(ID_RESERVE))
        indexed = time.perf_counter()
    return Generated(
        incidents=total,
        rows=writer.written,
        seconds=time.perf_counter() - began,
        index_seconds=indexed - loaded,
    )


# Ids each incident may use up at most: exactly one incident and one history line; at most
# five people; at most 16 planned steps and 4 repeated offers.
ID_RESERVE = {"incident": 1, "incident_change": 1, "incident_person": 5, "aftercare_step": 24}
_WORKER: dict[str, Any] = {}


def _reason_words() -> dict[str, dict[str, str]]:
    """The app's labels of types and facts per language, which name a rule's reason as the
    app stores it (`incidents.labels.level_reasons`); none without an app."""
    from flask import has_app_context

    if not has_app_context():
        return {}
    from incidents import labels

    return {language: labels.condition_names(language) for language in ("nl", "en")}


def _start_worker(
    org: Organisation,
    protocol: rules.Protocol,
    postgres: bool,
    words: Mapping[str, Mapping[str, str]],
) -> None:
    _WORKER.update(org=org, planner=_Planner(protocol, words), postgres=postgres)


def _make_batch(task: tuple[int, int, dict[str, int]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of `count` incidents, with ids from the given firsts (in the worker)."""
    seed, count, ids = task
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    now = datetime.now(UTC).replace(tzinfo=None)
    span = YEARS * 365.25 * 86400
    batch: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    org, planner, postgres = _WORKER["org"], _WORKER["planner"], _WORKER["postgres"]
    for _ in range(count):
        _incident(org, planner, rng, now, span, ids, batch, postgres)
    return batch


def _people(org: Organisation, team: int, rng: random.Random) -> tuple[list[int], list[int], int]:
    """(affected, witnesses, reporter): usually the first affected employee reports."""
    members = org.members[team]
    chosen = rng.sample(members, 5)
    victims = chosen[:2] if rng.random() < 0.15 else chosen[:1]
    reporter = victims[0] if rng.random() < 0.9 else chosen[4]
    r = rng.random()
    count = 0 if r < 0.5 else 1 if r < 0.85 else 2
    witnesses = []
    for w in chosen[2 : 2 + count]:
        if rng.random() < 0.2:  # a colleague from another team saw it
            other = org.members[org.pick_team(rng)]
            w = rng.choice(other)
        if w not in victims and w != reporter and w not in witnesses:
            witnesses.append(w)
    return victims, witnesses, reporter


def _incident(
    org: Organisation,
    planner: _Planner,
    rng: random.Random,
    now: datetime,
    span: float,
    ids: dict[str, int],
    batch: dict[str, list[tuple[Any, ...]]],
    pg: bool,
) -> None:
    """Append one incident and everything that belongs to it to `batch`."""
    occurred = now - timedelta(seconds=rng.random() * span)
    hour = HOURS.pick(rng)
    occurred = occurred.replace(hour=hour)
    if occurred.weekday() >= 5 and rng.random() < 0.7:
        occurred -= timedelta(days=occurred.weekday() - 4)
    if occurred > now - timedelta(minutes=10):
        occurred -= timedelta(days=1)
    incident_id = ids["incident"]
    ids["incident"] += 1
    team = org.pick_team(rng)
    victims, witnesses, reporter = _people(org, team, rng)
    level = LEVELS.pick(rng)
    types, facts = _types_and_facts(level, rng)
    assessment = planner.assess(frozenset(types), frozenset(facts))
    level = assessment.level
    draft = rng.random() < DRAFT_SHARE
    submitted = occurred + timedelta(minutes=rng.randint(5, 240))
    if submitted > now:
        submitted = now
    occurred_text = moment_text(occurred, pg)
    submitted_text = moment_text(submitted, pg)
    quick = level == 1 and rng.random() < 0.1
    known = rng.random() < 0.45
    description = "" if quick else rng.choice(DESCRIPTIONS[level])
    police = rng.random() < (0.03, 0.15, 0.5, 0.8)[level - 1]

    for t in types:
        batch["incident_type"].append((incident_id, t))
    for role, people in (("affected", victims), ("witness", witnesses)):
        for user_id in people:
            batch["incident_person"].append((ids["incident_person"], incident_id, user_id, role))
            ids["incident_person"] += 1
    batch["incident_change"].append(
        (
            ids["incident_change"],
            incident_id,
            submitted_text,
            reporter,
            "draft" if draft else "submitted",
            SUBMITTED_FIELDS,
        )
    )
    ids["incident_change"] += 1

    closed: datetime | None = None
    if not draft:
        closed = _steps(
            incident_id, org, planner, rng, now, occurred, level, victims, witnesses, ids, batch, pg
        )
    batch["incident"].append(
        (
            incident_id,
            f"bench-{incident_id}",
            "draft" if draft else "submitted",
            quick,
            reporter,
            occurred_text,
            _channel(types, rng),
            "" if quick else rng.choice(LOCATIONS),
            description,
            "weapon" in facts,
            "threat_home" in facts,
            "injury" in facts,
            "absence" in facts,
            "hospital" in facts,
            "Resident at the counter" if rng.random() < 0.08 else "",
            "known" if known else "unknown",
            "J. Jansen" if known and rng.random() < 0.3 else "",
            f"K-{rng.randint(100000, 999999)}" if known else "",
            police,
            police and level >= 2 and rng.random() < 0.5,
            "damage" in types,
            occurred_text,
            None if draft else submitted_text,
            submitted_text,
            None if draft else level,
            "" if draft or assessment.rule is None else assessment.rule.id,
            "{}" if draft else planner.reason(assessment),
            "" if draft else planner.protocol.version,
            moment_text(closed, pg) if closed is not None else None,
            False,
            None,
            None if draft else org.team_of[victims[0]],
        )
    )


def _steps(
    incident_id: int,
    org: Organisation,
    planner: _Planner,
    rng: random.Random,
    now: datetime,
    occurred: datetime,
    level: int,
    victims: list[int],
    witnesses: list[int],
    ids: dict[str, int],
    batch: dict[str, list[tuple[Any, ...]]],
    pg: bool,
) -> datetime | None:
    """Append the incident's aftercare steps; returns when it closed (None while open)."""
    old = now - occurred > DONE_AFTER
    created = moment_text(occurred + REPORT_DELAY, pg)
    last_done: datetime | None = occurred
    queue: list[tuple[TemplateStep, datetime, int | None]] = [
        (s, occurred + s.offset, None)
        for s in planner.template(level, len(victims), len(witnesses), occurred)
    ]
    while queue:
        step, due, repeat_of = queue.pop(0)
        if step.subject == "witness":
            person: int | None = witnesses[step.person]
        elif step.subject == "victim":
            person = victims[step.person]
        else:
            person = None
        team = org.team_of[person if person is not None else victims[0]]
        owner = org.manager[team]
        step_id = ids["aftercare_step"]
        ids["aftercare_step"] += 1
        if rng.random() < ON_TIME_SHARE:
            finished = occurred + (due - occurred) * rng.uniform(0.2, 1.0)
        else:
            finished = due + timedelta(hours=min(rng.expovariate(1 / 48), 30 * 24))
        done: datetime | None = finished
        if finished > now:  # not done yet, unless the incident is old: then just now
            done = now - timedelta(minutes=rng.randint(1, 600)) if old else None
        if done is not None:
            outcomes, recorded = _outcome(step.kind, level, done, rng)
            note = rng.choice(NOTES)
            if last_done is not None:
                last_done = max(last_done, done)
            if step.repeat_after is not None and repeat_of is None and outcomes == '["declined"]':
                queue.append((step, done + step.repeat_after, step_id))
        else:
            outcomes, recorded, note, last_done = "[]", Recorded(), "", None
        batch["aftercare_step"].append(
            (
                step_id,
                incident_id,
                step.definition_id,
                step.kind,
                step.subject,
                person,
                team,
                owner,
                moment_text(due, pg),
                "open" if done is None else "done",
                outcomes,
                *recorded.row(),
                note,
                None if done is None else moment_text(done, pg),
                None if done is None else owner,
                "",
                repeat_of,
                0 if done is None else 1,
                None,
                created,
            )
        )
    return last_done


def rebuild_statistics(engine: Engine) -> str:
    """Recount the statistics' summary table, when the app has one (`incidents.stats.tally`)."""
    try:
        from incidents.stats import tally
    except ImportError:
        return "skipped: no incidents.stats.tally"
    rebuild = getattr(tally, "rebuild", None)
    if rebuild is None:
        return "skipped: incidents.stats.tally has no rebuild()"
    if inspect.signature(rebuild).parameters:  # rebuild(connection): the caller commits
        with engine.begin() as conn:
            rows = rebuild(conn)
            # Generated incidents land in months that an earlier, smaller run published:
            # publish again from the full counts (the app does it at the next page).
            for table in ("stat_published", "stat_publication"):
                if table in inspect_tables(conn):
                    conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - our names
    else:  # rebuild(): commits itself
        rows = rebuild()
    return f"{rows} rows" if isinstance(rows, int) and rows >= 0 else "done"


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
