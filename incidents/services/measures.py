"""The register of measures against perpetrators: proposing, hearing, approving, ending.

Rules (each refusal is a `ServiceError` naming its field; nothing is stored):
- A measure rests on at least one incident the proposer may propose for
  (`access.may_propose_measure`), names the citizen (a name, and the organisation's client
  reference if it has one: nothing more) and gives its reason in a sentence.
- It has a start date (today or later, or the day after the measure it extends) and an end
  date on or after it. Longer than its kind's `max_days` needs a second approval by yet
  another person; longer than `rules.MAX_MEASURE_DAYS` is refused.
- It takes effect only when a second person approves it: another manager who may see it, or a
  security officer (`access.may_approve_measure`); never the proposer, never twice the same
  person. A kind with `hearing` (a building ban) is approved only once the hearing is
  recorded: when and how the citizen was heard, or why that was not possible.
- Approved late, a measure starts on the day of its approval (never in the past); one whose
  end date passed before approval cannot be approved.
- A proposal is withdrawn (turned down or taken back); a measure in force is ended early;
  either with a reason. An extension is a new proposal from the day after the end date,
  approved again.

Every change takes the locks of the measure's incidents (`base.lock_all`) and checks the
revision its form was opened at, so two approvals at once give one approval and a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incidents import access, notify, rules
from incidents.extensions import current_protocol, db, org_zone
from incidents.i18n import format_day
from incidents.models import (
    CITIZEN_NAME_MAX,
    CITIZEN_REFERENCE_MAX,
    MEASURE_REASON_MAX,
    AftercareStep,
    AuditAction,
    HeardHow,
    Incident,
    IncidentPerson,
    Measure,
    MeasureState,
    NoticeHow,
    PersonRole,
    Team,
    User,
    measure_incident,
    utcnow,
)
from incidents.rules.loader import MAX_MEASURE_DAYS
from incidents.services import numbers, victim_view
from incidents.services.base import InvalidInput, ServiceError, audit, lock_all, transaction

NAME_MIN = 2
REASON_MIN = 10
CLOSE_REASON_MIN = 5
START_AHEAD_DAYS = 366  # a measure is proposed to start within a year
MAX_INCIDENTS = 20
OPEN_STATES = (MeasureState.PROPOSED, MeasureState.APPROVED, MeasureState.IN_FORCE)


def today(now: datetime | None = None) -> date:
    """Today in the organisation's time zone."""
    return (now or utcnow()).astimezone(org_zone()).date()


def reason_message(minimum: int) -> str:
    """What a reason must be: a sentence, `minimum` to `MEASURE_REASON_MAX` characters."""
    return ngettext(
        "Give the reason in a sentence (%(min)s to %(num)s character).",
        "Give the reason in a sentence (%(min)s to %(num)s characters).",
        MEASURE_REASON_MAX,
        min=minimum,
    )


def kinds() -> tuple[rules.MeasureKind, ...]:
    return current_protocol().measures


def kind_titles() -> dict[str, str]:
    """Each kind's title in the language of the request (Dutch without one)."""
    language = str(get_locale() or "nl")
    return {kind.id: kind.title(language) for kind in kinds()}


def kind_of(measure: Measure) -> rules.MeasureKind | None:
    """The measure's kind; None when the protocol no longer has it (its id is shown)."""
    return current_protocol().measure_kind(measure.kind)


def days_of(starts_on: date, ends_on: date) -> int:
    """How many days a measure lasts, both dates included."""
    return (ends_on - starts_on).days + 1


def needs_second_approval(measure: Measure) -> bool:
    """Longer than its kind's maximum: two people approve it, neither the proposer."""
    kind = kind_of(measure)
    return kind is None or days_of(measure.starts_on, measure.ends_on) > kind.max_days


def approvals_missing(measure: Measure) -> int:
    """How many approvals a proposal still needs (0 once approved)."""
    if measure.state != MeasureState.PROPOSED:
        return 0
    needed = 2 if needs_second_approval(measure) else 1
    given = (measure.approved_by_id is not None) + (measure.second_approved_by_id is not None)
    return max(0, needed - given)


def hearing_needed(measure: Measure) -> bool:
    kind = kind_of(measure)
    return kind is not None and kind.hearing and not measure.heard


@dataclass
class Proposal:
    """What a manager fills in to propose a measure (the form's data, checked here)."""

    kind: str
    citizen_name: str
    citizen_reference: str
    reason: str
    starts_on: date | None
    ends_on: date | None
    incident_numbers: list[str] = field(default_factory=list)
    contact_person_id: int | None = None
    step_id: int | None = None


def parse_numbers(text: str) -> list[str] | None:
    """Incident numbers typed as a list ("2026-0142, 2026-0150"); None when one is not a
    number."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    parsed = [numbers.parse(p) for p in parts]
    if any(n is None for n in parsed):
        return None
    return list(dict.fromkeys(n for n in parsed if n is not None))


def _resolve_incidents(actor: User, numbers_: Sequence[str]) -> list[Incident]:
    if not numbers_:
        raise ServiceError(_("Name at least one incident the measure rests on."), "incidents")
    if len(numbers_) > MAX_INCIDENTS:
        raise ServiceError(
            ngettext(
                "A measure rests on at most %(num)s incident.",
                "A measure rests on at most %(num)s incidents.",
                MAX_INCIDENTS,
            ),
            "incidents",
        )
    found = []
    for number in numbers_:
        incident = numbers.incident_numbered(number)
        # The same answer for an incident that does not exist and one that is not yours.
        if incident is None or not access.may_propose_measure(actor, incident):
            raise ServiceError(
                _("Incident %(number)s is not one of the incidents you follow.", number=number),
                "incidents",
            )
        found.append(incident)
    return found


def proposal_errors(
    proposal: Proposal, day: date, *, extends: Measure | None = None
) -> dict[str, str]:
    """The problems of a proposal, by form field (empty: none)."""
    errors: dict[str, str] = {}
    kind = current_protocol().measure_kind(proposal.kind)
    if kind is None:
        errors["kind"] = _("Choose a kind of measure.")
    name = proposal.citizen_name.strip()
    if not NAME_MIN <= len(name) <= CITIZEN_NAME_MAX:
        errors["citizen_name"] = ngettext(
            "Enter the citizen's name (%(min)s to %(num)s character).",
            "Enter the citizen's name (%(min)s to %(num)s characters).",
            CITIZEN_NAME_MAX,
            min=NAME_MIN,
        )
    if len(proposal.citizen_reference.strip()) > CITIZEN_REFERENCE_MAX:
        errors["citizen_reference"] = ngettext(
            "The client reference is at most %(num)s character.",
            "The client reference is at most %(num)s characters.",
            CITIZEN_REFERENCE_MAX,
        )
    if not REASON_MIN <= len(proposal.reason.strip()) <= MEASURE_REASON_MAX:
        errors["reason"] = reason_message(REASON_MIN)
    earliest = extends.ends_on + timedelta(days=1) if extends is not None else day
    starts, ends = proposal.starts_on, proposal.ends_on
    if starts is None:
        errors["starts_on"] = _("Enter the start date.")
    elif extends is not None and starts != earliest:
        errors["starts_on"] = _(
            "An extension starts the day after the measure ends: %(date)s.",
            date=format_day(earliest),
        )
    elif starts < day:
        errors["starts_on"] = _("A measure cannot start in the past.")
    elif starts > day + timedelta(days=START_AHEAD_DAYS) and extends is None:
        errors["starts_on"] = _("A measure starts within a year from today.")
    if ends is None:
        errors["ends_on"] = _("Enter the end date: every measure ends.")
    elif starts is not None and "starts_on" not in errors:
        if ends < starts:
            errors["ends_on"] = _("The end date is before the start date.")
        elif days_of(starts, ends) > MAX_MEASURE_DAYS:
            errors["ends_on"] = ngettext(
                "A measure lasts at most %(num)s day.",
                "A measure lasts at most %(num)s days.",
                MAX_MEASURE_DAYS,
            )
    if kind is not None and kind.contact_person:
        person = db.session.get(User, proposal.contact_person_id or 0)
        if person is None or not person.active:
            errors["contact_person"] = _("Choose the employee the citizen deals with.")
    return errors


def propose(
    actor: User,
    proposal: Proposal,
    *,
    extends: Measure | None = None,
    revision: int | None = None,
    now: datetime | None = None,
) -> Measure:
    """Record a proposed measure; it takes effect once approved. An extension (`extends`,
    whose form was opened at `revision`, if given) copies the citizen, kind and incidents of
    the measure it extends."""
    now = now or utcnow()
    day = today(now)
    with transaction():
        if extends is not None:
            extends = _lock_measure(extends.id, revision)
            if not access.may_manage_measure(actor, extends):
                raise ServiceError(_("You may not extend this measure."))
            if extends.state_on(day) not in (MeasureState.APPROVED, MeasureState.IN_FORCE):
                raise ServiceError(_("Only a measure that is approved or in force is extended."))
            if _extension_of(extends) is not None:
                raise ServiceError(_("This measure already has an extension."))
            proposal.kind = extends.kind
            proposal.citizen_name = extends.citizen_name
            proposal.citizen_reference = extends.citizen_reference
            proposal.contact_person_id = extends.contact_person_id
            incidents = list(extends.incidents)
        errors = proposal_errors(proposal, day, extends=extends)
        if errors:
            raise InvalidInput(errors)
        if extends is None:
            incidents = _resolve_incidents(actor, proposal.incident_numbers)
            lock_all([i.id for i in incidents])
            incidents = [i for i in incidents if access.may_propose_measure(actor, i)]
            if not incidents:
                raise ServiceError(_("Name at least one incident the measure rests on."))
        kind = current_protocol().measure_kind(proposal.kind)
        if kind is None:  # checked above
            raise InvalidInput({"kind": _("Choose a kind of measure.")})
        step = _response_step(proposal.step_id, incidents)
        measure = Measure(
            kind=kind.id,
            reason=proposal.reason.strip(),
            starts_on=proposal.starts_on,
            ends_on=proposal.ends_on,
            state=MeasureState.PROPOSED,
            contact_person_id=proposal.contact_person_id if kind.contact_person else None,
            step_id=step.id if step is not None else None,
            extends_id=extends.id if extends is not None else None,
            proposed_by_id=actor.id,
            proposed_at=now,
            incidents=incidents,
        )
        measure.set_citizen(proposal.citizen_name.strip(), proposal.citizen_reference.strip())
        if extends is not None and extends.heard:  # the hearing of the measure it extends
            measure.heard_on, measure.heard_how = extends.heard_on, extends.heard_how
            measure.not_heard_reason = extends.not_heard_reason
            measure.heard_recorded_by_id = extends.heard_recorded_by_id
        db.session.add(measure)
        db.session.flush()
        audit(
            actor,
            AuditAction.MEASURE_PROPOSE,
            measure,
            kind=kind.id,
            starts_on=measure.starts_on.isoformat(),
            ends_on=measure.ends_on.isoformat(),
            **({"previous": extends.id} if extends is not None else {}),
        )
        for approver in approvers(measure):
            notify.queue("measure_proposed", approver, str(measure.id), incident=incidents[0])
    return measure


def approvers(measure: Measure) -> list[User]:
    """Who may approve a proposal: the active security officers, and the managers and
    deputies of the teams of its incidents' affected employees (checked by
    `access.may_approve_measure`), by name."""
    candidates = {
        u.id: u for u in db.session.scalars(select(User).where(User.security_officer.is_(True)))
    }
    for incident in measure.incidents:
        for person in incident.people_in(PersonRole.AFFECTED):
            team = person.user.team
            for user in (team.manager, team.deputy) if team is not None else ():
                if user is not None:
                    candidates[user.id] = user
    found = [u for u in candidates.values() if access.may_approve_measure(u, measure)]
    return sorted(found, key=lambda u: (u.name, u.id))


def extend(
    actor: User,
    measure_id: int,
    revision: int,
    *,
    ends_on: date | None,
    reason: str,
    now: datetime | None = None,
) -> Measure:
    """Propose the extension of a measure: from the day after its end date to `ends_on`,
    approved again like any proposal."""
    measure = db.session.get(Measure, measure_id)
    if measure is None:
        raise ServiceError(_("This measure no longer exists."))
    proposal = Proposal(
        kind=measure.kind,
        citizen_name=measure.citizen_name,
        citizen_reference=measure.citizen_reference,
        reason=reason,
        starts_on=measure.ends_on + timedelta(days=1),
        ends_on=ends_on,
    )
    return propose(actor, proposal, extends=measure, revision=revision, now=now)


def _response_step(step_id: int | None, incidents: Sequence[Incident]) -> AftercareStep | None:
    """The "response to the perpetrator" step it was proposed from, if it is one of the
    measure's incidents' (anything else given is ignored)."""
    if step_id is None:
        return None
    step = db.session.get(AftercareStep, step_id)
    if step is None or step.kind != rules.StepKind.PERPETRATOR_RESPONSE:
        return None
    return step if step.incident_id in {i.id for i in incidents} else None


def _extension_of(measure: Measure) -> Measure | None:
    return db.session.scalar(
        select(Measure).where(
            Measure.extends_id == measure.id,
            Measure.state.in_(OPEN_STATES),
        )
    )


def extension_of(measure: Measure) -> Measure | None:
    """The open extension of a measure, if one was proposed."""
    return _extension_of(measure)


def _lock_measure(measure_id: int, revision: int | None = None) -> Measure:
    """Take the locks of the measure's incidents, then read it afresh; refuse a form opened
    at another revision."""
    ids = db.session.scalars(
        select(measure_incident.c.incident_id).where(measure_incident.c.measure_id == measure_id)
    ).all()
    lock_all(ids)
    measure = db.session.get(Measure, measure_id)
    if measure is None:
        raise ServiceError(_("This measure no longer exists."))
    if revision is not None and measure.revision != revision:
        raise ServiceError(
            _("Someone changed this measure meanwhile. Look at it again before you go on.")
        )
    return measure


def _changed(measure: Measure) -> None:
    measure.revision += 1


def approve(actor: User, measure_id: int, revision: int, now: datetime | None = None) -> Measure:
    """Approve a proposal: the first approval, or the second one a long measure needs. Fully
    approved, it is in force from its start date (today at the latest)."""
    now = now or utcnow()
    day = today(now)
    with transaction():
        measure = _lock_measure(measure_id, revision)
        if measure.state != MeasureState.PROPOSED:
            raise ServiceError(_("This measure is no longer waiting for approval."))
        if actor.id == measure.proposed_by_id:
            raise ServiceError(_("You proposed this measure: another person approves it."))
        if actor.id == measure.approved_by_id:
            raise ServiceError(_("You approved this measure already: a second person does it."))
        if not access.may_approve_measure(actor, measure):
            raise ServiceError(_("You may not approve this measure."))
        if hearing_needed(measure):
            raise ServiceError(
                _("Record the hearing of the citizen first, or why it was not possible.")
            )
        if measure.ends_on < day:
            raise ServiceError(_("Its end date has passed: withdraw it instead."))
        second = measure.approved_by_id is not None
        if second:
            measure.second_approved_by_id, measure.second_approved_at = actor.id, now
        else:
            measure.approved_by_id, measure.approved_at = actor.id, now
        if approvals_missing(measure) == 0:
            if measure.starts_on < day:
                measure.starts_on = day
            measure.state = (
                MeasureState.IN_FORCE if measure.starts_on <= day else MeasureState.APPROVED
            )
        _changed(measure)
        audit(actor, AuditAction.MEASURE_APPROVE, measure, second=second)
    return measure


def hearing_errors(
    heard_on: date | None, how: str, not_heard_reason: str, day: date
) -> dict[str, str]:
    errors: dict[str, str] = {}
    reason = not_heard_reason.strip()
    if heard_on is None and not reason:
        errors["heard_on"] = _("Enter when the citizen was heard, or why it was not possible.")
    elif heard_on is not None and reason:
        errors["not_heard_reason"] = _(
            "Either the citizen was heard, or it was not possible: not both."
        )
    if heard_on is not None:
        if heard_on > day:
            errors["heard_on"] = _("The hearing cannot be in the future.")
        if how not in {h.value for h in HeardHow}:
            errors["heard_how"] = _("Choose how the citizen was heard.")
    if reason and not REASON_MIN <= len(reason) <= MEASURE_REASON_MAX:
        errors["not_heard_reason"] = reason_message(REASON_MIN)
    return errors


def record_hearing(
    actor: User,
    measure_id: int,
    revision: int,
    *,
    heard_on: date | None,
    how: str,
    not_heard_reason: str,
    now: datetime | None = None,
) -> Measure:
    """Record when and how the citizen was heard, or why that was not possible; before the
    measure is approved (a hearing comes before the decision)."""
    now = now or utcnow()
    errors = hearing_errors(heard_on, how, not_heard_reason, today(now))
    if errors:
        raise InvalidInput(errors)
    with transaction():
        measure = _lock_measure(measure_id, revision)
        if not access.may_manage_measure(actor, measure):
            raise ServiceError(_("You may not change this measure."))
        if measure.state != MeasureState.PROPOSED or measure.approved_by_id is not None:
            raise ServiceError(_("The hearing is recorded before the measure is approved."))
        measure.heard_on = heard_on
        measure.heard_how = how if heard_on is not None else ""
        measure.not_heard_reason = not_heard_reason.strip() if heard_on is None else ""
        measure.heard_recorded_by_id = actor.id
        _changed(measure)
        audit(actor, AuditAction.MEASURE_HEARING, measure, heard=heard_on is not None)
    return measure


def notice_errors(sent_on: date | None, how: str, measure: Measure, day: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if sent_on is None:
        errors["sent_on"] = _("Enter the day the letter was sent.")
    elif sent_on > day:
        errors["sent_on"] = _("That day has not come yet.")
    elif sent_on < measure.proposed_at.astimezone(org_zone()).date():
        errors["sent_on"] = _("That day is before the measure was proposed.")
    if how not in {h.value for h in NoticeHow}:
        errors["sent_how"] = _("Choose how the letter was sent.")
    return errors


def record_notice_sent(
    actor: User,
    measure_id: int,
    revision: int,
    *,
    sent_on: date | None,
    how: str,
    now: datetime | None = None,
) -> Measure:
    """Record that the notice letter went to the citizen: when and how, by whom."""
    now = now or utcnow()
    with transaction():
        measure = _lock_measure(measure_id, revision)
        if not access.may_manage_measure(actor, measure):
            raise ServiceError(_("You may not change this measure."))
        if measure.state in (MeasureState.PROPOSED, MeasureState.WITHDRAWN):
            raise ServiceError(_("The notice letter goes out once the measure is approved."))
        errors = notice_errors(sent_on, how, measure, today(now))
        if errors:
            raise InvalidInput(errors)
        measure.notice_sent_on, measure.notice_sent_how = sent_on, how
        measure.notice_sent_by_id = actor.id
        _changed(measure)
        audit(actor, AuditAction.MEASURE_NOTICE_SENT, measure, how=how)
    return measure


def close(
    actor: User, measure_id: int, revision: int, reason: str, now: datetime | None = None
) -> Measure:
    """Withdraw a proposal (or an approved measure that has not started), or end a measure
    in force before its end date (its last day becomes yesterday, or today when it started
    today), with a reason."""
    now = now or utcnow()
    day = today(now)
    reason = reason.strip()
    if not CLOSE_REASON_MIN <= len(reason) <= MEASURE_REASON_MAX:
        raise ServiceError(
            reason_message(CLOSE_REASON_MIN),
            "reason",
        )
    with transaction():
        measure = _lock_measure(measure_id, revision)
        if not (access.may_manage_measure(actor, measure) or may_turn_down(actor, measure)):
            raise ServiceError(_("You may not change this measure."))
        state = measure.state_on(day)
        if state in (MeasureState.PROPOSED, MeasureState.APPROVED):  # never in force
            measure.state = MeasureState.WITHDRAWN
            action = AuditAction.MEASURE_WITHDRAW
        elif state == MeasureState.IN_FORCE:
            measure.state = MeasureState.ENDED
            if measure.ends_on >= day:
                measure.ends_on = max(measure.starts_on, day - timedelta(days=1))
            action = AuditAction.MEASURE_END
        else:
            raise ServiceError(_("This measure has ended already."))
        measure.closed_at, measure.closed_by_id, measure.close_reason = now, actor.id, reason
        _changed(measure)
        audit(actor, action, measure)
    return measure


def may_turn_down(actor: User, measure: Measure) -> bool:
    """Whoever may approve a proposal may also turn it down."""
    return measure.state == MeasureState.PROPOSED and access.may_approve_measure(actor, measure)


@dataclass(frozen=True)
class OnIncident:
    """The register's measures on one incident, as its page and its response step list them
    (templates/measures/_of_incident.html)."""

    measures: list[Measure]
    today: date
    titles: dict[str, str]  # kind id -> title in the reader's language
    openable: frozenset[int]  # the ids of the measures the reader may open
    propose_url: str | None  # where to propose one from here, for those who may


def on_incident(user: User, register: list[Measure], propose_url: str | None) -> OnIncident:
    return OnIncident(
        measures=register,
        today=today(),
        titles=kind_titles(),
        openable=frozenset(m.id for m in register if access.may_see_measure(user, m)),
        propose_url=propose_url,
    )


def protecting(
    register: list[Measure], day: date
) -> tuple[list[victim_view.Protection], frozenset[int]]:
    """What the affected employee is told of the register: the measures in force on `day`,
    and the response steps whose building ban the register holds (carried over or proposed
    from the step), so the step's outcome no longer tells it."""
    titles = kind_titles()
    protections = [
        victim_view.Protection(
            kind=titles.get(m.kind, ""),
            ends_on=m.ends_on,
            since=m.approved_at or m.proposed_at,
        )
        for m in register
        if m.in_force_on(day)
    ]
    registered = frozenset(
        m.step_id
        for m in register
        if m.step_id is not None and m.kind == rules.Outcome.BUILDING_BAN.value
    )
    return protections, registered


def measures_of_incident(incident: Incident) -> list[Measure]:
    """The measures resting on an incident, the latest first."""
    return list(
        db.session.scalars(
            select(Measure)
            .join(measure_incident, measure_incident.c.measure_id == Measure.id)
            .where(measure_incident.c.incident_id == incident.id)
            .order_by(Measure.proposed_at.desc(), Measure.id.desc())
        )
    )


# --- the register's lists ------------------------------------------------------------------------

REGISTER_PAGE = 50


@dataclass
class Register:
    """The register as one person may see it, in sections."""

    waiting: list[Measure]  # proposals this person may approve
    proposed: list[Measure]  # other proposals they follow (theirs, waiting for someone else)
    current: list[Measure]  # approved or in force
    ended: list[Measure]  # ended or withdrawn, the latest first
    more: bool  # a section was cut at REGISTER_PAGE


def _followed(user: User) -> Any:
    """Ids of the measures a manager may be able to see (the SQL side of
    `access.may_see_measure`, which every row is then checked with)."""
    my_teams = select(Team.id).where((Team.manager_id == user.id) | (Team.deputy_id == user.id))
    affected = (
        select(IncidentPerson.incident_id)
        .join(User, User.id == IncidentPerson.user_id)
        .where(IncidentPerson.role == PersonRole.AFFECTED, User.team_id.in_(my_teams))
    )
    responding = select(AftercareStep.incident_id).where(
        AftercareStep.kind == rules.StepKind.PERPETRATOR_RESPONSE,
        (AftercareStep.owner_id == user.id) | AftercareStep.team_id.in_(my_teams),
    )
    return select(measure_incident.c.measure_id).where(
        measure_incident.c.incident_id.in_(affected.union(responding))
    )


def register(user: User, now: datetime | None = None) -> Register:
    """The measures `user` may see, by state; each section at most `REGISTER_PAGE` long."""
    day = today(now)
    # What the page and `access.may_see_measure` read of each row, loaded for all rows at once.
    query = (
        select(Measure)
        .where(Measure.anonymised_at.is_(None))
        .options(
            selectinload(Measure.incidents).options(
                selectinload(Incident.people).joinedload(IncidentPerson.user).joinedload(User.team),
                selectinload(Incident.steps).joinedload(AftercareStep.team),
            )
        )
    )
    if not user.security_officer:
        query = query.where((Measure.proposed_by_id == user.id) | Measure.id.in_(_followed(user)))

    def section(*where: Any, latest_first: bool = False) -> list[Measure]:
        order = Measure.ends_on.desc() if latest_first else Measure.ends_on
        rows = db.session.scalars(
            query.where(*where).order_by(order, Measure.id).limit(REGISTER_PAGE + 1)
        ).all()
        return [m for m in rows if access.may_see_measure(user, m)]

    proposals = section(Measure.state == MeasureState.PROPOSED)
    current = section(
        Measure.state.in_((MeasureState.APPROVED, MeasureState.IN_FORCE)), Measure.ends_on >= day
    )
    ended = section(
        Measure.state.in_((MeasureState.ENDED, MeasureState.WITHDRAWN))
        | (
            Measure.state.in_((MeasureState.APPROVED, MeasureState.IN_FORCE))
            & (Measure.ends_on < day)
        ),
        latest_first=True,
    )
    more = any(len(s) > REGISTER_PAGE for s in (proposals, current, ended))
    waiting = [m for m in proposals if access.may_approve_measure(user, m)]
    return Register(
        waiting=waiting[:REGISTER_PAGE],
        proposed=[m for m in proposals if m not in waiting][:REGISTER_PAGE],
        current=current[:REGISTER_PAGE],
        ended=ended[:REGISTER_PAGE],
        more=more,
    )
