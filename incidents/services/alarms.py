"""Alarm buttons: an event from the alarm provider becomes a draft report for the employee
who pressed the button. One transaction per event; the provider's event id makes it
idempotent (a resent or doubled event finds the draft the first one made)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from incidents import notify
from incidents.bounds import EARLIEST_MOMENT
from incidents.extensions import db
from incidents.models import (
    AlarmEvent,
    AuditAction,
    Incident,
    IncidentChange,
    IncidentPerson,
    PersonRole,
    User,
    utcnow,
)
from incidents.services import aftercare
from incidents.services.accounts import normalise_email
from incidents.services.base import ServiceError, audit, transaction
from incidents.services.locations import location_id_for

SIGNATURE_PREFIX = "sha256="
# The button's clock and ours may differ a little; an alarm from further ahead is refused.
FUTURE_TOLERANCE = timedelta(minutes=5)


class AlarmRefused(ServiceError):
    """The event is well formed but cannot become a draft; `reason` is a stable code for the
    provider (unknown_user, inactive_user)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Alarm:
    """One alarm event as the provider describes it (already validated for shape)."""

    provider_event_id: str
    email: str
    triggered_at: datetime
    location: str = ""
    device: str = ""


def secrets_of(configured: list[str] | str | None) -> list[str]:
    """The valid secrets from the setting: a list, or one string; empty ones never count."""
    if not configured:
        return []
    values = [configured] if isinstance(configured, str) else list(configured)
    return [str(v) for v in values if str(v)]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value the provider sends: HMAC-SHA256 over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def signature_valid(
    valid_secrets: list[str],
    timestamp: str,
    body: bytes,
    header: str,
    now: datetime,
    max_age: timedelta,
) -> bool:
    """Pure: the header is signed with one of the secrets and the timestamp (unix seconds)
    is within `max_age` of `now`, either way. Every secret is compared, in constant time."""
    if not valid_secrets or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now.timestamp() - int(timestamp)) > max_age.total_seconds():
        return False
    given = header.encode("utf-8", "replace")  # bytes: any header text compares, never raises
    matches = [
        hmac.compare_digest(signature(s, timestamp, body).encode(), given) for s in valid_secrets
    ]
    return any(matches)


def new_secret() -> str:
    """A fresh webhook secret, for the provider's configuration."""
    return secrets.token_urlsafe(32)


def triggered_at_errors(moment: datetime) -> str | None:
    """Why a moment cannot be an alarm's, or None."""
    if moment > utcnow() + FUTURE_TOLERANCE:
        return "triggered_at is in the future"
    if moment < EARLIEST_MOMENT:
        return "triggered_at is too early"
    return None


def _existing(provider_event_id: str) -> AlarmEvent | None:
    return db.session.scalar(
        select(AlarmEvent).where(AlarmEvent.provider_event_id == provider_event_id)
    )


def receive_alarm(alarm: Alarm) -> tuple[AlarmEvent, bool]:
    """Record the alarm and make its draft report; returns the event and whether it is new.

    The same event id again returns the first event and changes nothing, also when both
    arrive at once (the unique event id decides; the loser reads the winner's row). Raises
    `AlarmRefused` for an unknown or inactive account, audited without an actor."""
    found = _existing(alarm.provider_event_id)
    if found is not None:
        return found, False
    user = db.session.scalar(select(User).where(User.email == normalise_email(alarm.email)))
    if user is None or not user.active:
        reason = "unknown_user" if user is None else "inactive_user"
        with transaction():
            audit(
                None, AuditAction.ALARM_REFUSED, None, reason=reason, event=alarm.provider_event_id
            )
        raise AlarmRefused(
            reason,
            "No active account has this e-mail address."
            if user is None
            else "The account with this e-mail address is not active.",
        )
    try:
        with transaction():
            event = _make_draft(alarm, user)
    except IntegrityError:
        # The same event at the same moment: the other request made the draft.
        winner = _existing(alarm.provider_event_id)
        if winner is None:
            raise
        return winner, False
    return event, True


def _make_draft(alarm: Alarm, user: User) -> AlarmEvent:
    """Inside the caller's transaction: the draft, its alarm, its history, audit and mail."""
    incident = Incident(
        # Derived from the event id: a second draft for the same event cannot exist either.
        submission_token="alarm-"
        + hashlib.sha256(alarm.provider_event_id.encode()).hexdigest()[:58],
        reporter_id=user.id,
        occurred_at=alarm.triggered_at,
        location=alarm.location,
        location_id=location_id_for(alarm.location),
    )
    incident.people.append(IncidentPerson(user_id=user.id, role=PersonRole.AFFECTED))
    incident.changes.append(
        IncidentChange(
            actor_id=None,
            action="alarm",
            fields=["occurred_at", "location", "affected"]
            if alarm.location
            else ["occurred_at", "affected"],
            version=1,
        )
    )
    db.session.add(incident)
    event = AlarmEvent(
        provider_event_id=alarm.provider_event_id,
        user=user,
        incident=incident,
        triggered_at=alarm.triggered_at,
        location=alarm.location,
        device=alarm.device,
    )
    db.session.add(event)
    db.session.flush()
    audit(None, AuditAction.ALARM_RECEIVE, incident, event=alarm.provider_event_id)
    notify.queue("alarm", user, str(incident.id), incident=incident)
    aftercare.alarm_steps_at_once(incident, user)
    return event


def alarm_of(incident: Incident) -> AlarmEvent | None:
    """The alarm that started this draft or incident, if any."""
    return db.session.scalar(select(AlarmEvent).where(AlarmEvent.incident_id == incident.id))
