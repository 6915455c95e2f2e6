"""The membership history (`TeamMembership`): kept in the same transaction as every change to
an account's team or to whether it is active, whichever service makes it, so the statistics can
take a unit's size as of a period."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, update
from sqlalchemy.orm import Session

from incidents.models import TeamMembership, User, utcnow


def _after_flush(session: Session, _context: Any) -> None:
    """Accounts written by this flush whose team or active state changed: close the current
    membership and open the next (an inactive account belongs nowhere)."""
    changed: list[User] = [obj for obj in session.new if isinstance(obj, User)]
    for obj in session.dirty:
        if isinstance(obj, User):
            state = inspect(obj)
            if any(
                state.attrs[name].history.has_changes() for name in ("team", "team_id", "active")
            ):
                changed.append(obj)
    if not changed:
        return
    now = utcnow()
    connection = session.connection()
    for user in changed:
        connection.execute(
            update(TeamMembership)
            .where(TeamMembership.user_id == user.id, TeamMembership.until.is_(None))
            .values(until=now)
        )
        if user.active:
            connection.execute(
                insert(TeamMembership).values(user_id=user.id, team_id=user.team_id, since=now)
            )


def init_session(session_class: type[Session]) -> None:
    """Keep the history for every session of this class."""
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
