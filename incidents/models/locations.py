"""The register of locations: counters, interview rooms, teams that visit people at home. Each
has a poster with a QR code that opens the quick log with the channel and the place filled in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models.base import Model, UTCDateTime, _enum, utcnow
from incidents.models.incident import Channel

LOCATION_NAME_MAX = 120
# The poster's code: short, typed from paper at a pinch, so no 0/o, 1/l/i look-alikes.
LOCATION_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LOCATION_CODE_LENGTH = 8


class Location(Model):
    """A place staff work at, as the organisation names it ("Counter hall", "Interview room 2").

    The QR code on its poster carries `code`, which never changes: renaming the location or
    changing its channel does not make printed posters wrong. Archived locations keep their
    row (their code then fills in nothing); `name_key` makes a name unique among the active
    ones only, so an archived name can be used again."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(LOCATION_NAME_MAX))
    # The name folded (case and spaces) while the location is active; NULL once archived.
    # NULLs never collide, so a plain unique constraint does what a partial index would.
    name_key: Mapped[str | None] = mapped_column(String(LOCATION_NAME_MAX), unique=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.archived_at is None


def location_name_key(name: str) -> str:
    """What makes two names the same location: case and runs of spaces do not count."""
    return " ".join(name.split()).casefold()


def normalised_location_code(text: str) -> str | None:
    """`text` as a poster code (codes are read in any case, around spaces), or None when it
    cannot be one: anything else is never looked up."""
    code = text.strip().lower()
    if len(code) != LOCATION_CODE_LENGTH or set(code) - set(LOCATION_CODE_ALPHABET):
        return None
    return code
