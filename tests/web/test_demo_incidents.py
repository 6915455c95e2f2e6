"""`flask seed-demo --with-incidents`: the demo's last months in every state, written as the app
writes them (statistics equal to a recount), once, never in production; and every main page of
every demo account answers with the demo's real data in it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select

from incidents import access, create_app, rules, services
from incidents.extensions import db, org_zone
from incidents.models import (
    AftercareStep,
    AlarmEvent,
    AuditAction,
    AuditEvent,
    Incident,
    IncidentStatus,
    Measure,
    MeasureState,
    Notification,
    PersonRole,
    StatTally,
    StepStatus,
    User,
    utcnow,
)
from incidents.services.demo import DEMO_ACCOUNTS, DEMO_PERMISSIONS, history_start, seed_demo
from incidents.services.demo_incidents import STORY_PREFIX, seed_demo_incidents
from incidents.stats import tally
from tests.conftest import login

Outcome = rules.Outcome
AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the protocol's calendar


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None, email
    return found


def story_incidents() -> list[Incident]:
    alarm_drafts = select(AlarmEvent.incident_id).where(
        AlarmEvent.provider_event_id.like(f"{STORY_PREFIX}%")
    )
    return list(
        db.session.scalars(
            select(Incident).where(
                Incident.submission_token.like(f"{STORY_PREFIX}%") | Incident.id.in_(alarm_drafts)
            )
        )
    )


def story(name: str) -> Incident:
    token = STORY_PREFIX + name
    found = db.session.scalar(select(Incident).where(Incident.submission_token == token))
    if found is None:
        alarm = db.session.scalar(select(AlarmEvent).where(AlarmEvent.provider_event_id == token))
        assert alarm is not None and alarm.incident_id is not None, name
        found = db.session.get(Incident, alarm.incident_id)
    assert found is not None, name
    return found


def steps_of(incident: Incident, definition: str) -> list[AftercareStep]:
    return sorted((s for s in incident.steps if s.definition_id == definition), key=lambda s: s.id)


@pytest.fixture
def seeded(app: Flask) -> Iterator[Flask]:
    """The demo with its incidents, loaded as `make run` loads it."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--with-incidents"])
    assert result.exit_code == 0, result.output
    assert "Demo incidents:" in result.output
    for email, _name, _role, _team in DEMO_ACCOUNTS:
        assert email in result.output  # the demo accounts are still printed
    assert "aftercare-demo" in result.output
    assert "veiligheid@demo.test (security officer)" in result.output
    assert "balie@demo.test (front office)" in result.output
    yield app


def test_seed_makes_incidents_and_aftercare_in_every_state(seeded):
    assert_every_state(utcnow())


# Days of the week, hours around the end of the working day, a night, and the changes to and
# from summer time: the stories count from the day they are loaded on.
SEEDED_AT = [
    datetime(2026, 11, 27, 16, 58, tzinfo=AMSTERDAM),  # a Friday just before 17:00
    datetime(2026, 11, 29, 23, 50, tzinfo=AMSTERDAM),  # a Sunday night
    datetime(2026, 10, 25, 3, 0, tzinfo=AMSTERDAM),  # winter time, in the doubled hour
]


@pytest.mark.parametrize("moment", SEEDED_AT, ids=lambda m: m.strftime("%a-%Y-%m-%d-%H%M"))
def test_every_state_whatever_the_day_it_is_loaded(app, moment):
    now = moment.astimezone(UTC)
    seed_demo()
    assert seed_demo_incidents(now, history_start(now)) >= 25
    assert_every_state(now)
    with db.engine.connect() as connection:
        assert not tally.drift(connection)


def assert_every_state(now: datetime) -> None:
    """What the stories promise, as seen at `now`, the moment they were loaded."""
    today = now.astimezone(org_zone()).date()
    eva, wim = user("employee@demo.test"), user("witness@demo.test")
    mira, max_ = user("manager@demo.test"), user("manager2@demo.test")
    incidents = story_incidents()
    assert len(incidents) >= 25
    submitted = [i for i in incidents if i.status == IncidentStatus.SUBMITTED]
    # A few months, all in the past, reported after they happened; every level.
    occurred = [i.occurred_at for i in incidents if i.occurred_at is not None]
    assert min(occurred) < now - timedelta(days=100) and max(occurred) < now
    assert all(i.submitted_at is not None and i.occurred_at is not None for i in submitted)
    assert all(i.occurred_at <= i.submitted_at <= now for i in submitted)  # type: ignore[operator]
    assert {i.level for i in submitted} == {1, 2, 3, 4}
    assert len({i.channel for i in incidents}) >= 6
    assert len({i.team_id for i in submitted}) == 3
    assert len({p.user_id for i in incidents for p in i.people_in(PersonRole.AFFECTED)}) >= 6

    # Eva affected and Wim her witness: a physical incident, its track closed with every step
    # done; the employer's police report with its number and outcome; a building ban in force.
    pushed = story("physical-at-counter")
    assert [p.user_id for p in pushed.people_in(PersonRole.AFFECTED)] == [eva.id]
    assert [p.user_id for p in pushed.people_in(PersonRole.WITNESS)] == [wim.id]
    assert pushed.level == 3 and pushed.closed_at is not None and pushed.closed_at < now
    assert all(s.status == StepStatus.DONE and s.outcomes for s in pushed.steps)
    (police,) = steps_of(pushed, "police_report")
    assert police.outcomes == [Outcome.FILED_BY_EMPLOYER]
    assert police.reference and police.police_outcome
    (ban,) = steps_of(pushed, "perpetrator_response")
    assert Outcome.BUILDING_BAN in ban.outcomes and ban.citizen_heard
    assert ban.end_date is not None and ban.end_date > today
    # Wim declined the witness conversation; offered again, he took it.
    declined, repeat = steps_of(pushed, "witness_aftercare_conversation")
    assert declined.outcomes == [Outcome.DECLINED] and repeat.repeat_of_id == declined.id
    assert repeat.outcomes == [Outcome.HELD] and repeat.owner_id == max_.id
    # Max stood in for Mira: he made the first contact with Eva.
    (contact,) = steps_of(pushed, "contact")
    assert contact.owner_id == mira.id and contact.done_by_id == max_.id

    # The register: the ban proposed by Mira from the response step, the client heard,
    # approved by the security officer, the notice sent; in force until the step's end date.
    officer = user("veiligheid@demo.test")
    assert officer.security_officer and user("balie@demo.test").front_office
    (registered,) = register_of(pushed)
    assert registered.kind == "building_ban" and registered.step_id == ban.id
    assert registered.citizen_name == pushed.perpetrator_name
    assert registered.proposed_by_id == mira.id and registered.approved_by_id == officer.id
    assert registered.heard and registered.notice_sent_on is not None
    assert registered.in_force_on(today) and registered.ends_on == ban.end_date
    assert not registered.carried_over
    # Conversations only with two colleagues present, in force; a proposal waiting.
    (two,) = register_of(story("home-visit-intimidation"))
    assert two.kind == "two_colleagues" and two.in_force_on(today)
    assert two.approved_by_id == officer.id and two.notice_sent_on is not None
    (waiting,) = register_of(story("pushed-after-all"))
    assert waiting.kind == "written_contact" and waiting.state == MeasureState.PROPOSED
    assert waiting.proposed_by_id == mira.id and access.may_approve_measure(officer, waiting)

    # Declined and offered again, the new offer still open and not yet due.
    threat = story("phone-threat")
    first, again = steps_of(threat, "aftercare_conversation")
    assert first.outcomes == [Outcome.DECLINED] and again.repeat_of_id == first.id
    assert again.is_open and again.due_at > now

    # Not reached: attempts recorded, the step open and overdue.
    visit = story("home-visit-intimidation")
    (follow_up,) = steps_of(visit, "follow_up_conversation")
    assert follow_up.is_open and follow_up.attempts == 2 == len(follow_up.attempt_times)
    assert follow_up.is_overdue(now)
    (filed_by_wim,) = steps_of(visit, "police_report")
    assert filed_by_wim.outcomes == [Outcome.FILED_BY_EMPLOYEE] and filed_by_wim.reference
    assert filed_by_wim.police_outcome is None  # its outcome not known yet

    # Level 4: the Labour Inspectorate told, referral at once, the closing conversation to come.
    assault = story("assault-on-home-visit")
    assert assault.level == 4 and assault.reporter_id == max_.id  # reported for Ahmed
    (inspectorate,) = steps_of(assault, "labour_inspectorate")
    assert inspectorate.outcomes == [Outcome.REPORTED] and inspectorate.reference
    (closing,) = steps_of(assault, "closing_conversation")
    assert closing.is_open and not closing.is_overdue(now)

    # A report amended the next day raised the level; audited as the app does it.
    raised = story("pushed-after-all")
    assert raised.level == 3
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.INCIDENT_LEVEL, AuditEvent.object_id == raised.id
        )
    )

    # A draft, an alarm's draft whose contact was made, a quick log of today.
    draft = story("draft")
    assert draft.is_draft and draft.reporter_id == eva.id and not draft.steps
    alarm_draft = story("alarm-draft")
    assert alarm_draft.is_draft and [s.status for s in alarm_draft.steps] == [StepStatus.DONE]
    assert alarm_draft.closed_at is None
    completed_alarm = story("alarm-completed")
    assert not completed_alarm.is_draft and completed_alarm.closed_at is not None
    quick = story("quick-log-today")
    assert quick.quick and quick.reporter_id == eva.id
    (today_contact,) = quick.steps
    assert today_contact.is_open and today_contact.due_at > now  # still to do

    # Every done step has its outcomes, who did it and when; none in the future.
    steps = [s for i in incidents for s in i.steps]
    done = [s for s in steps if s.status == StepStatus.DONE]
    assert len(done) > 50
    assert all(s.outcomes and s.done_by_id and s.done_at and s.done_at < now for s in done)
    assert any(s.is_overdue(now) for s in steps)
    assert any(s.is_open and not s.is_overdue(now) for s in steps)

    # Both managers own steps of their own team and stand in for the other's.
    teams = {mira.id: mira.team_id, max_.id: max_.team_id}
    for manager, other in ((mira, max_), (max_, mira)):
        mine = [s for s in steps if s.is_open and s.owner_id == manager.id]
        assert any(s.team_id == teams[manager.id] for s in mine), manager.email
        standing_in = [
            s
            for s in steps
            if s.is_open
            and s.owner_id == other.id
            and s.team is not None
            and s.team.deputy_id == manager.id
        ]
        assert standing_in and all(access.may_work_on(manager, s) for s in standing_in)
        assert any(s.is_overdue(now) for s in mine + standing_in)
    # A step handed over keeps its team: Mira holds Enforcement's police report.
    (handed,) = steps_of(story("online-abuse"), "police_report")
    assert handed.owner_id == mira.id and handed.team_id == max_.team_id

    # The audit trail dates every action at its moment in the past.
    story_ids = {s.id for s in steps}
    completions = db.session.scalars(
        select(AuditEvent.at).where(
            AuditEvent.action.in_([AuditAction.STEP_COMPLETE, AuditAction.STEP_ATTEMPT]),
            AuditEvent.object_id.in_(story_ids),
        )
    ).all()
    assert len(completions) == len(done) + sum(s.attempts - 1 for s in done) + 2
    assert min(completions) < now - timedelta(days=100) and max(completions) < now
    # The mails of those days were sent then: nothing old waits in the outbox.
    unsent = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.incident_id.in_([i.id for i in incidents]),
            Notification.sent_at.is_(None),
        )
    )
    assert unsent == 0


def register_of(incident: Incident) -> list[Measure]:
    return services.measures.measures_of_incident(incident)


def test_the_register_shows_on_the_demos_pages(seeded):
    """Eva reads that the ban protects her; Mira finds it on the response step; the security
    officer finds the proposal waiting for him."""
    pushed = story("physical-at-counter")
    (ban,) = register_of(pushed)
    eva = login(seeded.test_client(), user("employee@demo.test"))
    page = eva.get(f"/incidents/{pushed.id}").text
    start = page.index('class="card your-aftercare"')
    mine = page[start : page.index("</section>", start)]
    assert "Toegangsverbod" in mine and ban.ends_on.strftime("%d-%m-%Y") in mine
    assert "R. Brouwer" not in mine and ban.reason not in page  # the reason: never to her
    (step,) = steps_of(pushed, "perpetrator_response")
    mira = login(seeded.test_client(), user("manager@demo.test"))
    assert f'href="/measures/{ban.id}"' in mira.get(f"/aftercare/steps/{step.id}").text
    officer = login(seeded.test_client(), user("veiligheid@demo.test"))
    (waiting,) = register_of(story("pushed-after-all"))
    register = officer.get("/measures").text
    assert f'href="/measures/{waiting.id}"' in register


def snapshot() -> dict[str, int]:
    models = (
        User, Incident, AftercareStep, AlarmEvent, AuditEvent, Notification, StatTally, Measure
    )  # fmt: skip
    counts = {model.__name__: count(model) for model in models}
    with db.engine.connect() as connection:
        counts["tally total"] = sum(tally.stored(connection).values())
    return counts


def test_statistics_equal_a_recount_and_a_second_run_adds_nothing(seeded):
    runner = seeded.test_cli_runner()
    # The running counts the seed kept are what `flask stats rebuild` recounts.
    with db.engine.connect() as connection:
        kept = tally.stored(connection)
    assert sum(kept.values()) > 0
    rebuilt = runner.invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    with db.engine.connect() as connection:
        assert tally.stored(connection) == kept
    check = runner.invoke(args=["stats", "check"])
    assert check.exit_code == 0 and "equal to a full recount" in check.output
    # Nothing for the daily check to repair: no incident left open or closed by mistake.
    doctor = runner.invoke(args=["doctor"])
    assert doctor.exit_code == 0 and "nothing to repair" in doctor.output, doctor.output

    # Run again: nothing is added, not a mail, not an audit line, not a count.
    before = snapshot()
    again = runner.invoke(args=["seed-demo", "--with-incidents"])
    assert again.exit_code == 0, again.output
    assert "Demo incidents:" not in again.output and "Demo history:" not in again.output
    assert "employee@demo.test" in again.output
    db.session.expire_all()
    assert snapshot() == before

    # Eva threw her draft away: a later run writes that story again, and nothing else.
    now = utcnow()
    services.discard_draft(user("employee@demo.test"), story("draft"))
    assert seed_demo_incidents(now, history_start(now)) == 1
    assert story("draft").is_draft
    assert seed_demo_incidents(now, history_start(now)) == 0
    with db.engine.connect() as connection:
        assert not tally.drift(connection)


def test_refused_outside_demo_mode(app):
    app.config["DEMO"] = False
    try:
        refused = app.test_cli_runner().invoke(args=["seed-demo", "--with-incidents"])
    finally:
        app.config["DEMO"] = True
    assert refused.exit_code != 0
    assert "never in production" in refused.output
    assert count(User) == 0 and count(Incident) == 0


def test_refused_into_a_database_with_real_accounts(app, make_user):
    make_user(email="h.de.vries@gemeente.example")
    refused = app.test_cli_runner().invoke(args=["seed-demo", "--with-incidents"])
    assert refused.exit_code != 0
    assert "1 accounts outside the demo" in refused.output
    assert count(User) == 1 and count(Incident) == 0


def test_refused_by_the_production_configuration(app, monkeypatch):
    """The real ProductionConfig, pointed at the test database through the environment."""
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BASE_URL", "https://nazorg.example.org")
    production = create_app("production")
    assert production.config["DEMO"] is False
    # Its own app context: the command would otherwise run in the test app's.
    with production.app_context():
        try:
            refused = production.test_cli_runner().invoke(args=["seed-demo", "--with-incidents"])
        finally:
            db.engine.dispose()
    assert refused.exit_code != 0
    assert "never in production" in refused.output
    assert count(User) == 0 and count(Incident) == 0


def pages_of(account: User) -> list[str]:
    """The main pages of an account, with every incident and step it may open."""
    pages = ["/", "/incidents", "/account/data", "/account/sessions", "/account/password"]
    pages += ["/account/two-factor", "/help"]
    if access.may_keep_register(account):  # the register, and every measure it may open
        pages += ["/measures"] + [
            f"/measures/{m.id}"
            for m in db.session.scalars(select(Measure))
            if access.may_see_measure(account, m)
        ]
    for incident in story_incidents():  # the history's incidents are all alike
        view = access.incident_view(account, incident)
        if view is not None:
            pages.append(f"/incidents/{incident.id}")
        if access.can_edit(account, incident):
            pages.append(f"/incidents/{incident.id}/edit")
    if account.role.value == "manager":
        pages += ["/aftercare", "/aftercare?state=overdue", "/aftercare?state=done"]
        pages += [
            f"/aftercare/steps/{step.id}"
            for incident in story_incidents()
            for step in incident.steps
            if access.may_work_on(account, step)
        ]
    if account.role.value == "hr":
        pages += ["/hr/statistics", "/hr/conversations", "/hr/report"]
        pages += [f"/hr/statistics?by={by}" for by in ("team", "channel", "level")]
    if account.role.value == "admin":
        pages += [
            f"/admin/{name}"
            for name in (
                "users",
                "teams",
                "aftercare-owners",
                "alarms",
                "audit",
                "evidence",
                "import",
                "legal-holds",
                "locations",
                "mail",
                "privacy",
                "scim",
            )
        ]
    return pages


def test_every_main_page_answers_for_every_demo_account(seeded):
    failed: dict[str, dict[str, int]] = {}
    for email, _name, role, _team in DEMO_ACCOUNTS:
        account = user(email)
        client = login(seeded.test_client(), account)
        pages = pages_of(account)
        assert len(pages) > 6
        for page in pages:
            response = client.get(page)
            if response.status_code != 200:
                failed.setdefault(email, {})[page] = response.status_code
        if role.value == "employee" and email not in DEMO_PERMISSIONS:  # not an empty demo
            listed = client.get("/incidents").text
            theirs = [
                i
                for i in story_incidents()
                if any(p.user_id == account.id for p in i.people) and not i.is_draft
            ]
            assert len(theirs) >= 3
            assert all(f"/incidents/{i.id}" in listed for i in theirs), email
    assert not failed, failed
