"""E-mail: what is queued when, how a mail reads, and sending each mail exactly once.

Mails are queued in the `notification` table (the outbox) in the same transaction as the change
they are about, each with a unique key, and sent by `flask remind` (run it every few minutes). A
mail names only what to do, the incident's date and level, and a link: never a description, a
person's name from the incident, a perpetrator or a note.

A run first claims a batch of waiting mails in a short transaction (its random token and a lease
of MAIL_LEASE_MINUTES), then sends them and marks each one sent at once, while it still holds the
claim: any number of concurrent runs send each mail once, and a crashed run's claims expire. A
server that drops is reconnected once; when that fails too the run stops, frees its claims for
the next run and logs one warning, so nothing is lost. A mail refused for good (5xx), or refused
for now (4xx) MAIL_MAX_ATTEMPTS times, is marked failed; admins see it at /admin/mail and can
try it again. Each mail keeps its Message-ID: should a server accept a mail but drop before
saying so, the copy sent on the next run is recognisably the same mail."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents.extensions import db
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
        _l("Open the aftercare inbox"),
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
}


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
    # What was queued before for these steps and drafts: one query, whatever the backlog.
    known = set(
        db.session.scalars(
            select(Notification.key).where(
                Notification.step_id.in_([s.id for s in open_steps])
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
    return len(db.session.new) - before


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


def _link(note: Notification) -> str:
    if note.kind in ("submitted",):
        return url_for("aftercare.inbox", _external=True)
    if note.kind in ("behalf", "draft") and note.incident_id is not None:
        endpoint = "reporting.edit" if note.kind == "draft" else "reporting.detail"
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
            "language": language,
            "recipient": recipient,
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


def _message(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _connect() -> smtplib.SMTP:
    config = current_app.config
    timeout = config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    try:
        if config["MAIL_USE_STARTTLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


# "Service not available, closing": the server ends the connection, whichever command it answers.
CLOSING = 421


class ServerUnreachable(Exception):
    """The mail server cannot be used: the connection failed, and so did one reconnect."""


def _code(error: smtplib.SMTPException) -> int | None:
    """The server's reply code to a refused mail; one recipient per mail, so one code."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next((code for code, _reply in error.recipients.values()), None)
    code = getattr(error, "smtp_code", None)
    return code if isinstance(code, int) else None


def _describe(error: Exception) -> str:
    """The server's reply ("550 no such user"), for the admin page; at most 300 characters."""
    reply: bytes | str
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        code, reply = next(iter(error.recipients.values()))
    elif isinstance(error, smtplib.SMTPResponseException):
        code, reply = error.smtp_code, error.smtp_error
    else:
        return str(error)[:300] or type(error).__name__
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}"[:300]


def _lost(error: Exception) -> bool:
    """Whether an error is about the connection rather than about this mail."""
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(error, smtplib.SMTPException):  # an OSError too, but an answer of the server
        return _code(error) == CLOSING
    return isinstance(error, OSError)  # timeouts, refused or reset connections, TLS errors


class Connection:
    """A run's connection to the mail server: opened on first use, reopened once after a drop."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        """Send one message. Raises ServerUnreachable when the connection is lost and one
        reconnect fails too; a refusal of this mail (an SMTPException) as it is."""
        try:
            self._send(message)
        except (OSError, smtplib.SMTPException) as error:
            if not _lost(error):
                raise
            self.close()
            try:
                self._send(message)
            except (OSError, smtplib.SMTPException) as again:
                if not _lost(again):
                    raise
                self.close()
                raise ServerUnreachable(_describe(again)) from again

    def _send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            try:
                self.smtp = _connect()
            except smtplib.SMTPException as error:  # greeting, TLS or login refused
                raise smtplib.SMTPConnectError(_code(error) or -1, _describe(error)) from error
        self.smtp.send_message(message)

    def close(self) -> None:
        """Say goodbye if the server still listens; close the socket in any case."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def send_pending(now: datetime | None = None, batch: int = 50) -> tuple[int, int]:
    """Send unsent mail, oldest first; returns (sent, failed): failed counts the mails this run
    could not send, refused ones and those left for the next run when the server went away.

    Any number of runs may do this at the same time: each sends only the mails it claimed and
    marks each one sent at once, so no mail goes out twice."""
    now = now or utcnow()
    config = current_app.config
    to_log = not config["MAIL_SERVER"]
    if to_log and not config["DEMO"]:
        waiting = outbox_counts()["waiting"]
        if waiting:
            log.error("MAIL_SERVER is not set: %s mails wait", waiting)
        return 0, waiting
    token = secrets.token_hex(16)
    connection = None if to_log else Connection()
    sent = failed = 0
    try:
        with _mail_context():
            while claimed := _claim(token, batch):
                notes, lease_end = claimed
                done, not_done, stop = _send_claimed(notes, token, now, lease_end, connection)
                sent, failed = sent + done, failed + not_done
                if stop is not None:
                    log.warning(
                        "mail server unreachable, this run stopped after %s mails; the rest "
                        "will retry on the next run: %s",
                        sent,
                        stop,
                    )
                    break
    finally:
        if connection is not None:
            connection.close()
        db.session.rollback()
        # Whatever this run did not send (a temporary refusal, a stop, a crash) is free again
        # for the next run. When even that fails (the database went away), the claims expire.
        with contextlib.suppress(SQLAlchemyError):
            _release(token)
    return sent, failed


def _mail_context() -> contextlib.AbstractContextManager[object]:
    """A request context for the links in mails (url_for), unless the caller has one."""
    if has_request_context():
        return contextlib.nullcontext()
    return current_app.test_request_context("/", base_url=current_app.config["BASE_URL"])


def _waiting(note: type[Notification], now: datetime) -> ColumnElement[bool]:
    """Unsent, not failed, and not claimed by a run whose lease still runs."""
    return and_(
        note.sent_at.is_(None),
        note.failed_at.is_(None),
        or_(note.claimed_until.is_(None), note.claimed_until < now),
    )


def _claim(token: str, batch: int) -> tuple[Sequence[Notification], datetime] | None:
    """Claim up to `batch` waiting mails for this run in one short transaction; the mails and
    when the claim ends, or None when nothing waits.

    PostgreSQL: first the ids, locked with SKIP LOCKED, then the UPDATE, which checks again that
    each mail is still free (a concurrent claim may have committed meanwhile). Not one statement:
    as a subquery of the UPDATE, the locking SELECT may be run again for each row, and then
    claims more than `batch`. SQLite: the UPDATE takes the database's write lock before its
    subquery reads (once), so the one statement is atomic."""
    now = utcnow()
    lease_end = now + timedelta(minutes=current_app.config["MAIL_LEASE_MINUTES"])
    free = aliased(Notification)
    ids = select(free.id).where(_waiting(free, now)).order_by(free.id).limit(batch)
    chosen: Select[int] | list[int] = ids
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = list(db.session.scalars(ids.with_for_update(skip_locked=True)))
    claimed = db.session.scalars(
        update(Notification)
        .where(Notification.id.in_(chosen), _waiting(Notification, now))
        .values(claim=token, claimed_until=lease_end)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    if not claimed:
        return None
    notes = db.session.scalars(
        select(Notification)
        .where(Notification.id.in_(claimed), Notification.claim == token)
        .order_by(Notification.id)
        .options(
            selectinload(Notification.recipient),
            selectinload(Notification.incident),
            selectinload(Notification.step).selectinload(AftercareStep.incident),
        )
    ).all()
    return notes, lease_end


def _send_claimed(
    notes: Sequence[Notification],
    token: str,
    now: datetime,
    lease_end: datetime,
    connection: Connection | None,
) -> tuple[int, int, ServerUnreachable | None]:
    """Send the claimed mails, recording each at once; (sent, not sent, why the run must stop).
    Without a connection (demo mode) the mails are written to the log."""
    # Composed first: a commit expires the loaded rows, and each would be read again.
    mails = [(note.id, note.attempts, compose(note)) for note in notes]
    # A mail is sent only well within the lease, so no other run can have taken it meanwhile.
    timeout = timedelta(seconds=6 * current_app.config["MAIL_TIMEOUT"])
    stop_at = lease_end - min(timeout, (lease_end - utcnow()) / 2)
    sent = not_sent = 0
    for index, (note_id, attempts, mail) in enumerate(mails):
        if index and utcnow() >= stop_at:
            _release(token, [i for i, _attempts, _mail in mails[index:]])
            break
        try:
            if connection is None:
                log.info(
                    "mail (demo mode, not sent) to %s: %s\n%s", mail.to, mail.subject, mail.text
                )
            else:
                connection.send(_message(mail))
        except ServerUnreachable as error:
            return sent, not_sent + len(mails) - index, error
        except smtplib.SMTPException as error:
            _refused(note_id, token, attempts, error, now)
            not_sent += 1
            continue
        if not _record(
            note_id, token, sent_at=now, attempts=attempts + 1, claim="", claimed_until=None
        ):
            log.error("mail %s was sent after its claim was lost: it may go out twice", note_id)
        sent += 1
    return sent, not_sent, None


def _refused(
    note_id: int, token: str, attempts: int, error: smtplib.SMTPException, now: datetime
) -> None:
    """A refused mail: failed for good on a permanent refusal (5xx) or after MAIL_MAX_ATTEMPTS;
    a temporary one (4xx) keeps this run's claim, so the next run, not this one, tries again."""
    code = _code(error)
    attempts += 1
    permanent = code is not None and 500 <= code < 600
    give_up = permanent or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    values: dict[str, object] = {"attempts": attempts, "last_error": _describe(error)}
    if give_up:
        values.update(failed_at=now, claim="", claimed_until=None)
    _record(note_id, token, **values)
    if give_up:
        log.warning(
            "mail %s failed for good after %s attempts: %s", note_id, attempts, _describe(error)
        )
    else:
        log.info(
            "mail %s refused for now, will retry on the next run: %s", note_id, _describe(error)
        )


def _record(note_id: int, token: str, **values: object) -> bool:
    """Change a mail this run holds, and commit at once; False when the claim was lost."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == note_id,
            Notification.claim == token,
            Notification.sent_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return cast("CursorResult[Any]", result).rowcount == 1


def _release(token: str, ids: Iterable[int] | None = None) -> None:
    """Free this run's claims (or those of `ids`), so the next run takes them."""
    mine = update(Notification).where(Notification.claim == token)
    if ids is not None:
        mine = mine.where(Notification.id.in_(list(ids)))
    db.session.execute(
        mine.values(claim="", claimed_until=None).execution_options(synchronize_session=False)
    )
    db.session.commit()


def outbox_counts() -> dict[str, int]:
    """How many mails wait to be sent, and how many failed for good."""
    unsent = Notification.sent_at.is_(None)
    waiting, failed = db.session.execute(
        select(
            func.count(case((and_(unsent, Notification.failed_at.is_(None)), 1))),
            func.count(case((and_(unsent, Notification.failed_at.is_not(None)), 1))),
        )
    ).one()
    return {"waiting": int(waiting), "failed": int(failed)}


def failed_mails(limit: int = 200) -> Sequence[Notification]:
    """Mails that failed for good, newest failure first, with their recipients."""
    return db.session.scalars(
        select(Notification)
        .where(Notification.sent_at.is_(None), Notification.failed_at.is_not(None))
        .order_by(Notification.failed_at.desc(), Notification.id.desc())
        .limit(limit)
        .options(selectinload(Notification.recipient))
    ).all()


def requeue(actor: User, notification_id: int) -> Notification:
    """Put a failed mail back in the outbox: no failure, no attempts, no claim; audited."""
    from incidents.services.base import ServiceError, audit, transaction  # services import us

    with transaction():
        result = db.session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.sent_at.is_(None),
                Notification.failed_at.is_not(None),
            )
            .values(failed_at=None, attempts=0, claim="", claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        note = db.session.get(Notification, notification_id)
        if cast("CursorResult[Any]", result).rowcount != 1 or note is None:
            raise ServiceError(_("This mail has not failed, or was tried again already."))
        audit(actor, "mail.retry", note, kind=note.kind)
    return note


def run(now: datetime | None = None) -> dict[str, int]:
    """The reminder run: queue what is due, then send everything unsent."""
    now = now or utcnow()
    try:
        queued = queue_due(now)
        db.session.commit()
    except IntegrityError:  # another run queued the same mails at the same moment
        db.session.rollback()
        queued = 0
    sent, failed = send_pending(now)
    return {"queued": queued, "sent": sent, "failed": failed}
