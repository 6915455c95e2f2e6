"""Typed SQLAlchemy 2 models: people, the organisation, and the audit trail."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import db

if TYPE_CHECKING:  # mypy cannot see through db.Model; at run time it is that class
    from incidents.extensions import Base as Model
else:
    Model = db.Model


def utcnow() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores moments in UTC and always hands back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Role(enum.StrEnum):
    """What a user may do; see the roles table in DOMAIN.md."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    HR = "hr"
    ADMIN = "admin"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum by its value, as a portable string with a check constraint."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class User(Model):
    """A person who logs in. Users are deactivated, never deleted."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.EMPLOYEE)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # A manager who is away: new aftercare steps go to the deputy of the team instead.
    absent: Mapped[bool] = mapped_column(default=False)
    # The secret in the address of the manager's calendar feed; renewing it ends the old one.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    # Changed on password change and deactivation: every existing session then ends.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team | None] = relationship(foreign_keys=[team_id], back_populates="members")

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class Team(Model):
    """A team or a department: units nest through `parent_id`.

    Names are kept in Dutch and English; the one in the user's language is shown,
    falling back to the other.
    """

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_nl: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True), index=True
    )
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Team | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Team]] = relationship(back_populates="parent")
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    deputy: Mapped[User | None] = relationship(foreign_keys=[deputy_id])
    members: Mapped[list[User]] = relationship(
        foreign_keys="User.team_id", back_populates="team", order_by="User.name"
    )

    def name(self, locale: str) -> str:
        """The team's name in `locale` ("nl" or "en"), falling back to the other language."""
        preferred = self.name_en if locale == "en" else self.name_nl
        return preferred or self.name_nl or self.name_en

    def manager_above(self) -> User | None:
        """The manager of the nearest parent unit that has one (for escalation)."""
        unit = self.parent
        seen: set[int] = set()
        while unit is not None and unit.id not in seen:
            seen.add(unit.id)
            if unit.manager is not None and unit.manager.active:
                return unit.manager
            unit = unit.parent
        return None

    def ancestors(self) -> list[Team]:
        """Parent, grandparent, ...: used to refuse cycles when a parent is chosen."""
        chain: list[Team] = []
        unit = self.parent
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = unit.parent
        return chain

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name_en}>"


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


__all__ = ["AuditEvent", "Role", "Team", "UTCDateTime", "User", "func", "utcnow"]


class Channel(enum.StrEnum):
    """Where or through which channel the incident happened (VPT registration guidance)."""

    COUNTER = "counter"
    INTERVIEW_ROOM = "interview_room"
    HOME_VISIT = "home_visit"
    PHONE = "phone"
    LETTER_EMAIL = "letter_email"
    SOCIAL_MEDIA = "social_media"
    PUBLIC_SPACE = "public_space"
    OTHER = "other"


class IncidentType(enum.StrEnum):
    """What happened (A+O fonds categories, VPT monitor); an incident has one or more."""

    VERBAL = "verbal"
    INTIMIDATION = "intimidation"
    THREAT = "threat"
    DISCRIMINATION = "discrimination"
    SEXUAL = "sexual"
    PHYSICAL = "physical"
    DAMAGE = "damage"
    ONLINE = "online"


class IncidentStatus(enum.StrEnum):
    """A draft starts nothing; a submitted incident is never deleted."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class PersonRole(enum.StrEnum):
    """How a colleague is involved in an incident."""

    AFFECTED = "affected"
    WITNESS = "witness"


class PerpetratorKnown(enum.StrEnum):
    UNKNOWN = "unknown"
    KNOWN = "known"


class Incident(Model):
    """One aggression incident, as reported. Fields may be empty while it is a draft."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_status_occurred", "status", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per form shown: a double submit finds the incident the first submit made.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"), default=IncidentStatus.DRAFT
    )
    quick: Mapped[bool] = mapped_column(default=False)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)

    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[Channel | None] = mapped_column(_enum(Channel, "channel"))
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    weapon: Mapped[bool] = mapped_column(default=False)
    threat_home: Mapped[bool] = mapped_column(default=False)
    injury: Mapped[bool] = mapped_column(default=False)
    absence: Mapped[bool] = mapped_column(default=False)
    hospital: Mapped[bool] = mapped_column(default=False)

    outside_witnesses: Mapped[str] = mapped_column(Text, default="")
    perpetrator_known: Mapped[PerpetratorKnown] = mapped_column(
        _enum(PerpetratorKnown, "perpetrator_known"), default=PerpetratorKnown.UNKNOWN
    )
    perpetrator_name: Mapped[str] = mapped_column(String(200), default="")
    perpetrator_reference: Mapped[str] = mapped_column(String(100), default="")

    police_called: Mapped[bool] = mapped_column(default=False)
    police_report_wanted: Mapped[bool] = mapped_column(default=False)
    damage: Mapped[bool] = mapped_column(default=False)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Set by the protocol when submitted (and raised by later edits): why these steps were asked.
    level: Mapped[int | None]
    level_rule: Mapped[str] = mapped_column(String(64), default="")
    level_reason: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    protocol_version: Mapped[str] = mapped_column(String(64), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Privacy: a legal hold stops retention; anonymised_at is set when personal data was removed.
    legal_hold: Mapped[bool] = mapped_column(default=False)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For statistics: the team of the (first) affected employee when it was submitted.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    # Raised by every change to the report: a form saved from an older version is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    type_rows: Mapped[list[IncidentTypeRow]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentTypeRow.type"
    )
    people: Mapped[list[IncidentPerson]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentPerson.id"
    )
    changes: Mapped[list[IncidentChange]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentChange.id"
    )
    steps: Mapped[list[AftercareStep]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="(AftercareStep.due_at, AftercareStep.id)",
    )

    @property
    def types(self) -> list[IncidentType]:
        return [row.type for row in self.type_rows]

    def people_in(self, role: PersonRole) -> list[IncidentPerson]:
        return [p for p in self.people if p.role == role]

    @property
    def is_draft(self) -> bool:
        return self.status == IncidentStatus.DRAFT


class IncidentTypeRow(Model):
    """One type of an incident; a table of its own so statistics count types in SQL."""

    __tablename__ = "incident_type"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), primary_key=True)
    type: Mapped[IncidentType] = mapped_column(
        _enum(IncidentType, "incident_type"), primary_key=True
    )

    incident: Mapped[Incident] = relationship(back_populates="type_rows")


class IncidentPerson(Model):
    """A colleague involved in an incident: affected, or a witness."""

    __tablename__ = "incident_person"
    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[PersonRole] = mapped_column(_enum(PersonRole, "person_role"))

    incident: Mapped[Incident] = relationship(back_populates="people")
    user: Mapped[User] = relationship()


class IncidentChange(Model):
    """The history of an incident: who changed which fields, and when (not the values)."""

    __tablename__ = "incident_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The incident's version this change made (None for changes from before versions).
    version: Mapped[int | None]

    incident: Mapped[Incident] = relationship(back_populates="changes")
    actor: Mapped[User | None] = relationship()


class StepStatus(enum.StrEnum):
    """An aftercare step is open until it is done, or no longer required after a lower level."""

    OPEN = "open"
    DONE = "done"
    NOT_REQUIRED = "not_required"


class AftercareStep(Model):
    """One step of the aftercare protocol for one person (or the incident as a whole),
    with its owner (the person's manager) and its deadline."""

    __tablename__ = "aftercare_step"
    __table_args__ = (
        Index("ix_aftercare_step_owner_status_due", "owner_id", "status", "due_at"),
        Index("ix_aftercare_step_team_status_due", "team_id", "status", "due_at"),
        # The inbox's "done" list: a manager's steps by deadline, the latest first.
        Index("ix_aftercare_step_owner_due", "owner_id", "due_at"),
        Index("ix_aftercare_step_team_due", "team_id", "due_at"),
        # Open steps past their deadline, for the "aftercare on time" figure.
        Index("ix_aftercare_step_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    definition_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(16))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The team whose manager owns the step (the subject's team): its deputy sees it too.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[StepStatus] = mapped_column(
        _enum(StepStatus, "step_status"), default=StepStatus.OPEN
    )
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    not_required_reason: Mapped[str] = mapped_column(String(200), default="")
    # A declined conversation is offered once more: the repeat points at the declined step.
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("aftercare_step.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="steps")
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
    team: Mapped[Team | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == StepStatus.OPEN

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at < now


class ConversationCount(Model):
    """How many client conversations a team had through a channel in a month: the denominator
    of "incidents per 1,000 conversations". Registered by HR or an admin."""

    __tablename__ = "conversation_count"
    __table_args__ = (UniqueConstraint("team_id", "channel", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    month: Mapped[date] = mapped_column(Date, index=True)  # the first day of the month
    count: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    team: Mapped[Team] = relationship()


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


class UserSession(Model):
    """A login: the cookie holds only an opaque id, whose SHA-256 is kept here. Logout, the
    timeouts, a password change and deactivation delete the row, so a copied cookie stops
    working at once. The user sees their sessions on their account page and can end them."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class PasswordReset(Model):
    """A single-use, expiring link to set a password, sent by mail (an admin never sets an
    existing user's password). Only the SHA-256 of the link's secret is kept."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginThrottle(Model):
    """Failed logins by key ("account:<e-mail>", "pair:<e-mail>|<address>", "address:<ip>"),
    for growing delays instead of a hard lock; shared by every worker and server."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class _StatRow:
    """The columns of a statistics count row: one per (measure, month, key, level).

    The measure first: a period's rows of a measure are one range of the primary key, and a
    page reads only the measures it shows."""

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class StatTally(_StatRow, Model):
    """Running counts for the statistics, one row per (measure, month, key, level).

    Kept up to date in the same transaction as every change to an incident, its types or its
    steps (see `incidents.stats.tally`), so the statistics page sums a few hundred rows per
    year instead of counting every incident. `month` is "YYYY-MM" in the organisation's time
    zone; `key` and `level` depend on the measure ("" and 0 where a measure has none)."""

    __tablename__ = "stat_tally"


class TeamMembership(Model):
    """Who belonged to which team when (``team_id`` None: no team), kept by the app whenever an
    account is created, moved or (de)activated, so statistics take unit sizes as of a period,
    not from today's teams. ``until`` is exclusive; None while it lasts."""

    __tablename__ = "team_membership"
    __table_args__ = (Index("ix_team_membership_team_since", "team_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatPublication(Model):
    """A month whose statistics were published (frozen): it had ended and the delay passed."""

    __tablename__ = "stat_publication"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatPublished(_StatRow, Model):
    """The incident counts of a published month as they were when it was published: later edits
    and late reports never move a published figure. Same rows as `StatTally`."""

    __tablename__ = "stat_published"
