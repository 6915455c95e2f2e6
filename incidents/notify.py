"""E-mail: what is queued when, and how a mail reads (sending it: `incidents.outbox`).

Mails are queued in the `notification` table (the outbox) in the same transaction as the change
they are about, each with a unique key, and sent by `flask remind` (run it every few minutes). A
mail names only what to do, the incident's date and level, and a link: never a description, a
person's name from the incident, a perpetrator or a note."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from incidents.extensions import db
from incidents.i18n import lazy_gettext as _l
from incidents.models import (
    AftercareStep,
    Incident,
    IncidentStatus,
    Notification,
    Role,
    StepStatus,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

# kind -> (subject, what to do, the button). Only these words and the ids' date and level.
TEXTS = {
    "submitted": (
        _l("New incident in your team: aftercare to start"),
        _l(
            "An incident was reported for someone in a team you manage. Start the aftercare: the first step is due today."
        ),
        _l("Open the incident"),
    ),
    "behalf": (
        _l("An incident was reported for you"),
        _l(
            "A colleague reported an incident on your behalf. Please look at the report and add what is missing."
        ),
        _l("Open the report"),
    ),
    "assigned": (
        _l("An aftercare step was given to you"),
        _l("An aftercare step is now yours. Open it to see what to do and when."),
        _l("Open the step"),
    ),
    "due": (
        _l("Aftercare step due within a day"),
        _l("An aftercare step you own is due within a day."),
        _l("Open the step"),
    ),
    "overdue": (
        _l("Aftercare step overdue"),
        _l("An aftercare step you own is overdue. Please do it, or hand it to your deputy."),
        _l("Open the step"),
    ),
    "escalated": (
        _l("Escalation: an aftercare step is overdue in your area"),
        _l(
            "An aftercare step of a manager who reports to you has been overdue for several days. Please make sure it is done."
        ),
        _l("Open the step"),
    ),
    "draft": (
        _l("Your incident report is not finished"),
        _l(
            "You started an incident report more than a day ago and have not submitted it. Finish it, or discard it."
        ),
        _l("Open the draft"),
    ),
    "alarm": (
        _l("Your alarm: complete your report"),
        _l(
            "Your alarm button was used. A draft report with the time and place is ready for you: complete it, so that you get the aftercare you are entitled to."
        ),
        _l("Complete the report"),
    ),
    "alarm_pending": (
        _l("An alarm report is not completed yet"),
        _l(
            "Someone in a team you manage used an alarm button more than a day ago and has not completed the report yet. Please ask them to complete it."
        ),
        _l("Open the step"),
    ),
    # Accounts: separation of duties. Nobody's password is set by an admin, and every change
    # of role, team, manager or deputy is told to the person and to the team's manager.
    "welcome": (
        _l("Your account for reporting aggression incidents"),
        _l(
            "An account was made for you. Set your password with the link below: it works once, and only for a limited time."
        ),
        _l("Set your password"),
    ),
    "password_reset": (
        _l("Set a new password"),
        _l(
            "Your administrator sent you a link to set a new password. It works once, and only for a limited time. Did you not expect this? Tell your administrator."
        ),
        _l("Set a new password"),
    ),
    "password_changed": (
        _l("Your password was changed"),
        _l(
            "The password of your account was changed and every session was ended. Was this not you? Tell your administrator at once."
        ),
        _l("Log in"),
    ),
    "account_changed": (
        _l("Your account was changed"),
        _l(
            "An administrator changed your role, your team, or a team you manage or deputise for. Your data page shows what changed."
        ),
        _l("See what changed"),
    ),
    "aftercare_moved": (
        _l("Your aftercare is with another manager now"),
        _l(
            "Your team changed, so the manager of your new team now takes care of your open aftercare steps. Your data page shows who."
        ),
        _l("Open the app"),
    ),
    # A measure against a perpetrator was proposed: to those who may approve it.
    "measure_proposed": (
        _l("A measure against a perpetrator waits for your approval"),
        _l(
            "A manager proposed a measure against a perpetrator. It takes effect only once a second person approves it: look at it, then approve it or turn it down."
        ),
        _l("Open the measure"),
    ),
    # A measure against a perpetrator ends within two weeks (services.measure_expiry).
    "measure_ending": (
        _l("A measure against a perpetrator ends soon"),
        _l(
            "A measure against a perpetrator that you proposed or follow ends within two weeks. Decide whether it is still needed: extend it (a new proposal, approved again), or let it end on its end date. Then it leaves the lookup at the counter by itself."
        ),
        _l("Open the measure"),
    ),
    # Corrective actions (services.actions): only that there is one, when, and a link; never
    # what it says, nor the incident it came from.
    "action_assigned": (
        _l("A corrective action is yours"),
        _l(
            "A corrective action agreed after an incident is now yours. Open it to see what to do and by when."
        ),
        _l("Open the action"),
    ),
    "action_due": (
        _l("Corrective action due within a day"),
        _l("A corrective action you own is due within a day."),
        _l("Open the action"),
    ),
    "action_overdue": (
        _l("Corrective action overdue"),
        _l(
            "A corrective action you own is past its deadline. Please do it and record what was done, or ask for another deadline."
        ),
        _l("Open the action"),
    ),
    "action_escalated": (
        _l("Escalation: a corrective action is overdue in your area"),
        _l(
            "A corrective action owned by someone who reports to you has been past its deadline for several days. Please make sure it is done."
        ),
        _l("Open the action"),
    ),
    "action_review": (
        _l("Did the corrective action work?"),
        _l(
            "A corrective action was completed some time ago. Now is the time to look whether it worked, and to record it."
        ),
        _l("Open the action"),
    ),
    "team_changed": (
        _l("A change in a team you manage"),
        _l("An administrator changed who belongs to a team you manage, or its manager or deputy."),
        _l("Open the app"),
    ),
}


# Mails to the employee an incident is about (or who reported it): they link to the page
# "What happens now" as well. Managers' mails do not.
# Mails about a measure: the measure's id is the middle of their key.
MEASURE_KINDS = frozenset({"measure_proposed", "measure_ending"})
# Mails about a corrective action: the action's id begins the middle of their key.
ACTION_KINDS = frozenset(
    {"action_assigned", "action_due", "action_overdue", "action_escalated", "action_review"}
)
EMPLOYEE_KINDS = frozenset({"behalf", "draft", "alarm", "aftercare_moved"})


def queue(
    kind: str,
    recipient: User | None,
    key: str,
    *,
    incident: Incident | None = None,
    step: AftercareStep | None = None,
    known: set[str] | None = None,
) -> None:
    """Add a mail to the current transaction, unless one with this key exists already.

    `known`: the keys already queued, loaded in one query by a caller that queues many mails;
    without it, this call looks the key up itself."""
    if recipient is None or not recipient.active:
        return
    full_key = f"{kind}:{key}:{recipient.id}"
    if known is None:
        known = set(
            db.session.scalars(select(Notification.key).where(Notification.key == full_key))
        )
        known.update(n.key for n in db.session.new if isinstance(n, Notification))
    if full_key not in known:
        known.add(full_key)
        db.session.add(
            Notification(
                key=full_key,
                kind=kind,
                recipient_id=recipient.id,
                incident_id=incident.id
                if incident is not None
                else (step.incident_id if step else None),
                step_id=step.id if step is not None else None,
            )
        )


def own_manager(user: User) -> User | None:
    """The manager a manager reports to: their team's manager, else the one above."""
    team = user.team
    if team is None:
        return None
    if team.manager is not None and team.manager.id != user.id and team.manager.active:
        return team.manager
    return team.manager_above()


def queue_due(now: datetime) -> int:
    """Queue the time-driven mails: due within a day, overdue, escalations, stale drafts."""
    config = current_app.config
    before = len(db.session.new)
    open_steps = db.session.scalars(
        select(AftercareStep)
        .where(
            AftercareStep.status == StepStatus.OPEN,
            AftercareStep.owner_id.is_not(None),
            AftercareStep.due_at < now + timedelta(days=1),
        )
        .options(selectinload(AftercareStep.owner))
    ).all()
    drafts = db.session.scalars(
        select(Incident)
        .where(
            Incident.status == IncidentStatus.DRAFT,
            Incident.updated_at < now - timedelta(hours=config["DRAFT_REMINDER_HOURS"]),
        )
        .options(selectinload(Incident.reporter))
    ).all()
    # An alarm's draft still not completed a day after the employee's reminder: its contact
    # step (the only steps a draft has) tells the manager.
    alarm_steps = db.session.scalars(
        select(AftercareStep)
        .join(Incident, Incident.id == AftercareStep.incident_id)
        .where(
            Incident.status == IncidentStatus.DRAFT,
            Incident.created_at < now - timedelta(hours=2 * config["DRAFT_REMINDER_HOURS"]),
            AftercareStep.owner_id.is_not(None),
        )
        .options(selectinload(AftercareStep.owner))
    ).all()
    # What was queued before for these steps and drafts: one query, whatever the backlog.
    known = set(
        db.session.scalars(
            select(Notification.key).where(
                Notification.step_id.in_([s.id for s in (*open_steps, *alarm_steps)])
                | Notification.incident_id.in_([d.id for d in drafts])
            )
        )
    )
    escalate_before = now - timedelta(days=config["ESCALATE_AFTER_DAYS"])
    for step in open_steps:
        if step.due_at >= now:
            # A step given out within its last day was announced already: no extra reminder.
            if step.created_at <= step.due_at - timedelta(days=1):
                queue("due", step.owner, str(step.id), step=step, known=known)
            continue
        queue("overdue", step.owner, str(step.id), step=step, known=known)
        if step.due_at < escalate_before and step.escalated_at is None and step.owner is not None:
            boss = own_manager(step.owner)
            if boss is not None:
                queue("escalated", boss, str(step.id), step=step, known=known)
                step.escalated_at = now
    for draft in drafts:
        queue("draft", draft.reporter, str(draft.id), incident=draft, known=known)
    for step in alarm_steps:
        queue("alarm_pending", step.owner, str(step.incident_id), step=step, known=known)
    queued = len(db.session.new) - before
    return queued + _queue_action_reminders(now, config["ESCALATE_AFTER_DAYS"])


def _queue_action_reminders(now: datetime, escalate_after_days: int) -> int:
    """Corrective actions, in the same way as steps: due within a day (unless it was agreed
    within its last day), overdue, escalated once to the owner's own manager after
    `escalate_after_days` days past the deadline; and, when the review date of a completed
    action comes, "did it work?" to the owner and the team's manager. Returns how many
    mails it queued."""
    from incidents.services import actions as corrective

    # The step mails queued above stay unflushed: these reads do not write them one by one.
    with db.session.no_autoflush:
        due, to_review = corrective.due_for_reminders(now)
    day = corrective.today(now)
    mails: list[tuple[str, User | None, str]] = []  # (kind, recipient, key)
    for action in due:
        # Keyed by the deadline too: a new deadline gets reminders of its own.
        owner, key = action.owner, f"{action.id}.{action.due_on.isoformat()}"
        if day <= action.due_on:
            if corrective.today(action.created_at) < action.due_on - timedelta(days=1):
                mails.append(("action_due", owner, key))
            continue
        mails.append(("action_overdue", owner, key))
        if action.escalated_at is None and (day - action.due_on).days > escalate_after_days:
            boss = own_manager(owner)
            if boss is not None:
                mails.append(("action_escalated", boss, key))
                action.escalated_at = now
    for action in to_review:
        manager = action.team.manager if action.team is not None else None
        for person in (action.owner, manager):
            mails.append(("action_review", person, str(action.id)))
    # What was queued before: one query, whatever the backlog.
    wanted = [f"{kind}:{key}:{person.id}" for kind, person, key in mails if person is not None]
    with db.session.no_autoflush:
        known = set(
            db.session.scalars(select(Notification.key).where(Notification.key.in_(wanted)))
        )
    before = len(db.session.new)
    for kind, person, key in mails:
        queue(kind, person, key, known=known)
    return len(db.session.new) - before


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


def _link(note: Notification) -> str:
    if note.kind in ("welcome", "password_reset"):
        return _reset_link(note)
    if note.kind == "password_changed":
        return url_for("auth.login", _external=True)
    if note.kind == "account_changed":
        return url_for("auth.my_data", _external=True)
    if note.kind in ACTION_KINDS:
        return url_for("actions.detail", action_id=_action_id(note) or 0, _external=True)
    if note.kind in MEASURE_KINDS:
        return url_for("measures.detail", measure_id=_measure_id(note) or 0, _external=True)
    if note.kind in ("submitted", "behalf", "draft", "alarm") and note.incident_id is not None:
        # A new incident: its page, where its level, its steps and their owners are.
        endpoint = "reporting.detail" if note.kind in ("submitted", "behalf") else "reporting.edit"
        return url_for(endpoint, incident_id=note.incident_id, _external=True)
    if note.step_id is not None:
        if note.recipient.role == Role.MANAGER and note.kind != "escalated":
            return url_for("aftercare.step", step_id=note.step_id, _external=True)
        return url_for(
            "reporting.detail",
            incident_id=note.step.incident_id if note.step else 0,
            _external=True,
        )
    return url_for("main.index", _external=True)


def _measure_id(note: Notification) -> int | None:
    """The measure a measure's mail is about: the middle of its key."""
    middle = note.key.split(":")[1] if note.key.count(":") >= 2 else ""
    return int(middle) if middle.isdigit() else None


def _action_id(note: Notification) -> int | None:
    """The action an action's mail is about: the start of the middle of its key
    ("<id>" or "<id>.<revision>")."""
    middle = note.key.split(":")[1] if note.key.count(":") >= 2 else ""
    first = middle.split(".")[0]
    return int(first) if first.isdigit() else None


def _action_due(note: Notification) -> date | None:
    """The deadline of the action a reminder is about (a date says nothing about anyone)."""
    from incidents.models import CorrectiveAction

    if note.kind not in ("action_assigned", "action_due", "action_overdue", "action_escalated"):
        return None
    action_id = _action_id(note)
    action = db.session.get(CorrectiveAction, action_id) if action_id is not None else None
    return action.due_on if action is not None else None


def _measure_end(note: Notification) -> date | None:
    """The end date of the measure a reminder is about (a date says nothing about anyone)."""
    from incidents.models import Measure

    if note.kind != "measure_ending":
        return None
    measure_id = _measure_id(note)
    measure = db.session.get(Measure, measure_id) if measure_id is not None else None
    return measure.ends_on if measure is not None else None


def _reset_link(note: Notification) -> str:
    """The link of the reset this mail is about (its id is the middle of the key); a reset
    that was replaced or used meanwhile still gets a link, which then says so."""
    from incidents.models import PasswordReset
    from incidents.services.password_reset import link_secret

    reset_id = note.key.split(":")[1]
    reset = db.session.get(PasswordReset, int(reset_id)) if reset_id.isdigit() else None
    secret = link_secret(reset) if reset is not None else "unknown"
    return url_for("auth.reset_password", secret=secret, _external=True)


def compose(note: Notification) -> Mail:
    """The mail in the recipient's language, as plain text and HTML."""
    recipient = note.recipient
    language = recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        subject, body, action = (str(t) for t in TEXTS[note.kind])
        incident = note.incident or (note.step.incident if note.step else None)
        context = {
            "note": note,
            "body": body,
            "action": action,
            "link": _link(note),
            "incident": incident,
            "step": note.step,
            "measure_ends_on": _measure_end(note),
            "action_due_on": _action_due(note),
            "language": language,
            # Only managers are told the level: it says how serious the incident was.
            "show_level": recipient.role == Role.MANAGER,
            "help_link": url_for("main.help", _external=True)
            if note.kind in EMPLOYEE_KINDS
            else None,
        }
        return Mail(
            to=recipient.email,
            subject=subject,
            text=render_template("mail/notification.txt", **context),
            html=render_template("mail/notification.html", **context),
            message_id=_message_id(note),
        )


def _message_id(note: Notification) -> str:
    """The same Message-ID each time this mail is sent, so a receiver can drop a repeat; keyed
    with the secret key, so it names no incident and differs between installations."""
    config = current_app.config
    digest = hmac.new(
        str(config["SECRET_KEY"]).encode(), f"{note.id}:{note.key}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    return f"<{digest}@{config['MAIL_SENDER'].rpartition('@')[2] or 'localhost'}>"


def run(now: datetime | None = None) -> dict[str, int]:
    """The reminder run: queue what is due, then send everything unsent."""
    now = now or utcnow()
    try:
        queued = queue_due(now)
        db.session.commit()
    except IntegrityError:  # another run queued the same mails at the same moment
        db.session.rollback()
        queued = 0
    from incidents.outbox import send_pending

    sent, failed = send_pending(now)
    return {"queued": queued, "sent": sent, "failed": failed}
