"""Corrective actions: what a team agreed to change after an incident, who does it, by when,
what was done, and, some months later, whether it worked (ISO 45001 clause 10.2).

An action comes out of a team evaluation step (`step_id`) and is for that step's team
(`team_id`). It says nothing about the incident itself: the works council's overview lists
actions without any incident detail. Its `what` is one or two sentences about the
organisation ("a second exit in interview room 2"), never about a person.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, _enum, utcnow

if TYPE_CHECKING:
    from incidents.models.aftercare import AftercareStep
    from incidents.models.people import Team, User

ACTION_WHAT_MAX = 300
ACTION_NOTE_MAX = 300
RISK_ITEM_MAX = 100


class ActionState(enum.StrEnum):
    """Open until done (with what was done); done until reviewed (whether it worked).
    Cancelled: no longer needed, with the reason; never done."""

    OPEN = "open"
    DONE = "done"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"


class ReviewResult(enum.StrEnum):
    """Whether a completed action did what it was for, as its review found."""

    WORKED = "worked"
    PARTLY = "partly"
    DID_NOT_WORK = "did_not_work"


class CorrectiveAction(Model):
    """One corrective action agreed at a team evaluation."""

    __tablename__ = "corrective_action"
    __table_args__ = (
        # The owner's open list (inbox, "My actions"), by deadline.
        Index("ix_corrective_action_owner_state_due", "owner_id", "state", "due_on"),
        # A team's page and the overview's team filter.
        Index("ix_corrective_action_team_state_due", "team_id", "state", "due_on"),
        # The reminders: open actions by deadline, completed ones by review date.
        Index("ix_corrective_action_state_due", "state", "due_on"),
        Index("ix_corrective_action_state_review", "state", "review_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
    step_id: Mapped[int] = mapped_column(ForeignKey("aftercare_step.id"), index=True)
    what: Mapped[str] = mapped_column(String(ACTION_WHAT_MAX))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    due_on: Mapped[date] = mapped_column(Date)  # the deadline: done by the end of this day
    # The item of the organisation's risk inventory and plan of action (RI&E), if it keeps one.
    risk_item: Mapped[str] = mapped_column(String(RISK_ITEM_MAX), default="")
    state: Mapped[ActionState] = mapped_column(
        _enum(ActionState, "action_state"), default=ActionState.OPEN
    )
    done_on: Mapped[date | None] = mapped_column(Date)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_note: Mapped[str] = mapped_column(String(ACTION_NOTE_MAX), default="")
    # Closed: whether it worked is asked on this day (done_on + ACTION_REVIEW_MONTHS).
    review_due_on: Mapped[date | None] = mapped_column(Date)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_result: Mapped[str] = mapped_column(String(16), default="")  # ReviewResult, or ""
    review_note: Mapped[str] = mapped_column(String(ACTION_NOTE_MAX), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancel_reason: Mapped[str] = mapped_column(String(ACTION_NOTE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Raised by every change: a form opened before another change is refused, not applied.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    # Overdue for long: told to the owner's own manager, once.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team: Mapped[Team | None] = relationship()
    step: Mapped[AftercareStep] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_open(self) -> bool:
        return self.state == ActionState.OPEN

    def is_overdue(self, day: date) -> bool:
        """Open after its deadline day."""
        return self.is_open and day > self.due_on

    def review_open(self, day: date) -> bool:
        """Done, and the day to ask whether it worked has come."""
        return (
            self.state == ActionState.DONE
            and self.review_due_on is not None
            and day >= self.review_due_on
        )
