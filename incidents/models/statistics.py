"""Conversation counts and the running and published counts behind the statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, _enum, utcnow
from incidents.models.incident import Channel

if TYPE_CHECKING:
    from incidents.models.people import Team


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


class StatPublication(Model):
    """A month whose statistics were published (frozen): it had ended and the delay passed."""

    __tablename__ = "stat_publication"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatPublished(_StatRow, Model):
    """The incident counts of a published month as they were when it was published: later edits
    and late reports never move a published figure. Same rows as `StatTally`."""

    __tablename__ = "stat_published"


class StatVersion(Model):
    """How often what the statistics count from changed: one row, raised in the same transaction
    as every change to `stat_tally` or `conversation_count`, so a process may keep what it read
    from them under this number (`incidents.stats.memo`) until it moves."""

    __tablename__ = "stat_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
