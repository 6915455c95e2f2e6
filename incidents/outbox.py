"""Sending the outbox: each queued mail exactly once, under concurrency and faults.

A run first claims a batch of waiting mails in a short transaction (its random token and a lease
of MAIL_LEASE_MINUTES), then sends them and marks each one sent at once, while it still holds the
claim: any number of concurrent runs send each mail once, and a crashed run's claims expire. A
server that drops is reconnected once; when that fails too the run stops, frees its claims for
the next run and logs one warning, so nothing is lost. A mail refused for good (5xx), or refused
for now (4xx) MAIL_MAX_ATTEMPTS times, is marked failed; admins see it at /admin/mail and can
try it again. Each mail keeps its Message-ID (see `notify.compose`): should a server accept a
mail but drop before saying so, the copy sent on the next run is recognisably the same mail."""

from __future__ import annotations

import contextlib
import logging
import secrets
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from flask import current_app, has_request_context
from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, and_, case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents import notify
from incidents.extensions import db
from incidents.models import (
    AftercareStep,
    AuditAction,
    Notification,
    User,
    utcnow,
)
from incidents.notify import Mail

log = logging.getLogger(__name__)


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


def _composed(note: Notification) -> notify.Mail | Exception:
    try:
        return notify.compose(note)
    except Exception as error:  # any bug in one mail: that mail fails, not the run
        return error


def _send_claimed(
    notes: Sequence[Notification],
    token: str,
    now: datetime,
    lease_end: datetime,
    connection: Connection | None,
) -> tuple[int, int, ServerUnreachable | None]:
    """Send the claimed mails, recording each at once; (sent, not sent, why the run must stop).
    Without a connection (demo mode) the mails are written to the log."""
    # Composed first: a commit expires the loaded rows, and each would be read again. A mail
    # that cannot be composed (a template error) is marked failed, so it never blocks the rest.
    composed = [(note.id, note.attempts, _composed(note)) for note in notes]
    for note_id, _attempts, mail in composed:
        if isinstance(mail, Exception):
            log.error("mail %s could not be composed: %r", note_id, mail)
            _record(
                note_id,
                token,
                failed_at=now,
                last_error=f"could not be composed: {mail!r}"[:300],
                claim="",
                claimed_until=None,
            )
    mails = [(i, a, m) for i, a, m in composed if not isinstance(m, Exception)]
    # A mail is sent only well within the lease, so no other run can have taken it meanwhile.
    timeout = timedelta(seconds=6 * current_app.config["MAIL_TIMEOUT"])
    stop_at = lease_end - min(timeout, (lease_end - utcnow()) / 2)
    sent, not_sent = 0, len(composed) - len(mails)
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
        audit(actor, AuditAction.MAIL_RETRY, note, kind=note.kind)
    return note
