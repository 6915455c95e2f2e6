"""The attacker test of the statistics' disclosure control.

A hostile HR user in a realistic organisation (teams of 1 to 15 people, people without a team,
a team that grows past k during the year, two years of incidents, rare level-4 incidents in
small teams, incidents around New Year's night) pulls every figure that every period, breakdown,
table, CSV file, before/after comparison and the privacy officer's overview offers. Each figure
becomes an interval on the hidden integer counts behind it (level by month; team, channel and
type by level by month; outcomes by month; incidents with evidence and with evidence handed to
the police by month), linked by what the attacker knows for certain (every incident has one
team, one channel, one level and at least one type; a police decision has one outcome; the
incidents whose evidence went to the police are some of those with evidence, which are some of
the month's incidents). Measures against perpetrators become hidden counts by kind and quarter
(started, ended, and carried in from before), linked by what the attacker knows for certain:
what is in force in a quarter was carried into it or started in it, and either ended in it or
was carried into the next. Bounds propagation runs until nothing changes (`tests/attacker.py`).

The test fails when any count of 1..k-1 becomes exact, a hidden count or a sum a figure stands
for is proven to be 1..k-1, a unit of fewer than k people is shown, or adding one incident (now,
or backdated into a published month) changes any figure of a published period. It checks its
own inferences against the seeded truth (soundness), so a wrong model fails loudly too.

It reads only what a browser or a CSV download shows, and discovers the filters from the page,
so it runs against any version of the statistics."""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from incidents import services
from incidents.extensions import current_protocol, db
from incidents.models import (
    AlarmEvent,
    Attachment,
    Channel,
    Incident,
    IncidentStatus,
    IncidentType,
    Measure,
    MeasureState,
    Role,
    StepStatus,
    Team,
    User,
)
from incidents.services import ReportData, learning
from incidents.services.aftercare import StepResult
from incidents.services.alarms import Alarm, receive_alarm
from incidents.services.evidence import Upload, add_files, remove_file
from incidents.stats.tally import RETENTION_REMOVAL
from tests.attacker import Inference
from tests.conftest import login

K = 5
ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2025, 1, 1, tzinfo=ZONE)
NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # everything through 2026 is published
MONTHS = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
LEVELS = (1, 2, 3, 4)
CHANNELS = [c.value for c in Channel]
TYPES = [t.value for t in IncidentType]
POLICE = ("filed_by_employer", "filed_by_employee", "not_filed")
REFERRALS = (
    "victim_support",
    "social_work",
    "occupational_physician",
    "gp",
    "none_needed",
    "declined",
)

# (department, team, members at the start, members who join later: (month, how many))
ORGANISATION = [
    ("Sociaal Domein", "Inkomen", 15, []),
    ("Sociaal Domein", "Schuldhulp", 9, []),
    ("Sociaal Domein", "Jeugd", 4, [("2025-07", 1)]),  # grows past k during the year
    ("Sociaal Domein", "Wmo", 3, []),
    ("Sociaal Domein", "Leerplicht", 1, []),
    ("Publiekszaken", "Balie", 12, []),
    ("Publiekszaken", "Burgerzaken", 7, []),
    ("Publiekszaken", "Klantcontact", 5, []),
    ("Publiekszaken", "Archief", 2, []),
    ("Ruimte", "Handhaving", 11, []),
    ("Ruimte", "Vergunningen", 6, []),
    ("Ruimte", "Wijkteam", 2, []),
    ("Ruimte", "Parkeren", 3, []),
]
NO_TEAM = 1  # employees without a team, besides HR and the admin: 3 people in all


@dataclass
class Org:
    teams: dict[str, Team] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    people: dict[str, list[User]] = field(default_factory=dict)  # team name (or "") -> users
    # The test's own membership log: (team name or "", joined, left or None)
    log: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)
    managers: dict[str, User] = field(default_factory=dict)
    hr: User | None = None
    admin: User | None = None


def at(month: str, day: int, hour: int, minute: int = 0) -> datetime:
    year, m = int(month[:4]), int(month[5:])
    return datetime(year, m, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def org(app, make_user, make_team) -> Org:
    found = Org()
    with time_machine.travel(START - timedelta(days=30), tick=False):
        found.admin = make_user(Role.ADMIN, name="Admin")
        found.hr = make_user(Role.HR, name="Hostile HR")
        for department in dict.fromkeys(d for d, *_ in ORGANISATION):
            unit = make_team(department, name_nl=department)
            found.teams[department], found.parents[department] = unit, None
            found.managers[department] = make_user(
                Role.MANAGER, name=f"Head of {department}", team=unit
            )
            found.log.append((department, START - timedelta(days=30), None))
        for department, name, size, _ in ORGANISATION:
            parent = found.teams[department]
            team = make_team(name, name_nl=name, parent=parent, manager=found.managers[department])
            found.teams[name], found.parents[name] = team, department
            found.people[name] = [make_user(name=f"{name} {n}", team=team) for n in range(size)]
            found.log += [(name, START - timedelta(days=30), None)] * size
        found.people[""] = [make_user(name=f"No team {n}") for n in range(NO_TEAM)]
        found.log += [("", START - timedelta(days=30), None)] * (NO_TEAM + 2)  # and HR, admin
    for _, name, _, joins in ORGANISATION:
        for month, many in joins:
            moment = at(month, 1, 9)
            with time_machine.travel(moment, tick=False):
                found.people[name] += [
                    make_user(name=f"{name} late {n}", team=found.teams[name]) for n in range(many)
                ]
            found.log += [(name, moment, None)] * many
    return found


def _facts(level: int, rng: random.Random) -> dict[str, Any]:
    if level == 4:
        return {"types": [IncidentType.PHYSICAL], "hospital": True}
    if level == 3:
        return {
            "types": [IncidentType.PHYSICAL, *rng.sample([IncidentType.VERBAL], rng.randint(0, 1))]
        }
    if level == 2:
        kinds = [
            IncidentType.THREAT,
            IncidentType.DISCRIMINATION,
            IncidentType.DAMAGE,
            IncidentType.ONLINE,
        ]
        return {"types": rng.sample(kinds, rng.randint(1, 2))}
    return {
        "types": rng.sample([IncidentType.VERBAL, IncidentType.INTIMIDATION], rng.randint(1, 2))
    }


def report(
    user: User,
    token: str,
    occurred: datetime,
    level: int,
    channel: Channel,
    rng,
    reported: datetime | None = None,
) -> Incident:
    facts = _facts(level, rng)
    with time_machine.travel(reported or occurred + timedelta(hours=2), tick=False):
        return services.save_report(
            user,
            token,
            ReportData(
                occurred_at=occurred,
                channel=channel,
                description="What happened.",
                affected_ids=[user.id],
                **facts,
            ),
            submit=True,
        )


def decide(manager: User, incident: Incident, rng: random.Random) -> None:
    """Some police-report and referral decisions, recorded when they were due."""
    for step in list(incident.steps):
        if step.kind == "police_report" and rng.random() < 0.7:
            outcome = rng.choice(POLICE)
            result = StepResult(
                outcomes=[outcome], reason="No reason to" if outcome == "not_filed" else ""
            )
        elif step.kind == "referral_decision" and rng.random() < 0.7:
            result = StepResult(outcomes=rng.sample(REFERRALS[:4], rng.randint(1, 2)))
        else:
            continue
        with time_machine.travel(step.due_at - timedelta(hours=1), tick=False):
            services.aftercare.complete_step(manager, step, result, attempts=step.attempts)


@pytest.fixture
def seeded(org) -> Org:
    rng = random.Random(12)
    token = iter(range(10_000))
    for month in MONTHS:
        for _, name, _, _ in ORGANISATION:
            people = org.people[name]
            for _ in range(sum(rng.random() < 0.12 for _ in people)):  # about 1 in 8 a month
                level = rng.choices(LEVELS[:3], weights=(60, 30, 10))[0]
                incident = report(
                    rng.choice(people),
                    f"attack-{next(token):06d}-padding",
                    at(month, rng.randint(1, 28), rng.randint(8, 17)),
                    level,
                    rng.choice(list(Channel)),
                    rng,
                )
                decide(org.managers[org.parents[name] or name], incident, rng)
        if rng.random() < 0.4:
            report(
                rng.choice(org.people[""]),
                f"attack-{next(token):06d}-padding",
                at(month, 10, 11),
                1,
                Channel.PHONE,
                rng,
            )
    # Alarm buttons: a few a month, most completed as a report in time, some late, some never.
    people = [p for _, name, _, _ in ORGANISATION for p in org.people[name]]
    for month in MONTHS:
        for _ in range(rng.choice((0, 1, 1, 2, 3, 6))):
            person = rng.choice(people)
            moment = at(month, rng.randint(1, 28), rng.randint(8, 17))
            with time_machine.travel(moment + timedelta(minutes=1), tick=False):
                event, _new = receive_alarm(
                    Alarm(f"attack-alarm-{next(token)}", person.email, moment, "Balie")
                )
            chance = rng.random()
            if chance < 0.3:
                continue  # never completed
            later = (
                timedelta(days=40) if chance < 0.4 else timedelta(hours=3)
            )  # late: after publication
            draft = db.session.get(Incident, event.incident_id)
            assert draft is not None
            with time_machine.travel(moment + later, tick=False):
                services.complete_draft(
                    person,
                    draft,
                    ReportData(
                        occurred_at=moment,
                        channel=Channel.COUNTER,
                        description="The alarm.",
                        affected_ids=[person.id],
                        **_facts(2, rng),
                    ),
                    submit=True,
                    version=None,
                )
    # Rare level-4 incidents planted in small teams: one hospital admission in May in a team
    # of three, on a home visit; two in a team of two.
    for name, month in (
        ("Wmo", "2025-05"),
        ("Archief", "2026-02"),
        ("Archief", "2026-09"),
        ("Inkomen", "2026-03"),
    ):
        incident = report(
            org.people[name][0],
            f"attack-{next(token):06d}-padding",
            at(month, 12, 10),
            4,
            Channel.HOME_VISIT,
            rng,
        )
        decide(org.managers[org.parents[name]], incident, rng)
    # New Year's night: just before and just after midnight in Amsterdam (23:xx UTC).
    for moment in (
        datetime(2025, 12, 31, 23, 40, tzinfo=ZONE),
        datetime(2026, 1, 1, 0, 20, tzinfo=ZONE),
    ):
        report(
            org.people["Balie"][0],
            f"attack-{next(token):06d}-padding",
            moment.astimezone(UTC),
            2,
            Channel.PUBLIC_SPACE,
            rng,
        )
    add_evidence(org)
    add_measures()
    add_org_measures(org)
    return org


# Organisational measures: a team, a department (its teams with it), a channel, a team of
# three (never compared), and one dated within a quarter (that quarter left out).
ORG_MEASURES = [
    ("Balie screens", date(2025, 7, 1), ["Balie"], []),
    ("Ruimte works", date(2026, 1, 1), ["Ruimte"], []),
    ("Phone rules", date(2025, 10, 1), [], ["phone"]),
    ("Wmo pairs", date(2025, 4, 1), ["Wmo"], []),
    ("Inkomen alarms", date(2025, 5, 15), ["Inkomen"], []),
]


def add_org_measures(org: Org) -> None:
    assert org.hr is not None
    with time_machine.travel(START, tick=False):
        for title, taken_on, teams, channels in ORG_MEASURES:
            learning.record(
                org.hr,
                learning.MeasureInput(
                    title=title,
                    taken_on=taken_on,
                    teams=[org.teams[t].id for t in teams],
                    channels=channels,
                ),
            )


def org_measure_scope(org: Org, teams: list[str]) -> list[str]:
    """The teams a measure's scope holds: its teams and every team under them."""
    found = list(teams)
    for name, parent in org.parents.items():
        if parent in teams and name not in found:
            found.append(name)
    return found


def org_windows(taken_on: date, months: int) -> tuple[list[str], list[str]]:
    """The attacker's own reading of the method: whole quarters before the measure's quarter,
    and from the first quarter start on or after its date."""
    quarter = date(taken_on.year, taken_on.month - (taken_on.month - 1) % 3, 1)
    index = (quarter.year - 2025) * 12 + quarter.month - 1
    after = index if taken_on == quarter else index + 3
    before_months = [MONTHS[i] for i in range(index - months, index) if i >= 0]
    return before_months, MONTHS[after : after + months]


def png(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (n % 256, n // 256 % 256, 7)).save(out, format="PNG")
    return out.getvalue()


def add_evidence(org: Org) -> None:
    """Files on about one incident in four, added the day after the report, some handed to
    the police the day after that, and some removed by the manager (who made a mistake), so
    that some incidents with files count as without evidence. A random stream of its own:
    the incidents stay as they were without evidence."""
    rng = random.Random(7)
    manager_of: dict[int | None, User] = {
        team.id: org.managers[org.parents[name] or name] for name, team in org.teams.items()
    }
    incidents = db.session.scalars(
        select(Incident).where(Incident.status == IncidentStatus.SUBMITTED).order_by(Incident.id)
    ).all()
    for n, incident in enumerate(incidents):
        if rng.random() >= 0.25 or incident.submitted_at is None:
            continue
        reporter = db.session.get(User, incident.reporter_id)
        manager = manager_of.get(incident.team_id) or org.admin
        assert reporter is not None and manager is not None
        moment = incident.submitted_at + timedelta(days=1)
        with time_machine.travel(moment, tick=False):
            files = add_files(
                reporter, incident, [Upload(f"photo-{n}-{i}.png", png(n + i)) for i in range(2)]
            )
        chance = rng.random()
        with time_machine.travel(moment + timedelta(days=1), tick=False):
            if chance < 0.4:
                with services.transaction():
                    files[0].handed_at = moment + timedelta(days=1)
                if chance < 0.1:  # handed, then removed: the police had it, it counts
                    remove_file(manager, files[0], "The police have it")
                    remove_file(manager, files[1], "Not needed")
            elif chance < 0.55:  # both removed: added by mistake, no evidence
                remove_file(manager, files[0], "Wrong incident")
                remove_file(manager, files[1], "Wrong incident")


# Measures against perpetrators: about two a month from mid-2024, mostly warning letters of a
# year (so that a dozen are in force at once and the totals show numbers), some bans and
# conversations with two colleagues; some ended early, some withdrawn or never approved, and
# some whose stored state the daily run never brought up to date.
MEASURE_KINDS = {
    "warning_letter": 4,
    "two_colleagues": 3,
    "written_contact": 2,
    "building_ban": 2,
    "contact_person": 1,
}
# Quarters as the attacker numbers them: 0 before 2025, 1..8 the quarters of 2025 and 2026,
# 9 after 2026.
QUARTERS = 8


def add_measures() -> None:
    """Measures written to the register directly (their figures depend only on their kind,
    dates and state), each resting on an incident. A random stream of its own."""
    rng = random.Random(5)
    incidents = db.session.scalars(
        select(Incident).where(Incident.status == IncidentStatus.SUBMITTED).order_by(Incident.id)
    ).all()
    today = NOW.date()
    first = datetime(2024, 7, 1).date()
    for n in range(75):
        starts = first + timedelta(days=rng.randrange(0, 910))
        kind = rng.choices(list(MEASURE_KINDS), weights=list(MEASURE_KINDS.values()))[0]
        found = current_protocol().measure_kind(kind)
        assert found is not None
        days = rng.choice((found.default_days, found.default_days, found.max_days, 30))
        ends = starts + timedelta(days=days - 1)
        chance = rng.random()
        state = MeasureState.IN_FORCE if starts <= today <= ends else MeasureState.ENDED
        if ends > today and starts > today:
            state = MeasureState.APPROVED
        if chance < 0.1:
            state = MeasureState.WITHDRAWN
        elif chance < 0.2:
            state = MeasureState.PROPOSED
        elif chance < 0.35 and ends - starts > timedelta(days=20):  # ended early
            ends = starts + timedelta(days=rng.randrange(0, (ends - starts).days))
            state = MeasureState.ENDED if ends < today else state
        elif chance < 0.45 and state == MeasureState.ENDED:
            state = MeasureState.IN_FORCE  # the daily run never came: the dates decide
        measure = Measure(
            kind=kind,
            reason="Threatened an employee.",
            starts_on=starts,
            ends_on=ends,
            state=state,
            proposed_at=datetime(starts.year, starts.month, starts.day, tzinfo=UTC),
            incidents=[rng.choice(incidents)],
        )
        measure.set_citizen(f"Citizen {n}", f"K-{n:04d}")
        db.session.add(measure)
    db.session.commit()


def quarter_index(day) -> int:
    """The attacker's number of the quarter a day falls in."""
    if day.year < 2025:
        return 0
    if day.year > 2026:
        return QUARTERS + 1
    return (day.year - 2025) * 4 + (day.month + 2) // 3


# --- what the attacker sees ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One figure: where it was shown and what it said."""

    where: tuple[str, ...]
    text: str


def csv_rows(client, query: str) -> list[list[str]] | None:
    response = client.get(f"/hr/statistics.csv?{query}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, query
    return list(csv.reader(io.StringIO(response.text)))


def options(html: str, name: str) -> list[str]:
    select_ = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)"', select_.group(1)) if select_ else []


def pull(client) -> dict[tuple[str, ...], list[list[str]]]:
    """Every CSV table every filter on the page offers, keyed by the request."""
    page = client.get("/hr/statistics").text
    tables: dict[tuple[str, ...], list[list[str]]] = {}
    for period in options(page, "period"):
        for by in options(page, "by"):
            for table in (
                "cross",
                "levels",
                "months",
                "police",
                "evidence",
                "referrals",
                "alarms",
                "measures",
            ):
                rows = csv_rows(client, f"period={period}&by={by}&table={table}")
                if rows is not None:
                    tables[(period, by, table)] = rows
    changes = options(page, "change")
    if not changes and 'type="month"' in page:  # an older page: any month
        changes = MONTHS
    for change in changes:
        for months in options(page, "months"):
            rows = csv_rows(client, f"table=compare&change={change}&months={months}")
            if rows is not None:
                tables[("compare", change, months)] = rows
    listing = client.get("/learning/measures").text
    for measure_id, title in re.findall(r'href="/learning/measures/(\d+)">([^<]+)</a>', listing):
        for months in ("3", "12"):
            response = client.get(f"/learning/measures/{measure_id}/comparison.csv?months={months}")
            if response.status_code == 200:
                rows = list(csv.reader(io.StringIO(response.text)))
                tables[("org_measure", title, months)] = rows
    return tables


def held(client) -> dict[str, str]:
    """The privacy officer's "incidents held, by year they happened" (read by an admin)."""
    figures = {}
    for year in ("2025", "2026"):
        page = client.get(f"/admin/privacy?year={year}").text
        section = re.search(r'id="t-held".*?</table>', page, re.S)
        if section:
            for label, value in re.findall(
                r'<th scope="row">([^<]+)</th><td class="num"[^>]*>([^<]*)</td>', section.group(0)
            ):
                figures[f"{year}:{label}"] = value
    return figures


# --- the attacker's model ---------------------------------------------------------------------


def interval(text: str, zero_shown: bool) -> tuple[int, int] | None:
    text = text.strip().replace("&lt; ", "<").replace("< ", "<")
    if text in ("", "*", "\u2013"):
        return None
    if text.startswith("<"):
        return (1 if zero_shown else 0, K - 1)
    if text.startswith((">=", "\u2265")):  # top-coded: this many or more
        return (max(K, int(text.lstrip(">=\u2265 ")) - K // 2), 10_000)
    value = int(text)
    if value == 0:
        return (0, 0)
    return (max(K, value - K // 2), value + (K - 1) // 2)


def months_of(period: str) -> list[str]:
    if len(period) == 4:
        return [m for m in MONTHS if m.startswith(period)]
    year, quarter = period[:4], int(period[6])
    return [f"{year}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]


def window(change: str, months: int, side: str) -> list[str]:
    index = MONTHS.index(change) if change in MONTHS else None
    if index is None:
        return []
    chosen = MONTHS[index - months : index] if side == "before" else MONTHS[index : index + months]
    return chosen if len(chosen) == months and (side == "after" or index - months >= 0) else []


class Model:
    """Hidden counts and the figures' constraints on them."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.inference = Inference(upper=2000)
        self.figures: list[tuple[Counter[Any], tuple[int, int], tuple[str, ...]]] = []
        teams = [*org.teams, ""]
        for month in MONTHS:
            for level in LEVELS:
                total = ("w", level, month)
                for family, keys in (("team", teams), ("channel", CHANNELS)):
                    self.inference.constrain(
                        [*(((family, key, level, month), 1) for key in keys), (total, -1)], 0, 0
                    )
                for key in TYPES:  # every type count is at most the incidents
                    self.inference.constrain(
                        [(("type", key, level, month), 1), (total, -1)], None, 0
                    )
                self.inference.constrain(
                    [*((("type", key, level, month), 1) for key in TYPES), (total, -1)], 0, None
                )
            decided = ("decided", "police_report", month)
            self.inference.constrain(
                [*((("outcome", "police_report", o, month), 1) for o in POLICE), (decided, -1)],
                0,
                0,
            )
            # Evidence handed to the police is evidence; evidence is on the month's incidents.
            self.inference.constrain(
                [(("evidence", "police", month), 1), (("evidence", "with", month), -1)], None, 0
            )
            self.inference.constrain(
                [(("evidence", "with", month), 1), *((("w", lvl, month), -1) for lvl in LEVELS)],
                None,
                0,
            )
            # A completed alarm is a report of its month.
            self.inference.constrain(
                [(("alarm", "reported", month), 1), *((("w", lvl, month), -1) for lvl in LEVELS)],
                None,
                0,
            )
            for o in REFERRALS:
                self.inference.constrain(
                    [
                        (("outcome", "referral_decision", o, month), 1),
                        (("decided", "referral_decision", month), -1),
                    ],
                    None,
                    0,
                )

        # Measures of a kind: those in force in a quarter are those carried into it and those
        # that started in it, and also those that ended in it and those carried into the next.
        for kind in MEASURE_KINDS:
            for q in range(1, QUARTERS + 1):
                self.inference.constrain(
                    [
                        (measure_count("carried", kind, q), 1),
                        (measure_count("started", kind, q), 1),
                        (measure_count("ended", kind, q), -1),
                        (measure_count("carried", kind, q + 1), -1),
                    ],
                    0,
                    0,
                )

    def measures(self, column: str, kinds, quarters: list[int]) -> Counter[Any]:
        """What a measures figure counts: started in these quarters, or in force in them
        (carried into the first, or started in any)."""
        terms = Counter({measure_count("started", kind, q): 1 for kind in kinds for q in quarters})
        if column == "in_force":
            terms.update({measure_count("carried", kind, quarters[0]): 1 for kind in kinds})
        return terms

    def add(
        self, terms: Counter[Any], bounds: tuple[int, int] | None, where: tuple[str, ...]
    ) -> None:
        if bounds is None or not terms:
            return
        self.inference.constrain(terms.items(), bounds[0], bounds[1], label=where)
        self.figures.append((terms, bounds, where))

    # Which hidden counts a figure sums.
    def cells(self, family: str, keys: list[str] | None, levels, months) -> Counter[Any]:
        if family == "w":
            return Counter({("w", lvl, m): 1 for lvl in levels for m in months})
        assert keys is not None
        return Counter({(family, key, lvl, m): 1 for key in keys for lvl in levels for m in months})


def measure_count(what: str, kind: str, quarter: int) -> tuple[str, str, str, int]:
    """A hidden count of measures of a kind: started, ended in, or carried into (in force on
    its first day, started before) a quarter."""
    return ("measure", what, kind, quarter)


def quarters_of(period: str) -> list[int]:
    year = int(period[:4]) - 2025
    if len(period) == 4:
        return [4 * year + q for q in range(1, 5)]
    return [4 * year + int(period[6])]


def measure_kind_of(label: str) -> str:
    for kind in current_protocol().measures:
        if label in (kind.title_nl, kind.title_en):
            return kind.id
    raise AssertionError(f"a row of no kind: {label}")


def team_rows(labels: list[str], org: Org) -> dict[str, list[str]]:
    """Which teams each row of a by-team table holds, as the attacker works it out from the org
    chart: a team not listed is counted with the nearest listed unit above it, else pooled."""
    rows: dict[str, list[str]] = defaultdict(list)
    pooled = next((label for label in labels if "samen" in label or "together" in label), None)
    for team in org.teams:
        unit: str | None = team
        while unit is not None and unit not in labels:
            unit = org.parents[unit]
        if unit is None:
            unit = pooled
        if unit is not None:
            rows[unit].append(team)
    no_team = next((label for label in labels if label in ("Geen team", "No team")), None)
    if no_team:
        rows[no_team].append("")
    return rows


def model_of(
    org: Org, tables: dict[tuple[str, ...], list[list[str]]], held_figures: dict[str, str]
) -> Model:
    model = Model(org)
    values = [v for rows in tables.values() for row in rows[1:] for v in row[1:]]
    zero = "0" in values
    level_of = {f"Niveau {lvl}": lvl for lvl in LEVELS} | {f"Level {lvl}": lvl for lvl in LEVELS}
    for request_key, rows in tables.items():
        header, body, totals = rows[0], rows[1:-1], rows[-1]
        if request_key[0] == "org_measure":
            _, title, span_months = request_key
            _, taken_on, teams, channels = next(m for m in ORG_MEASURES if m[0] == title)
            spans = org_windows(taken_on, int(span_months))
            inside = org_measure_scope(org, teams)
            for column, span in enumerate(spans, start=1):
                if teams:
                    scope = model.cells("team", inside, LEVELS, span)
                    rest = model.cells(
                        "team", [t for t in [*org.teams, ""] if t not in inside], LEVELS, span
                    )
                else:
                    scope = model.cells("channel", channels, LEVELS, span)
                    rest = model.cells(
                        "channel", [c for c in CHANNELS if c not in channels], LEVELS, span
                    )
                for row, terms in zip(
                    rows[1:], (scope, rest, model.cells("w", None, LEVELS, span)), strict=True
                ):
                    model.add(
                        terms, interval(row[column], zero), (*request_key, str(column), row[0])
                    )
            continue
        if request_key[0] == "compare":
            _, change, span_months = request_key
            for side, column in (("before", 1), ("after", 2)):
                span = window(change, int(span_months), side)
                for row in [*body, totals]:
                    levels = [level_of[row[0]]] if row[0] in level_of else list(LEVELS)
                    model.add(
                        model.cells("w", None, levels, span),
                        interval(row[column], zero),
                        (*request_key, side, row[0]),
                    )
            continue
        period, _, table = request_key
        months = months_of(period)
        dimension = header[0]
        if table == "cross":
            if dimension in ("Type", "Soort"):
                family, keys = "type", TYPES
            elif dimension in ("Kanaal", "Channel"):
                family, keys = "channel", CHANNELS
            else:
                family = "team"
                composition = team_rows([row[0] for row in body], org)
            levels = [level_of[h] for h in header[1:5]]
            for i, row in enumerate(body):
                members = composition[row[0]] if family == "team" else [keys[i]]
                for j, level in enumerate(levels):
                    model.add(
                        model.cells(family, members, [level], months),
                        interval(row[1 + j], zero),
                        (*request_key, row[0], str(level)),
                    )
                model.add(
                    model.cells(family, members, LEVELS, months),
                    interval(row[5], zero),
                    (*request_key, row[0], "total"),
                )
            for j, level in enumerate(levels):
                if family == "type":
                    terms = model.cells("type", TYPES, [level], months)
                else:
                    terms = model.cells("w", None, [level], months)
                model.add(terms, interval(totals[1 + j], zero), (*request_key, "total", str(level)))
            terms = (
                model.cells("type", TYPES, LEVELS, months)
                if family == "type"
                else model.cells("w", None, LEVELS, months)
            )
            model.add(terms, interval(totals[5], zero), (*request_key, "total"))
        elif table == "levels":
            for i, row in enumerate(body):
                model.add(
                    model.cells("w", None, [LEVELS[i]], months),
                    interval(row[1], zero),
                    (*request_key, row[0]),
                )
            model.add(
                model.cells("w", None, LEVELS, months),
                interval(totals[1], zero),
                (*request_key, "total"),
            )
        elif table == "months":
            for row in body:
                model.add(
                    model.cells("w", None, LEVELS, [row[0]]),
                    interval(row[1], zero),
                    (*request_key, row[0]),
                )
            model.add(
                model.cells("w", None, LEVELS, months),
                interval(totals[1], zero),
                (*request_key, "total"),
            )
        elif table in ("police", "referrals"):
            kind, outcomes = (
                ("police_report", POLICE) if table == "police" else ("referral_decision", REFERRALS)
            )
            for i, outcome in enumerate(outcomes):
                terms = Counter({("outcome", kind, outcome, m): 1 for m in months})
                model.add(terms, interval(body[i][1], zero), (*request_key, outcome))
            if zero and kind == "referral_decision":
                continue  # versions that showed 0 added up the kinds in this total
            terms = Counter({("decided", kind, m): 1 for m in months})
            model.add(terms, interval(totals[1], zero), (*request_key, "total"))
        elif table == "evidence":
            for i, part in enumerate(("with", "police")):
                terms = Counter({("evidence", part, m): 1 for m in months})
                model.add(terms, interval(body[i][1], zero), (*request_key, part))
            model.add(
                model.cells("w", None, LEVELS, months),
                interval(totals[1], zero),
                (*request_key, "total"),
            )
        elif table == "measures":
            quarters = quarters_of(period)
            for row in [*body, totals]:
                kinds = list(MEASURE_KINDS) if row is totals else [measure_kind_of(row[0])]
                for counted, text in zip(("started", "in_force"), row[1:3], strict=True):
                    model.add(
                        model.measures(counted, kinds, quarters),
                        interval(text, zero),
                        (*request_key, row[0], counted),
                    )
        elif table == "alarms":
            for i, part in enumerate(("reported", "unreported")):
                terms = Counter({("alarm", part, m): 1 for m in months})
                model.add(terms, interval(body[i][1], zero), (*request_key, part))
            terms = Counter(
                {("alarm", part, m): 1 for part in ("reported", "unreported") for m in months}
            )
            model.add(terms, interval(totals[1], zero), (*request_key, "total"))
    for key, text in held_figures.items():
        year, label = key.split(":", 1)
        if label == year:  # held, not anonymised (nothing is anonymised here)
            model.add(
                model.cells("w", None, LEVELS, months_of(year)),
                interval(text, zero),
                ("held", year),
            )
    return model


# --- the truth -------------------------------------------------------------------------------------


def truth(org: Org) -> dict[Any, int]:
    """The hidden counts, from the incidents themselves."""
    name_of: dict[int | None, str] = {team.id: name for name, team in org.teams.items()}
    found: Counter[Any] = Counter()
    delay = timedelta(days=7)
    for incident in db.session.scalars(
        select(Incident).where(Incident.status == IncidentStatus.SUBMITTED)
    ):
        # A submitted incident has all three.
        assert incident.occurred_at is not None and incident.submitted_at is not None
        assert incident.channel is not None
        local = incident.occurred_at.astimezone(ZONE)
        month = f"{local.year}-{local.month:02d}"
        next_month = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=ZONE)
        if month not in MONTHS or incident.submitted_at >= next_month + delay:
            continue  # not in a published month, or reported after it was published
        level = incident.level
        found[("w", level, month)] += 1
        found[("team", name_of.get(incident.team_id, ""), level, month)] += 1
        found[("channel", incident.channel.value, level, month)] += 1
        for kind in incident.types:
            found[("type", kind.value, level, month)] += 1
        for step in incident.steps:
            if step.status == StepStatus.DONE and step.kind in (
                "police_report",
                "referral_decision",
            ):
                found[("decided", step.kind, month)] += 1
                for outcome in step.outcomes:
                    found[("outcome", step.kind, outcome, month)] += 1
        if any(counts_as_evidence(a) for a in incident.attachments):
            found[("evidence", "with", month)] += 1
        if any(a.handed_at is not None for a in incident.attachments):
            found[("evidence", "police", month)] += 1
    counted = (MeasureState.APPROVED, MeasureState.IN_FORCE, MeasureState.ENDED)
    for measure in db.session.scalars(select(Measure).where(Measure.state.in_(counted))):
        starts, ends = quarter_index(measure.starts_on), quarter_index(measure.ends_on)
        if 1 <= starts <= QUARTERS:
            found[measure_count("started", measure.kind, starts)] += 1
        if 1 <= ends <= QUARTERS:
            found[measure_count("ended", measure.kind, ends)] += 1
        for q in range(max(starts + 1, 1), min(ends, QUARTERS + 1) + 1):
            found[measure_count("carried", measure.kind, q)] += 1
    for alarm in db.session.scalars(select(AlarmEvent)):
        local = alarm.triggered_at.astimezone(ZONE)
        month = f"{local.year}-{local.month:02d}"
        next_month = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=ZONE)
        report = alarm.incident
        done = (
            report is not None
            and report.status == IncidentStatus.SUBMITTED
            and report.submitted_at is not None
            and report.submitted_at < next_month + delay
        )
        found[("alarm", "reported" if done else "unreported", month)] += 1
    return found


def counts_as_evidence(attachment: Attachment) -> bool:
    """Still there, taken by retention, or handed to the police (the statistics' rule)."""
    by_retention = (
        attachment.removed_by_id is None and attachment.removed_reason == RETENTION_REMOVAL
    )
    return attachment.present or by_retention or attachment.handed_at is not None


def headcount(org: Org, teams: list[str], start: datetime, end: datetime) -> int:
    """The smallest number of people in these teams at any moment of [start, end)."""
    spans = [(joined, left) for team, joined, left in org.log if team in teams]
    moments = {
        start,
        *(j for j, _ in spans if start < j < end),
        *(left for _, left in spans if left and start < left < end),
    }
    return min(
        sum(1 for joined, left in spans if joined <= t and (left is None or t < left))
        for t in moments
    )


# --- the attack -------------------------------------------------------------------------------------


def attack(org: Org, tables, held_figures) -> list[str]:
    """Propagate; return what the attacker learnt that they must not (checked for soundness)."""
    model = model_of(org, tables, held_figures)
    real = truth(org)
    for terms, (low, high), where in model.figures:  # the model itself must be right
        value = sum(real[name] * c for name, c in terms.items())
        assert low <= value <= high, (where, value, (low, high))
    model.inference.propagate()
    learnt = []
    for name in model.inference.variables:
        low, high = model.inference.bounds(name)
        value = real[name]
        assert low <= value <= high, (name, value, (low, high))  # sound
        if 1 <= value < K and (low == high or (low >= 1 and high < K)):
            learnt.append(f"{name} = {value}: proven in [{low}, {high}]")
    for terms, _, where in model.figures:
        value = sum(real[name] * c for name, c in terms.items())
        low, high = model.inference.sum_bounds(terms.items())
        if 1 <= value < K and (low == high or (low >= 1 and high < K)):
            learnt.append(f"{'/'.join(where)} = {value}: proven in [{low}, {high}]")
    return learnt


def small_units_shown(org: Org, tables) -> list[str]:
    shown = []
    for (period, _, table), rows in (
        (key, rows) for key, rows in tables.items() if key[0] not in ("compare", "org_measure")
    ):
        if table != "cross" or rows[0][0] not in ("Team of afdeling", "Team or department"):
            continue
        months = months_of(period)
        start = at(months[0], 1, 0)
        end = (
            at(MONTHS[MONTHS.index(months[-1]) + 1], 1, 0)
            if months[-1] != MONTHS[-1]
            else datetime(2027, 1, 1, tzinfo=ZONE)
        )
        composition = team_rows([row[0] for row in rows[1:-1]], org)
        for row in rows[1:-1]:
            people = headcount(org, composition[row[0]], start, end)
            if people < K and any(v not in ("*", "") for v in row[1:]):
                shown.append(f"{period} {row[0]}: {people} people, shown {row[1:]}")
    return shown


def hr_client(app, org: Org):
    assert org.hr is not None
    return login(app.test_client(), org.hr)


@pytest.fixture
def attacker(app, seeded) -> Iterator[tuple[Any, Any]]:
    with time_machine.travel(NOW, tick=False):
        yield hr_client(app, seeded), login(app.test_client(), seeded.admin)


def test_the_attacker_learns_no_small_count_and_sees_no_small_unit(app, seeded, attacker):
    hr, admin = attacker
    tables = pull(hr)
    held_figures = held(admin)
    assert len(tables) > 50 and any(k[1] == "team" for k in tables)  # the attacker saw a lot
    evidence = [
        row[1] for key, rows in tables.items() if key[-1] == "evidence" for row in rows[1:3]
    ]
    assert "<5" in evidence and any(v.isdigit() for v in evidence)  # small and larger counts
    measures = [v for key, rows in tables.items() if key[-1] == "measures" for v in rows[-1][1:]]
    assert "<5" in measures and any(v.isdigit() for v in measures)
    compared = {key[1] for key in tables if key[0] == "org_measure"}
    assert compared == {"Balie screens", "Ruimte works", "Phone rules", "Inkomen alarms"}
    assert "Wmo pairs" not in compared  # three people: never compared
    learnt = attack(seeded, tables, held_figures)
    assert not learnt, f"{len(learnt)} small counts inferred, e.g.:\n" + "\n".join(learnt[:15])
    assert not small_units_shown(seeded, tables)


def test_one_more_incident_changes_no_published_figure(app, seeded, attacker):
    hr, admin = attacker
    before = pull(hr), held(admin)
    rng = random.Random(3)
    person = seeded.people["Wmo"][1]
    # One incident now, and one that happened in a published month but is reported only now.
    report(
        person,
        "attack-after-now-padding",
        NOW - timedelta(hours=3),
        4,
        Channel.COUNTER,
        rng,
        reported=NOW,
    )
    report(
        person,
        "attack-after-late-padding",
        at("2026-05", 5, 10),
        4,
        Channel.HOME_VISIT,
        rng,
        reported=NOW,
    )
    # And a measure against the citizen that starts today.
    incident = db.session.scalars(select(Incident).limit(1)).one()
    today = NOW.date()
    late = Measure(
        kind="building_ban",
        reason="Hit an employee.",
        starts_on=today,
        ends_on=today + timedelta(days=89),
        state=MeasureState.IN_FORCE,
        incidents=[incident],
    )
    late.set_citizen("Citizen now", "K-now")
    db.session.add(late)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        after = pull(hr), held(admin)
    changed: list[object] = [key for key in before[0] if before[0][key] != after[0].get(key)]
    changed += [key for key in before[1] if before[1][key] != after[1].get(key)]
    assert not changed, changed[:10]


def test_figures_pulled_over_time_never_move_and_together_give_nothing_away(app, seeded):
    """An attacker who pulls everything in the summer and again in January: every figure shown
    both times is the same, and everything seen, taken together, proves no small count."""
    summer = datetime(2026, 7, 20, 9, 0, tzinfo=UTC)  # 2026 through its second quarter
    with time_machine.travel(summer, tick=False):
        early = pull(hr_client(app, seeded))
    with time_machine.travel(NOW, tick=False):
        late = pull(hr_client(app, seeded))
        held_figures = held(login(app.test_client(), seeded.admin))
    assert "2026-Q2" in {key[0] for key in early} and "2026" not in {key[0] for key in early}
    moved = [key for key in early if key in late and early[key] != late[key]]
    assert not moved, moved[:10]
    assert set(early) <= set(late)  # nothing shown in the summer disappears
    assert not attack(seeded, {**early, **late}, held_figures)
