"""Shared pieces of the models: aware UTC moments, portable enums, the declarative base."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    DateTime,
    Enum,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

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


def _enum(cls: type[enum.Enum], name: str, *, constrained: bool = True) -> Enum:
    """Store an enum by its value, as a portable string with a check constraint (unless
    `constrained` is False: a set that may grow, checked by the code that writes it)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=constrained,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
