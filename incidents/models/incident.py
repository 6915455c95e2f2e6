"""Incidents with their types, the colleagues involved, and the history of edits."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, _enum, utcnow

if TYPE_CHECKING:
    from incidents.models.aftercare import AftercareStep
    from incidents.models.people import User


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
    __table_args__ = (
        Index("ix_incident_status_occurred", "status", "occurred_at"),
        # A manager's home page: the incidents submitted in the last days.
        Index("ix_incident_status_submitted", "status", "submitted_at"),
    )

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
    # The registered location (`Location`) whose name the place was when it was last typed or
    # filled in from a poster, else NULL: what the statistics count places by. It stays when
    # the location is renamed or archived later (see `services.locations.location_id_for`).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
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
    # The readable number, "2026-0142": the year it was submitted and its place in that year,
    # given at submission (`services.numbers`). A draft has none.
    number: Mapped[str | None] = mapped_column(String(16), unique=True)

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    type_rows: Mapped[list[IncidentTypeRow]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentTypeRow.type",
    )
    people: Mapped[list[IncidentPerson]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentPerson.id",
    )
    changes: Mapped[list[IncidentChange]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="IncidentChange.id",
    )
    steps: Mapped[list[AftercareStep]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="(AftercareStep.due_at, AftercareStep.id)",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        order_by="Attachment.id",
    )

    @property
    def types(self) -> list[IncidentType]:
        return [row.type for row in self.type_rows]

    def people_in(self, role: PersonRole) -> list[IncidentPerson]:
        return [p for p in self.people if p.role == role]

    @property
    def is_draft(self) -> bool:
        return self.status == IncidentStatus.DRAFT


class IncidentNumber(Model):
    """The last incident number given in a year: taken and raised in the submitting
    transaction, so two submissions never get the same number."""

    __tablename__ = "incident_number"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]


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


class AlarmEvent(Model):
    """An alarm button's event, as the provider sent it to `POST /api/alarms`, and the draft
    report it became. Only accepted events are kept (refusals are in the audit trail); the
    provider's event id is unique, so a resent event finds its draft instead of making one."""

    __tablename__ = "alarm_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_event_id: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The draft it made; NULL when that draft was discarded (the alarm still counts).
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), unique=True
    )
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    device: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    incident: Mapped[Incident | None] = relationship()


class Attachment(Model):
    """A file added to an incident as evidence: a photo, a screenshot, a letter, an e-mail.

    The bytes live in the evidence store under `key` (never in the static folder, never served
    directly); images there are re-encoded without their metadata. `original_key` holds the
    upload as it was, only when the admin keeps originals for the police. A removed file is
    gone from the store; its row stays, saying who removed it and why, as does a file whose
    incident lost its personal data to retention (its name blanked)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    original_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    filename: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Chosen by a manager for the police bundle; handed_at: first downloaded in one.
    for_police: Mapped[bool] = mapped_column(default=False)
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    removed_reason: Mapped[str] = mapped_column(String(200), default="")

    incident: Mapped[Incident] = relationship(back_populates="attachments")
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])

    @property
    def present(self) -> bool:
        """Still in the store (not removed, not taken by retention)."""
        return self.removed_at is None
