"""Organisational measures: what the organisation changed to prevent aggression ("mobile alarm
buttons", "cameras off in the interview rooms", "a counter screen"), with the date it came in
and the part of the organisation it applies to, so the statistics can compare that part before
and after it with the rest of the organisation (`incidents.stats.learning`).

Not to be confused with measures against a perpetrator (`incidents.models.measures`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, Date, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from incidents.models.locations import Location
    from incidents.models.people import Team, User

ORG_MEASURE_TITLE_MAX = 120
ORG_MEASURE_DESCRIPTION_MAX = 2000
ORG_MEASURE_REASON_MAX = 200

org_measure_team = Table(
    "org_measure_team",
    Model.metadata,
    Column("measure_id", ForeignKey("org_measure.id"), primary_key=True),
    Column("team_id", ForeignKey("team.id"), primary_key=True),
)
org_measure_location = Table(
    "org_measure_location",
    Model.metadata,
    Column("measure_id", ForeignKey("org_measure.id"), primary_key=True),
    Column("location_id", ForeignKey("location.id"), primary_key=True),
)


class OrgMeasure(Model):
    """One organisational measure. Its scope is an intersection: the incidents of its teams
    (and their sub-teams), through its channels, at its locations; a part left empty means
    all of it. `used_at`: the first time its before/after figures were shown (a page, a CSV
    file, the yearly report); from then on it can be ended, never deleted."""

    __tablename__ = "org_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(ORG_MEASURE_TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    taken_on: Mapped[date] = mapped_column(Date, index=True)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(ORG_MEASURE_REASON_MAX), default="")
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # Channel values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(default=0, server_default="0")

    teams: Mapped[list[Team]] = relationship(secondary=org_measure_team, order_by="Team.id")
    locations: Mapped[list[Location]] = relationship(
        secondary=org_measure_location, order_by="Location.id"
    )
    created_by: Mapped[User | None] = relationship()

    @property
    def used(self) -> bool:
        return self.used_at is not None
