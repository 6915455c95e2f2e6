"""The demo's last four months: incidents and their aftercare in every state, so every page
has something to show (`flask seed-demo --with-incidents`, demo mode only).

Everything is written through the services, as the app would have written it at the time: a
demo clock moves `utcnow()` to each moment of the story, so levels, steps, deadlines, the
statistics' running counts, mails and the audit trail are exactly what the app makes, only
dated in the past. The one direct write: the mails of those days are marked sent then.

Deterministic (scripted stories, fillers from a fixed seed) and idempotent: each story is
known by its submission token (or alarm event id) and never written twice.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from incidents import rules
from incidents.extensions import db, org_zone
from incidents.models import (
    AftercareStep,
    AlarmEvent,
    Channel,
    CorrectiveAction,
    Incident,
    IncidentType,
    Measure,
    Notification,
    Role,
    Team,
    User,
)
from incidents.models import base as model_base
from incidents.services import accounts, actions, aftercare, alarms, measures, reporting
from incidents.services.base import ServiceError
from incidents.services.demo_stories import FILLERS, STORIES, filler

STORY_PREFIX = "demo-story-"
Outcome = rules.Outcome

# Colleagues with a name, besides the numbered ones of the history: the people of the stories.
DEMO_NAMED_COLLEAGUES: list[tuple[str, str, str]] = [
    ("sanne.devries@demo.test", "Sanne de Vries", "Enforcement"),
    ("ahmed.elamrani@demo.test", "Ahmed El Amrani", "Enforcement"),
    ("joost.bakker@demo.test", "Joost Bakker", "Front office"),
    ("fatma.yilmaz@demo.test", "Fatma Yilmaz", "Front office"),
    ("linda.jansen@demo.test", "Linda Jansen", "Income"),
    ("kees.visser@demo.test", "Kees Visser", "Income"),
]


class _DemoClock:
    """The moment `utcnow()` gives while a story is written."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment


@contextmanager
def _demo_clock(start: datetime) -> Iterator[_DemoClock]:
    """Let `incidents.models.utcnow()`, the one clock of every service and column default,
    give `clock.moment` inside the block (it reads `datetime` from its module at each call).
    Only the seed command uses it, in its own process, before anything else runs."""
    clock = _DemoClock(start)

    class _ClockDateTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock.moment.astimezone(tz) if tz is not None else clock.moment

    saved = model_base.datetime
    model_base.datetime = _ClockDateTime  # type: ignore[misc]
    try:
        yield clock
    finally:
        model_base.datetime = saved  # type: ignore[misc]


@dataclass
class _Cast:
    """The people of the stories."""

    eva: User  # employee@, Income
    wim: User  # witness@, Enforcement
    mira: User  # manager@: Income and Front office; deputy for Enforcement
    max: User  # manager2@: Enforcement; deputy for Income
    officer: User  # veiligheid@: the security officer, who approves measures
    named: dict[str, User]
    numbered: list[User]  # the history's colleagues


class StoryWriter:
    """Writes one story at the moments it gives, through the services."""

    def __init__(self, clock: _DemoClock, now: datetime, cast: _Cast) -> None:
        self.clock = clock
        self.now = now
        self.cast = cast
        self.zone = org_zone()

    # --- moments --------------------------------------------------------------------------

    def day(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        """A weekday `days_ago` days before today (a weekend moves to the Friday before), at
        this local time, in UTC."""
        local_today = self.now.astimezone(self.zone).date()
        day = local_today - timedelta(days=days_ago)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return datetime.combine(day, time(hour, minute), self.zone).astimezone(UTC)

    def office(self, moment: datetime, days: int = 0, hours: float = 0) -> datetime:
        """`days` and `hours` after `moment`, moved to office hours on a working day (a
        manager's action), never later than a few minutes ago."""
        local = (moment + timedelta(days=days, hours=hours)).astimezone(self.zone)
        if local.hour >= 17:
            local = datetime.combine(local.date() + timedelta(days=1), time(9, 10), self.zone)
        elif local.hour < 8:
            local = datetime.combine(local.date(), time(9, 10), self.zone)
        while local.weekday() >= 5:
            local = datetime.combine(local.date() + timedelta(days=1), time(9, 10), self.zone)
        return min(local.astimezone(UTC), self.now - timedelta(minutes=10))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def at(self, moment: datetime) -> None:
        if moment > self.now:
            raise RuntimeError(f"a demo story cannot happen in the future: {moment}")
        self.clock.moment = moment

    # --- actions --------------------------------------------------------------------------

    def report(
        self,
        token: str,
        reporter: User,
        reported: datetime,
        *,
        occurred: datetime,
        channel: Channel,
        types: list[IncidentType],
        description: str,
        affected: list[User],
        witnesses: tuple[User, ...] = (),
        submit: bool = True,
        **facts: Any,
    ) -> Incident:
        self.at(reported)
        data = reporting.ReportData(
            occurred_at=occurred,
            channel=channel,
            types=types,
            description=description,
            affected_ids=[u.id for u in affected],
            witness_ids=[u.id for u in witnesses],
            **facts,
        )
        return reporting.save_report(reporter, token, data, submit=submit)

    def quick(
        self,
        token: str,
        reporter: User,
        occurred: datetime,
        kind: IncidentType,
        channel: Channel,
        note: str,
        location: str = "",
    ) -> Incident:
        self.at(min(occurred + timedelta(minutes=4), self.now))
        return reporting.quick_log(
            reporter, token, kind, channel, note, location=location, occurred_at=occurred
        )

    def step(
        self, incident: Incident, definition: str, person: User | None = None
    ) -> AftercareStep:
        """The incident's (latest) step of this definition, for `person` if given."""
        found = [
            s
            for s in incident.steps
            if s.definition_id == definition and (person is None or s.subject_user_id == person.id)
        ]
        if not found:
            raise RuntimeError(f"demo story: no step {definition} on incident {incident.id}")
        return max(found, key=lambda s: s.id)

    def record(
        self,
        actor: User,
        incident: Incident,
        definition: str,
        moment: datetime,
        outcomes: list[str],
        person: User | None = None,
        **fields: Any,
    ) -> AftercareStep:
        """Complete (or, for not_reached, try) a step at `moment`."""
        db.session.expire_all()  # the step as it is now (a repeat offer, attempts)
        step = self.step(incident, definition, person)
        self.at(moment)
        fields.setdefault(
            "held_on",
            self.local_date(moment)
            if set(outcomes) == {Outcome.HELD}
            and step.kind in aftercare.CONVERSATIONS | {rules.StepKind.TEAM_EVALUATION}
            else None,
        )
        result = aftercare.StepResult(outcomes=list(outcomes), **fields)
        aftercare.complete_step(actor, step, result, step.attempts)
        return step

    def held(
        self,
        actor: User,
        incident: Incident,
        definition: str,
        moment: datetime,
        person: User | None = None,
        note: str = "",
    ) -> None:
        self.record(actor, incident, definition, moment, [Outcome.HELD], person, note=note)

    def police_outcome(self, actor: User, step: AftercareStep, moment: datetime, text: str) -> None:
        self.at(moment)
        db.session.refresh(step)
        aftercare.record_police_outcome(actor, step, text)

    def hand(self, actor: User, step: AftercareStep, to: User, moment: datetime) -> None:
        self.at(moment)
        db.session.refresh(step)
        aftercare.hand_step(actor, step, to)

    # --- the register of measures -------------------------------------------------------

    def propose(
        self,
        actor: User,
        incident: Incident,
        moment: datetime,
        kind: str,
        *,
        citizen_name: str,
        citizen_reference: str,
        reason: str,
        ends_on: date | None = None,
        days: int = 180,
        from_step: bool = False,
    ) -> Measure:
        """Propose a measure at `moment`, starting that day (from the incident's response to
        the perpetrator with `from_step`)."""
        db.session.expire_all()
        step = self.step(incident, "perpetrator_response") if from_step else None
        self.at(moment)
        start = self.local_date(moment)
        return measures.propose(
            actor,
            measures.Proposal(
                kind=kind,
                citizen_name=citizen_name,
                citizen_reference=citizen_reference,
                reason=reason,
                starts_on=start,
                ends_on=ends_on or start + timedelta(days=days - 1),
                incident_numbers=[incident.number or ""],
                step_id=step.id if step is not None else None,
            ),
        )

    def hearing(self, actor: User, measure: Measure, moment: datetime, how: str) -> Measure:
        self.at(moment)
        db.session.refresh(measure)
        return measures.record_hearing(
            actor,
            measure.id,
            measure.revision,
            heard_on=self.local_date(moment),
            how=how,
            not_heard_reason="",
        )

    def approve(self, actor: User, measure: Measure, moment: datetime) -> Measure:
        self.at(moment)
        db.session.refresh(measure)
        return measures.approve(actor, measure.id, measure.revision)

    def notice_sent(self, actor: User, measure: Measure, moment: datetime, how: str) -> Measure:
        self.at(moment)
        db.session.refresh(measure)
        return measures.record_notice_sent(
            actor, measure.id, measure.revision, sent_on=self.local_date(moment), how=how
        )

    # --- corrective actions from a team evaluation -------------------------------------------

    def action(
        self,
        actor: User,
        incident: Incident,
        moment: datetime,
        what: str,
        owner: User,
        due_on: date,
        risk_item: str = "",
    ) -> CorrectiveAction:
        self.at(moment)
        step = self.step(incident, "team_evaluation")
        return actions.create(
            actor, step.id, actions.ActionInput(what, owner.id, due_on, risk_item)
        )

    def close_action(
        self,
        actor: User,
        action: CorrectiveAction,
        moment: datetime,
        note: str,
        *,
        review_months: int | None = None,
    ) -> CorrectiveAction:
        """Record what was done. `review_months`: the review asked sooner than the
        organisation's setting, so the demo's four months show a review too."""
        self.at(moment)
        db.session.refresh(action)
        config = current_app.config
        saved = config["ACTION_REVIEW_MONTHS"]
        config["ACTION_REVIEW_MONTHS"] = review_months or saved
        try:
            return actions.close(
                actor, action.id, action.revision, done_on=self.local_date(moment), note=note
            )
        finally:
            config["ACTION_REVIEW_MONTHS"] = saved

    def review_action(
        self, actor: User, action: CorrectiveAction, moment: datetime, result: str, note: str = ""
    ) -> CorrectiveAction:
        self.at(moment)
        db.session.refresh(action)
        return actions.review(actor, action.id, action.revision, result=result, note=note)

    def alarm(self, event_id: str, person: User, triggered: datetime, location: str) -> Incident:
        self.at(triggered + timedelta(seconds=20))
        event, _new = alarms.receive_alarm(
            alarms.Alarm(event_id, person.email, triggered, location, "Alarmknop 3")
        )
        incident = db.session.get(Incident, event.incident_id)
        if incident is None:
            raise RuntimeError("demo story: the alarm made no draft")
        return incident


def _colleagues(start: datetime, clock: _DemoClock) -> dict[str, User]:
    """The named colleagues, made as if they joined with everyone else (`start`)."""
    teams = {t.name_en: t for t in db.session.scalars(select(Team))}
    named: dict[str, User] = {}
    clock.moment = start
    for email, name, team_name in DEMO_NAMED_COLLEAGUES:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.create_user(
                None,
                email=email,
                name=name,
                password=secrets.token_urlsafe(24),
                role=Role.EMPLOYEE,
                team=teams.get(team_name),
            )
        named[email] = user
    return named


def seed_demo_incidents(now: datetime, history_start: datetime) -> int:
    """The last four months' incidents and aftercare in every state (demo mode only, each
    story once); returns how many incidents were added. `history_start`: when the demo
    organisation's people joined."""
    if not current_app.config["DEMO"]:
        raise ServiceError("demo data is only loaded in demo mode, never in production")
    by_email = {
        u.email: u
        for u in db.session.scalars(
            select(User).where(
                User.email.in_(
                    [
                        "employee@demo.test",
                        "witness@demo.test",
                        "manager@demo.test",
                        "manager2@demo.test",
                        "veiligheid@demo.test",
                    ]
                )
            )
        )
    }
    if len(by_email) < 5:
        raise ServiceError("load the demo organisation first (flask seed-demo)")
    last_mail = db.session.scalar(select(func.max(Notification.id))) or 0
    made = 0
    with _demo_clock(now) as clock:
        named = _colleagues(history_start, clock)
        numbered = list(
            db.session.scalars(
                select(User).where(User.email.like("colleague-%@demo.test")).order_by(User.id)
            )
        )
        cast = _Cast(
            eva=by_email["employee@demo.test"],
            wim=by_email["witness@demo.test"],
            mira=by_email["manager@demo.test"],
            max=by_email["manager2@demo.test"],
            officer=by_email["veiligheid@demo.test"],
            named=named,
            numbered=numbered,
        )
        story = StoryWriter(clock, now, cast)
        for name, write in STORIES:
            token = STORY_PREFIX + name
            if _written(token):
                continue
            write(story, token)
            made += 1
        people = [*named.values(), *numbered[::3], cast.eva, cast.wim]  # every team
        for n in range(1, FILLERS + 1):
            token = f"{STORY_PREFIX}filler-{n:02d}"
            if not _written(token):
                # Each its own seed: the same filler whichever were written before.
                filler(story, token, random.Random(1900 + n), people)  # noqa: S311 - demo
                made += 1
    # The mails of those days went out then (the reminders `flask remind` adds are today's).
    db.session.execute(
        update(Notification)
        .where(Notification.id > last_mail, Notification.sent_at.is_(None))
        .values(sent_at=Notification.created_at)
    )
    db.session.commit()
    return made


def _written(token: str) -> bool:
    """A story or filler is written: its incident, or its alarm (also a discarded draft's)."""
    incident = db.session.scalar(select(Incident.id).where(Incident.submission_token == token))
    alarm = db.session.scalar(select(AlarmEvent.id).where(AlarmEvent.provider_event_id == token))
    return incident is not None or alarm is not None
