"""The aftercare steps of an incident, with their owners, deadlines and outcomes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, _enum, utcnow
from incidents.rules import StepKind, Subject

if TYPE_CHECKING:
    from incidents.models.incident import Incident
    from incidents.models.people import Team, User


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
    kind: Mapped[StepKind] = mapped_column(_enum(StepKind, "step_kind"))
    subject: Mapped[Subject] = mapped_column(_enum(Subject, "step_subject"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The team whose manager owns the step (the subject's team): its deputy sees it too.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[StepStatus] = mapped_column(
        _enum(StepStatus, "step_status"), default=StepStatus.OPEN
    )
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)  # rules.Outcome values
    # What was recorded beside the outcomes (rules.Field): the form's fields, one column each.
    held_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100), default="")
    end_date: Mapped[date | None] = mapped_column(Date)  # of a measure, e.g. a building ban
    citizen_heard: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    # Later: what came of a filed police report. None: not known; "" known, but anonymised.
    police_outcome: Mapped[str | None] = mapped_column(String(200))
    # A police report: when the evidence was first handed over (the police bundle downloaded),
    # and how many files the latest bundle held.
    evidence_handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence_files: Mapped[int] = mapped_column(default=0, server_default="0")
    # The moments a conversation was tried without reaching the employee (aware ISO 8601).
    attempt_times: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A measure past its end date: retention has emptied what identified the citizen.
    measure_expired: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    not_required_reason: Mapped[str] = mapped_column(String(200), default="")
    # A declined conversation is offered once more: the repeat points at the declined step.
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("aftercare_step.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    # Raised by every change to a recorded step (a correction, the report number added
    # later): a correction form opened before it is refused instead of undoing it.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="steps")
    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
    team: Mapped[Team | None] = relationship()
    corrections: Mapped[list[StepCorrection]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="StepCorrection.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status == StepStatus.OPEN

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at < now


# The fields a correction may change, in the order the step page names them.
CORRECTED_FIELDS = (
    "outcomes",
    "held_on",
    "reference",
    "end_date",
    "citizen_heard",
    "reason",
    "note",
)
_DATES = frozenset({"held_on", "end_date"})


def stored_value(value: Any) -> Any:
    """A step's field value as a correction keeps it in JSON (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def _read_value(name: str, value: Any) -> Any:
    if name in _DATES and isinstance(value, str) and value:
        return date.fromisoformat(value)
    return value


class StepCorrection(Model):
    """A correction of a recorded step: who, when, why, and the values it replaced (and
    the ones it set), only of the fields that changed."""

    __tablename__ = "step_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("aftercare_step.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    # Field name -> value (`stored_value`): before the correction, and what it set.
    previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    corrected: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    step: Mapped[AftercareStep] = relationship(back_populates="corrections")
    actor: Mapped[User | None] = relationship()

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every changed field, in the form's order, with dates
        as dates."""
        return [
            (
                name,
                _read_value(name, self.previous[name]),
                _read_value(name, self.corrected.get(name)),
            )
            for name in CORRECTED_FIELDS
            if name in self.previous
        ]
