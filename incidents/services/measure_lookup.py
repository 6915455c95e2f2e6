"""The lookup at the counter: is a measure in force for the citizen in front of me?

A front-office employee (`access.may_look_up`) types a client reference or part of a name and
sees, for each measure in force today, only the citizen's name and reference, the end date and
what the measure means at the counter (the kind's `rule`; for "one named contact person" also
who that is). Never the incidents, the reason, who proposed or approved it, or the measures
that ended: they leave the lookup on their end date, whether or not the daily run has been.

Rules (a refusal is an `InvalidInput` on the `query` field; nothing is looked up or stored):
- At least `QUERY_MIN` characters once trimmed, with at least one letter or digit: wildcards
  and punctuation alone find nothing. What is typed is compared literally (a `%` or `_` is
  no wildcard), with case, accents and spacing ignored (`lookup_key`).
- A reference matches whole; a name matches on any part of it.
- At most `MATCHES_MAX` lines; one more is fetched to say "type more".

Every valid lookup, with or without a match, is recorded in one transaction: an audit event
(how many measures it showed and which, never what was typed) and a `MeasureLookup` row with
the team of who looked, for the privacy officer's counts per team and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from incidents import access
from incidents.extensions import current_protocol, db
from incidents.models import (
    CITIZEN_NAME_MAX,
    AuditAction,
    Measure,
    MeasureLookup,
    MeasureState,
    User,
    lookup_key,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, audit, transaction
from incidents.services.measures import today

QUERY_MIN = 3
QUERY_MAX = CITIZEN_NAME_MAX
MATCHES_MAX = 10
FIELD = "query"


@dataclass(frozen=True)
class LookupLine:
    """One measure in force, as the counter sees it: nothing more than this."""

    citizen_name: str
    citizen_reference: str
    ends_on: date
    rule: str  # what it means at the counter, in the reader's language
    contact_person: str | None  # "one named contact person": their name


@dataclass(frozen=True)
class LookupResult:
    lines: list[LookupLine]
    more: bool  # more than MATCHES_MAX measures matched: type more


def query_error(text: str) -> str | None:
    """Why this search is refused, or None when it may be looked up."""
    key = lookup_key(text)
    if len(key) < QUERY_MIN:
        return ngettext(
            "Type at least %(num)s character of the name or the client reference.",
            "Type at least %(num)s characters of the name or the client reference.",
            QUERY_MIN,
        )
    if len(text) > QUERY_MAX:
        return ngettext(
            "Type at most %(num)s character.", "Type at most %(num)s characters.", QUERY_MAX
        )
    if not any(c.isalnum() for c in key):
        return _("Type letters or digits: wildcards and punctuation alone find nothing.")
    return None


def in_force_on(day: date) -> tuple[ColumnElement[bool], ...]:
    """In SQL, what `Measure.in_force_on(day)` says: approved, started and not ended (the
    stored state may lag behind the daily run), and not anonymised."""
    return (
        Measure.state.in_((MeasureState.APPROVED, MeasureState.IN_FORCE)),
        Measure.starts_on <= day,
        Measure.ends_on >= day,
        Measure.anonymised_at.is_(None),
    )


def look_up(actor: User, text: str, language: str, now: datetime | None = None) -> LookupResult:
    """The measures in force today for a reference or part of a name, recorded as a lookup
    (see the module's rules)."""
    if not access.may_look_up(actor):
        raise ServiceError(_("You may not look up measures."))
    error = query_error(text)
    if error is not None:
        raise InvalidInput({FIELD: error})
    now = now or utcnow()
    day = today(now)
    key = lookup_key(text)
    with transaction():
        found = db.session.scalars(
            select(Measure)
            .options(selectinload(Measure.contact_person))
            .where(
                *in_force_on(day),
                or_(
                    Measure.reference_key == key,
                    Measure.name_key.contains(key, autoescape=True),
                ),
            )
            .order_by(Measure.name_key, Measure.reference_key, Measure.ends_on, Measure.id)
            .limit(MATCHES_MAX + 1)
        ).all()
        shown = [m for m in found if m.in_force_on(day)][:MATCHES_MAX]
        ids = [m.id for m in shown]
        audit(actor, AuditAction.MEASURE_LOOKUP, matches=len(ids), measures=ids)
        db.session.add(
            MeasureLookup(at=now, user_id=actor.id, team_id=actor.team_id, matches=len(ids))
        )
        lines = [_line(m, language) for m in shown]
    return LookupResult(lines=lines, more=len(found) > MATCHES_MAX)


def _line(measure: Measure, language: str) -> LookupLine:
    kind = current_protocol().measure_kind(measure.kind)
    person = measure.contact_person
    return LookupLine(
        citizen_name=measure.citizen_name,
        citizen_reference=measure.citizen_reference,
        ends_on=measure.ends_on,
        # A kind the protocol no longer has: its id, so the counter still sees that one holds.
        rule=kind.rule(language) if kind is not None else measure.kind,
        contact_person=person.name if person is not None and kind and kind.contact_person else None,
    )
