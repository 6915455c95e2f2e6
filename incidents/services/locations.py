"""The register of locations whose posters open the quick log: add, rename, change the channel,
archive and restore. Each call is one transaction with its audit event.

A location's code is made once, at random, and never changes: it is what the printed QR code
holds, so a poster stays right whatever the location is called later.
"""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from incidents.extensions import db
from incidents.models import (
    LOCATION_CODE_ALPHABET,
    LOCATION_CODE_LENGTH,
    LOCATION_NAME_MAX,
    AuditAction,
    Channel,
    Location,
    User,
    location_name_key,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, apply_changes, audit, transaction

# A new code that is taken already (about one in 10^11 per location) is drawn again.
CODE_ATTEMPTS = 5


def new_code() -> str:
    """A fresh random poster code from the unambiguous alphabet."""
    return "".join(secrets.choice(LOCATION_CODE_ALPHABET) for _ in range(LOCATION_CODE_LENGTH))


def _clean_name(name: str) -> str:
    """The name as shown on the poster: single spaces, nothing around it."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput({"name": _("Enter the location's name.")})
    if len(cleaned) > LOCATION_NAME_MAX:
        raise InvalidInput(
            {
                "name": ngettext(
                    "Keep the name under %(num)s character.",
                    "Keep the name under %(num)s characters.",
                    LOCATION_NAME_MAX,
                )
            }
        )
    return cleaned


def _name_taken(name: str, other_than: Location | None = None) -> InvalidInput | None:
    """The refusal when an active location (other than `other_than`) has this name."""
    query = select(Location.id).where(Location.name_key == location_name_key(name))
    if other_than is not None:
        query = query.where(Location.id != other_than.id)
    if db.session.scalar(query) is None:
        return None
    return InvalidInput({"name": _("An active location is already called “%(name)s”.", name=name)})


def location_id_for(place: str) -> int | None:
    """The active location that `place` (an incident's location text) names, or None.

    Called whenever an incident's location text is saved (`services.reporting`,
    `services.alarms`), never again for incidents saved earlier: a location renamed or
    archived later keeps the incidents it had, so its counts do not move."""
    key = location_name_key(place)
    if not key:
        return None
    with db.session.no_autoflush:  # a new incident is written once, when it is complete
        return db.session.scalar(select(Location.id).where(Location.name_key == key))


def _unused_code() -> str:
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code()
        if db.session.scalar(select(Location.id).where(Location.code == code)) is None:
            return code
    raise RuntimeError("no unused location code found")  # pragma: no cover - 10^-55


def create_location(actor: User | None, *, name: str, channel: Channel) -> Location:
    """Add a location with a new code; its name must differ from every active location's."""
    name = _clean_name(name)
    try:
        with transaction():
            taken = _name_taken(name)
            if taken is not None:
                raise taken
            location = Location(
                code=_unused_code(), name=name, name_key=location_name_key(name), channel=channel
            )
            db.session.add(location)
            db.session.flush()
            audit(actor, AuditAction.LOCATION_CREATE, location, code=location.code)
    except IntegrityError:
        # Another admin added the same name a moment ago: theirs stands.
        taken = _name_taken(name)
        if taken is None:
            raise
        raise taken from None
    return location


def update_location(
    actor: User | None, location: Location, *, name: str, channel: Channel
) -> list[str]:
    """Rename a location or change its channel; returns what changed. The code stays, so its
    posters keep working. An archived location keeps its name out of the active names."""
    name = _clean_name(name)
    location_id = location.id
    try:
        with transaction():
            if location.active:
                taken = _name_taken(name, other_than=location)
                if taken is not None:
                    raise taken
            changed = apply_changes(location, {"name": name, "channel": channel})
            if location.active:
                location.name_key = location_name_key(name)
            if changed:
                audit(actor, AuditAction.LOCATION_UPDATE, location, fields=changed)
    except IntegrityError:
        found = db.session.get(Location, location_id)
        taken = _name_taken(name, other_than=found)
        if taken is None:
            raise
        raise taken from None
    return changed


def set_location_archived(actor: User | None, location: Location, archived: bool) -> None:
    """Archive a location (its posters then fill in nothing; incidents keep the name they
    were logged with) or restore it (refused while an active one has its name)."""
    location_id = location.id
    try:
        with transaction():
            if archived == (not location.active):
                return
            if archived:
                location.archived_at = utcnow()
                location.name_key = None
            else:
                taken = _name_taken(location.name, other_than=location)
                if taken is not None:
                    raise ServiceError(taken.message)
                location.archived_at = None
                location.name_key = location_name_key(location.name)
            audit(
                actor,
                AuditAction.LOCATION_ARCHIVE if archived else AuditAction.LOCATION_RESTORE,
                location,
            )
    except IntegrityError:
        found = db.session.get(Location, location_id)
        if found is None:
            raise
        taken = _name_taken(found.name, other_than=found)
        if taken is None:
            raise
        raise ServiceError(taken.message) from None
