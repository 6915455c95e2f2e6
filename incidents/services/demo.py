"""The demo organisation: teams, accounts and 21 months of history (demo mode only).

`flask seed-demo` calls these. The history is made through the services, then dated back so
the statistics have past months to show; that backdating, and the two demo accounts' register
permissions (security officer, front office), are the only direct writes here.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from incidents import services
from incidents.extensions import db
from incidents.models import (
    Channel,
    Incident,
    IncidentType,
    Location,
    Notification,
    Role,
    StepStatus,
    Team,
    TeamMembership,
    User,
)
from incidents.services import alarms, locations
from incidents.services.base import ServiceError

DEMO_PASSWORD = "aftercare-demo"  # noqa: S105 - demo mode only, refused in production

DEMO_ACCOUNTS: list[tuple[str, str, Role, str | None]] = [
    ("employee@demo.test", "Eva Employee", Role.EMPLOYEE, "income"),
    ("witness@demo.test", "Wim Witness", Role.EMPLOYEE, "enforcement"),
    ("manager@demo.test", "Mira Manager", Role.MANAGER, "income"),
    ("manager2@demo.test", "Max Manager", Role.MANAGER, "enforcement"),
    ("hr@demo.test", "Hanna HR", Role.HR, None),
    ("admin@demo.test", "Adam Admin", Role.ADMIN, None),
    ("veiligheid@demo.test", "Vera Veiligheid", Role.EMPLOYEE, None),
    ("balie@demo.test", "Bas Balie", Role.EMPLOYEE, "front"),
]

# The permissions an admin gives some employees (the register of measures): the security
# officer approves measures for the whole organisation, the front office looks them up.
DEMO_PERMISSIONS: dict[str, str] = {
    "veiligheid@demo.test": "security_officer",
    "balie@demo.test": "front_office",
}

# Locations with a poster (admin > Locations), in the organisation's language.
DEMO_LOCATIONS: list[tuple[str, Channel]] = [
    ("Balie publiekshal", Channel.COUNTER),
    ("Spreekkamer 2", Channel.INTERVIEW_ROOM),
    ("Team huisbezoeken", Channel.HOME_VISIT),
]


DEMO_DOMAIN = "@demo.test"


def refuse_outside_demo() -> None:
    """Demo data goes only into a demo: the configuration must be in demo mode (production's
    is not), and the database empty or holding the demo already, never one with real accounts
    (a production database reached from a development configuration)."""
    if not current_app.config["DEMO"]:
        raise ServiceError("demo data is only loaded in demo mode, never in production")
    if db.session.scalar(select(User.id).where(User.email == DEMO_ACCOUNTS[0][0])) is not None:
        return
    others = db.session.scalar(
        select(func.count()).select_from(User).where(User.email.not_like(f"%{DEMO_DOMAIN}"))
    )
    if others:
        raise ServiceError(
            f"refused: this database holds {others} accounts outside the demo "
            f"(*{DEMO_DOMAIN}); demo data is only loaded into an empty database"
        )


def seed_demo() -> list[tuple[str, Role]]:
    """Load the demo organisation and accounts once; returns the accounts (e-mail, role)."""
    if not current_app.config["DEMO"]:
        raise ServiceError("demo data is only loaded in demo mode, never in production")
    if db.session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][0])) is None:
        department = services.create_team(None, name_nl="Sociaal Domein", name_en="Social Domain")
        teams = {
            "income": services.create_team(
                None, name_nl="Inkomen", name_en="Income", parent=department
            ),
            "enforcement": services.create_team(
                None, name_nl="Handhaving", name_en="Enforcement", parent=department
            ),
            "front": services.create_team(
                None, name_nl="Publiekszaken", name_en="Front office", parent=department
            ),
        }
        users = {
            email: services.create_user(
                None,
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                team=teams[team] if team else None,
            )
            for email, name, role, team in DEMO_ACCOUNTS
        }
        manager, manager2 = users["manager@demo.test"], users["manager2@demo.test"]
        for key, boss, deputy in (
            ("income", manager, manager2),
            ("enforcement", manager2, manager),
            ("front", manager, None),
        ):
            team = teams[key]
            services.update_team(
                None,
                team,
                name_nl=team.name_nl,
                name_en=team.name_en,
                parent=department,
                manager=boss,
                deputy=deputy,
            )
        # HR and the admin have no team: their aftercare, if ever needed, is the coordinator's.
        services.ownership.set_coordinator(users["admin@demo.test"], manager2)
    _permitted_accounts()
    if db.session.scalar(select(Location.id).limit(1)) is None:  # also for an older demo
        for name, channel in DEMO_LOCATIONS:
            locations.create_location(None, name=name, channel=channel)
    return [(email, role) for email, _, role, _ in DEMO_ACCOUNTS]


def _permitted_accounts() -> None:
    """The security officer and the front-office employee, with their permission (also into
    an older demo that was loaded before they existed)."""
    teams = {t.name_en: t for t in db.session.scalars(select(Team))}
    team_names = {"front": "Front office"}
    for email, name, role, team in DEMO_ACCOUNTS:
        permission = DEMO_PERMISSIONS.get(email)
        if permission is None:
            continue
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = services.create_user(
                None,
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                team=teams.get(team_names.get(team or "", "")),
            )
        if not getattr(user, permission):
            # Written directly, as the admin would set them on the account.
            setattr(user, permission, True)
            db.session.commit()


# What happened, per kind of history incident (in the organisation's language, as reported).
HISTORY_DESCRIPTIONS = [
    "Cliënt werd boos over een besluit en schold mij uit.",
    "Bezoeker schreeuwde, kwam dreigend dichtbij staan en bleef mij aanstaren.",
    "Cliënt dreigde 'mij wel te vinden' als zijn aanvraag werd afgewezen.",
    "Bezoeker maakte kwetsende opmerkingen over mijn afkomst en weigerde geholpen te worden.",
    "Cliënt duwde mij opzij toen ik het gesprek beëindigde.",
]
DEMO_COLLEAGUES = {"income": 7, "enforcement": 5, "front": 6}  # besides the demo accounts
DEMO_HISTORY_MONTHS = 21


def history_start(now: datetime) -> datetime:
    """When the demo organisation's people joined their teams: the history's first day."""
    return datetime(now.year, now.month, 1, tzinfo=UTC) - timedelta(days=31 * DEMO_HISTORY_MONTHS)


def seed_demo_history(now: datetime) -> int:
    """Colleagues and about 21 months of past incidents with their aftercare done, so the
    statistics have published quarters to show (demo mode only, once); returns how many
    incidents were added. Written through the services, then dated back."""
    if not current_app.config["DEMO"]:
        raise ServiceError("demo data is only loaded in demo mode, never in production")
    if db.session.scalar(select(User).where(User.email == "colleague-income-1@demo.test")):
        return 0
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    start = history_start(now)
    teams = {t.name_en: t for t in db.session.scalars(select(Team))}
    keys = {"income": "Income", "enforcement": "Enforcement", "front": "Front office"}
    people: dict[str, list[User]] = {}
    for key, many in DEMO_COLLEAGUES.items():
        team = teams[keys[key]]
        people[key] = [
            services.create_user(
                None,
                email=f"colleague-{key}-{n}@demo.test",
                name=f"{team.name_nl} collega {n}",
                password=secrets.token_urlsafe(24),
                role=Role.EMPLOYEE,
                team=team,
            )
            for n in range(1, many + 1)
        ]
    # Everyone of the demo organisation belonged to their team from the start.
    db.session.execute(update(User).values(created_at=start))
    db.session.execute(update(TeamMembership).values(since=start))
    db.session.commit()
    made = 0
    channels = [Channel.COUNTER, Channel.PHONE, Channel.INTERVIEW_ROOM, Channel.HOME_VISIT]
    kinds = [
        [IncidentType.VERBAL],
        [IncidentType.VERBAL, IncidentType.INTIMIDATION],
        [IncidentType.THREAT],
        [IncidentType.DISCRIMINATION],
        [IncidentType.PHYSICAL],
    ]
    moment = start + timedelta(days=2)
    while moment < now - timedelta(days=2):
        key = rng.choice(list(people))
        victim = rng.choice(people[key])
        channel = rng.choice(channels)
        types = rng.choices(kinds, weights=(40, 20, 20, 8, 6))[0]
        data = services.ReportData(
            occurred_at=moment,
            channel=channel,
            types=types,
            description=HISTORY_DESCRIPTIONS[kinds.index(types)],
            affected_ids=[victim.id],
        )
        if rng.random() < 0.15:  # an alarm button, most of them completed as a report
            event, _new = alarms.receive_alarm(
                alarms.Alarm(f"demo-alarm-{made:05d}", victim.email, moment, "Spreekkamer 2")
            )
            draft = db.session.get(Incident, event.incident_id)
            if draft is not None and rng.random() < 0.8:
                incident = services.complete_draft(victim, draft, data, submit=True, version=None)
                _date_back(incident, moment, now, rng)
        else:
            incident = services.save_report(
                victim, f"demo-history-{made:05d}-{secrets.token_hex(4)}", data, submit=True
            )
            _date_back(incident, moment, now, rng)
        made += 1
        moment += timedelta(hours=rng.randint(60, 160))
    _demo_org_measures(now, teams)
    # Eva pressed her alarm button an hour ago: a draft on her home page, the contact step
    # in Mira's inbox.
    eva = db.session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][0]))
    if eva is not None:
        alarms.receive_alarm(
            alarms.Alarm("demo-alarm-today", eva.email, now - timedelta(hours=1), "Spreekkamer 2")
        )
    return made


def _demo_org_measures(now: datetime, teams: dict[str, Team]) -> None:
    """Organisational measures of the demo: one a year ago, one nine months ago, one ahead."""
    from incidents.services import learning
    from incidents.stats.periods import add_months

    hr = db.session.scalar(select(User).where(User.role == Role.HR))
    if hr is None:
        return
    quarter = date(now.year, now.month - (now.month - 1) % 3, 1)
    for title, description, months, scope in (
        (
            "Camera's in de spreekkamers uit",
            "De camera's in de spreekkamers zijn uitgezet; er is een alarmknop onder het bureau.",
            -12,
            {"channels": [Channel.INTERVIEW_ROOM.value]},
        ),
        (
            "Mobiele alarmknoppen bij huisbezoeken",
            "Handhavers dragen bij huisbezoeken een mobiele alarmknop.",
            -9,
            {"teams": [teams["Enforcement"].id], "channels": [Channel.HOME_VISIT.value]},
        ),
        (
            "Baliescherm bij Publiekszaken",
            "Een scherm van gelaagd glas aan de balie, aangekondigd voor het komende kwartaal.",
            3,
            {"teams": [teams["Front office"].id], "channels": [Channel.COUNTER.value]},
        ),
    ):
        learning.record(
            hr,
            learning.MeasureInput(
                title=title,
                description=description,
                taken_on=add_months(quarter, months),
                **scope,
            ),
            now,
        )


def _date_back(incident: Incident, occurred: datetime, now: datetime, rng: random.Random) -> None:
    """A demo incident as if reported an hour after it happened, and its aftercare done on
    time when it is older than six weeks."""
    from incidents import rules
    from incidents.extensions import current_protocol

    reported = occurred + timedelta(hours=1)
    incident.submitted_at = incident.created_at = reported
    # The deadlines as the protocol gives them for a report an hour after the incident.
    planned = rules.plan(
        incident.level or 1,
        [p.user_id for p in incident.people if p.role.value == "affected"],
        [],
        occurred,
        reported,
        current_protocol(),
    )
    due = {(s.definition.id, s.subject_id): s.due_at for s in planned}
    for step in incident.steps:
        step.due_at = due.get((step.definition_id, step.subject_user_id), step.due_at)
        step.created_at = reported
    if occurred < now - timedelta(weeks=6):
        for step in incident.steps:
            if step.status != StepStatus.OPEN:
                continue
            late = rng.random() < 0.12  # some steps are done a day late
            step.status = StepStatus.DONE
            step.done_at = step.due_at + (timedelta(days=1) if late else -timedelta(hours=2))
            step.outcomes = [rng.choice(current_protocol().outcomes_of(step.kind).choose[:2])]
            if rules.Outcome.NOT_FILED in step.outcomes:
                step.reason = "Demo"
        incident.closed_at = max(s.done_at for s in incident.steps if s.done_at)
    db.session.execute(
        update(Notification)
        .where(Notification.incident_id == incident.id)
        .values(sent_at=incident.submitted_at)
    )
    db.session.commit()
