"""The register of measures against perpetrators, and the lookups made at the counter.

A measure is its own record: the citizen (a name and the organisation's client reference,
nothing more), its kind (``[[measures]]`` in protocol.toml), the incidents it rests on, the
reason in a sentence, a start and an end date, and who proposed and who approved it. Its
stored `state` is brought up to date by the daily run; what holds on a given day is
`state_on`, so an ended measure leaves the lookup at once, run or no run.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, _enum, utcnow

if TYPE_CHECKING:
    from incidents.models.aftercare import AftercareStep
    from incidents.models.incident import Incident
    from incidents.models.people import User

CITIZEN_NAME_MAX = 200
CITIZEN_REFERENCE_MAX = 100
MEASURE_REASON_MAX = 300


class MeasureState(enum.StrEnum):
    """Proposed until approved (by a second person, and a third past the kind's maximum);
    approved until its start date, then in force until its end date; then ended. Withdrawn:
    a proposal that was turned down or taken back, never in force."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_FORCE = "in_force"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


class HeardHow(enum.StrEnum):
    """How the citizen was heard before the measure."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    WRITING = "writing"


class NoticeHow(enum.StrEnum):
    """How the notice letter went to the citizen."""

    POST = "post"
    EMAIL = "email"
    HAND = "hand"


measure_incident = Table(
    "measure_incident",
    Model.metadata,
    Column("measure_id", ForeignKey("measure.id"), primary_key=True),
    Column("incident_id", ForeignKey("incident.id"), primary_key=True, index=True),
)


def lookup_key(text: str) -> str:
    """A name or reference as the lookup compares it: case, accents and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


class Measure(Model):
    """One measure against one citizen, resting on one or more incidents."""

    __tablename__ = "measure"
    __table_args__ = (
        # The daily run: what starts or ends today; the counter: what is in force.
        Index("ix_measure_state_ends", "state", "ends_on"),
        Index("ix_measure_name_key", "name_key"),
        Index("ix_measure_reference_key", "reference_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # a [[measures]] id
    citizen_name: Mapped[str] = mapped_column(String(CITIZEN_NAME_MAX))
    citizen_reference: Mapped[str] = mapped_column(String(CITIZEN_REFERENCE_MAX), default="")
    # `lookup_key` of the name and the reference, kept for the counter's search.
    name_key: Mapped[str] = mapped_column(String(CITIZEN_NAME_MAX), default="")
    reference_key: Mapped[str] = mapped_column(String(CITIZEN_REFERENCE_MAX), default="")
    reason: Mapped[str] = mapped_column(String(MEASURE_REASON_MAX), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # the last day it is in force
    state: Mapped[MeasureState] = mapped_column(
        _enum(MeasureState, "measure_state"), default=MeasureState.PROPOSED
    )
    # "One named contact person": the employee the citizen deals with.
    contact_person_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The "response to the perpetrator" step it was proposed from, and the measure it extends.
    step_id: Mapped[int | None] = mapped_column(ForeignKey("aftercare_step.id"), index=True)
    extends_id: Mapped[int | None] = mapped_column(ForeignKey("measure.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Longer than the kind's maximum: a second approval, by yet another person.
    second_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    second_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The hearing: when and how the citizen was heard, or why that was not possible.
    heard_on: Mapped[date | None] = mapped_column(Date)
    heard_how: Mapped[str] = mapped_column(String(16), default="")  # HeardHow, or ""
    not_heard_reason: Mapped[str] = mapped_column(String(MEASURE_REASON_MAX), default="")
    heard_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The notice letter: when and how it was sent, and by whom.
    notice_sent_on: Mapped[date | None] = mapped_column(Date)
    notice_sent_how: Mapped[str] = mapped_column(String(16), default="")  # NoticeHow, or ""
    notice_sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Ended or withdrawn: when, by whom (None: by itself, on its end date) and why.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    close_reason: Mapped[str] = mapped_column(String(MEASURE_REASON_MAX), default="")
    # The reminder before the end date went to the manager.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Its incidents lost their personal data, and so did the measure.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Carried over from a building ban recorded as a step outcome (before the register).
    carried_over: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Raised by every change: a form opened before another change is refused, not applied.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")

    incidents: Mapped[list[Incident]] = relationship(
        secondary=measure_incident, order_by="Incident.submitted_at"
    )
    step: Mapped[AftercareStep | None] = relationship()
    extends: Mapped[Measure | None] = relationship(remote_side=[id])
    contact_person: Mapped[User | None] = relationship(foreign_keys=[contact_person_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    second_approved_by: Mapped[User | None] = relationship(foreign_keys=[second_approved_by_id])
    heard_recorded_by: Mapped[User | None] = relationship(foreign_keys=[heard_recorded_by_id])
    notice_sent_by: Mapped[User | None] = relationship(foreign_keys=[notice_sent_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    def state_on(self, day: date) -> MeasureState:
        """The state on `day`: an approved measure is in force from its start date through
        its end date, and ended after it, whether or not the daily run has been."""
        if self.state in (MeasureState.APPROVED, MeasureState.IN_FORCE):
            if day > self.ends_on:
                return MeasureState.ENDED
            if day >= self.starts_on:
                return MeasureState.IN_FORCE
            return MeasureState.APPROVED
        return self.state

    def in_force_on(self, day: date) -> bool:
        return self.state_on(day) == MeasureState.IN_FORCE

    @property
    def heard(self) -> bool:
        """The hearing is recorded: when and how, or why it was not possible."""
        return self.heard_on is not None or bool(self.not_heard_reason)

    def set_citizen(self, name: str, reference: str) -> None:
        self.citizen_name, self.citizen_reference = name, reference
        self.name_key, self.reference_key = lookup_key(name), lookup_key(reference)


class MeasureLookup(Model):
    """A lookup at the counter: who, when, from which team, and how many measures it showed
    (never what was typed). The privacy officer counts them per team and month."""

    __tablename__ = "measure_lookup"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    matches: Mapped[int] = mapped_column(default=0)
