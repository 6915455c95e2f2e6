"""The audit trail, the mail outbox, settings, and the record of retention runs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from incidents.models.aftercare import AftercareStep
    from incidents.models.incident import Incident
    from incidents.models.people import User


class AuditAction(enum.StrEnum):
    """What an audit event records; stored by its value ("object.verb")."""

    ACTION_CREATE = "action.create"
    ACTION_CHANGE = "action.change"
    ACTION_CLOSE = "action.close"
    ACTION_REVIEW = "action.review"
    ACTION_CANCEL = "action.cancel"

    ALARM_RECEIVE = "alarm.receive"
    ALARM_REFUSED = "alarm.refused"

    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGOUT = "auth.logout"
    AUTH_OIDC_LOGIN = "auth.oidc_login"
    AUTH_OIDC_REFUSED = "auth.oidc_refused"
    AUTH_TWO_FACTOR = "auth.two_factor"
    AUTH_TWO_FACTOR_FAILED = "auth.two_factor_failed"
    AUTH_RECOVERY_CODE = "auth.recovery_code"
    AUTH_SESSION_END = "auth.session_end"

    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"

    CONVERSATIONS_SET = "conversations.set"

    EVIDENCE_ADD = "evidence.add"
    EVIDENCE_DOWNLOAD = "evidence.download"
    EVIDENCE_ORIGINAL = "evidence.download_original"
    EVIDENCE_POLICE = "evidence.for_police"
    EVIDENCE_BUNDLE = "evidence.police_bundle"
    EVIDENCE_REMOVE = "evidence.remove"

    DOCTOR_CLOSING = "doctor.closing"
    DOCTOR_RECOUNT = "doctor.recount"

    INCIDENT_DISCARD = "incident.discard"
    INCIDENT_DRAFT = "incident.draft"
    INCIDENT_LEGAL_HOLD = "incident.legal_hold"
    INCIDENT_LEGAL_HOLD_LIFTED = "incident.legal_hold_lifted"
    INCIDENT_LEVEL = "incident.level"
    INCIDENT_SUBMIT = "incident.submit"
    INCIDENT_UPDATE = "incident.update"
    INCIDENT_VIEW = "incident.view"
    INCIDENT_VIEW_EDIT = "incident.view_edit"

    LOCATION_ARCHIVE = "location.archive"
    LOCATION_CREATE = "location.create"
    LOCATION_RESTORE = "location.restore"
    LOCATION_UPDATE = "location.update"

    MAIL_RETRY = "mail.retry"

    MEASURE_PROPOSE = "measure.propose"
    MEASURE_APPROVE = "measure.approve"
    MEASURE_HEARING = "measure.hearing"
    MEASURE_NOTICE = "measure.notice"
    MEASURE_NOTICE_SENT = "measure.notice_sent"
    MEASURE_END = "measure.end"
    MEASURE_WITHDRAW = "measure.withdraw"
    MEASURE_VIEW = "measure.view"
    MEASURE_LOOKUP = "measure.lookup"
    MEASURE_START = "measure.start"
    MEASURE_EXPIRE = "measure.expire"
    MEASURE_REMIND = "measure.remind"
    MEASURE_ANONYMISE = "measure.anonymise"

    ORG_MEASURE_CREATE = "org_measure.create"
    ORG_MEASURE_CHANGE = "org_measure.change"
    ORG_MEASURE_END = "org_measure.end"
    ORG_MEASURE_DELETE = "org_measure.delete"

    PRIVACY_ACCESS_EXPORT = "privacy.access_export"
    PRIVACY_OVERVIEW = "privacy.overview"

    RETENTION_ANONYMISE = "retention.anonymise"
    RETENTION_EXPIRE_MEASURE = "retention.expire_measure"
    RETENTION_RUN = "retention.run"

    SETTINGS_KEEP_ORIGINALS = "settings.keep_originals"
    SETTINGS_COORDINATOR = "settings.coordinator"
    SETTINGS_HELP_CONTACTS = "settings.help_contacts"
    SETTINGS_MEASURE_LETTER = "settings.measure_letter"

    STATS_EXPORT = "stats.export"
    STATS_REPORT = "stats.report"
    STATS_REPORT_PDF = "stats.report_pdf"
    STATS_VIEW = "stats.view"

    STEP_ATTEMPT = "step.attempt"
    STEP_COMPLETE = "step.complete"
    STEP_CORRECT = "step.correct"
    STEP_HAND = "step.hand"
    STEP_OWNER = "step.owner"
    STEP_POLICE_OUTCOME = "step.police_outcome"
    STEP_POLICE_REFERENCE = "step.police_reference"
    STEP_VIEW = "step.view"

    TEAM_ACTIVATE = "team.activate"
    TEAM_CREATE = "team.create"
    TEAM_DEACTIVATE = "team.deactivate"
    TEAM_UPDATE = "team.update"

    USER_ABSENT = "user.absent"
    USER_ACTIVATE = "user.activate"
    USER_CALENDAR_RENEW = "user.calendar_renew"
    USER_CREATE = "user.create"
    USER_DEACTIVATE = "user.deactivate"
    USER_PASSWORD = "user.password"  # noqa: S105 (an action, no secret)
    USER_PASSWORD_LINK = "user.password_link"  # noqa: S105
    USER_PASSWORD_SET = "user.password_set"  # noqa: S105
    USER_PRESENT = "user.present"
    USER_TEAM_ROLE = "user.team_role"
    USER_UPDATE = "user.update"
    USER_TWO_FACTOR_ON = "user.two_factor_on"
    USER_TWO_FACTOR_OFF = "user.two_factor_off"
    USER_RECOVERY_CODES = "user.recovery_codes"

    SCIM_TOKEN_CREATE = "scim.token_create"  # noqa: S105 (an action, no secret)
    SCIM_TOKEN_REVOKE = "scim.token_revoke"  # noqa: S105
    SCIM_REQUEST = "scim.request"

    IMPORT_DRY_RUN = "import.dry_run"
    IMPORT_APPLY = "import.apply"


class AuditEvent(Model):
    """One line in the audit trail: who did what to which object, and when."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The client address the action came from (empty for command-line runs).
    address: Mapped[str] = mapped_column(String(45), default="")

    actor: Mapped[User | None] = relationship()


class Notification(Model):
    """One e-mail to send (an outbox). `key` is unique: the same reminder is never queued twice,
    so running the reminder job again sends nothing twice. Unsent mail is retried until it
    fails for good (`failed_at`); a run claims a mail (`claim`, until `claimed_until`) before
    sending it, so concurrent runs never send one twice."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # What the mail is about: ids only, never contents.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("aftercare_step.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    claim: Mapped[str] = mapped_column(String(32), default="", server_default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recipient: Mapped[User] = relationship()
    incident: Mapped[Incident | None] = relationship()
    step: Mapped[AftercareStep | None] = relationship()


class Setting(Model):
    """An organisation-wide choice made by an admin, by name (for example the aftercare
    coordinator: "aftercare_coordinator" -> a user id)."""

    __tablename__ = "setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RetentionRun(Model):
    """One run of the retention job and what it did (kept as its report)."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RecoveryCode(Model):
    """A single-use code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScimToken(Model):
    """A bearer token for the SCIM endpoint, made by an admin; only its hash is kept."""

    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrgImport(Model):
    """One import of people and teams from the HR system: its dry run, and whether it was
    applied; the report lists every change and every refused line."""

    __tablename__ = "org_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the file: apply what was seen
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
