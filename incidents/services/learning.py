"""Organisational measures: recording what the organisation changed, ending it, and keeping
what a report has used.

Rules (each refusal is a `ServiceError` naming its field; nothing is stored):
- A measure has a title (3 to 120 characters), a date (from 2000 on; a date in the future is
  allowed: the measure is announced, and compared once its windows have closed), an optional
  description, and a scope: teams (with their sub-teams), channels and registered locations.
  A scope left wholly empty is the whole organisation: it is recorded, but has no comparison
  group, so it is not compared.
- Once its figures have been shown (`used_at`: a page, a CSV file or the yearly report
  showed its before/after comparison), its date and scope are fixed and it cannot be deleted:
  the published figures rest on them. It can still be renamed, described, and ended.
- Ending takes a date on or after the measure's date and a reason.
- Every change checks the revision its form was opened at, in the UPDATE itself, so two
  changes at once give one change and a message; deleting is one conditional DELETE, so a
  report that marks the measure used and a deletion at the same moment never both succeed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, select, update

from incidents.extensions import db, org_zone
from incidents.models import (
    ORG_MEASURE_DESCRIPTION_MAX,
    ORG_MEASURE_REASON_MAX,
    ORG_MEASURE_TITLE_MAX,
    AuditAction,
    Channel,
    Location,
    OrgMeasure,
    Team,
    User,
    org_measure_location,
    org_measure_team,
    utcnow,
)
from incidents.services.base import InvalidInput, ServiceError, audit, transaction
from incidents.stats import learning as compared

TITLE_MIN = 3
REASON_MIN = 5
EARLIEST = date(2000, 1, 1)
AHEAD_YEARS = 2  # a measure is announced at most two years ahead
CHANNELS = tuple(c.value for c in Channel)


def today(now: datetime | None = None) -> date:
    """Today in the organisation's time zone."""
    return (now or utcnow()).astimezone(org_zone()).date()


@dataclass
class MeasureInput:
    """What HR or an admin fills in (the form's data, checked here)."""

    title: str
    taken_on: date | None
    description: str = ""
    teams: list[int] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    locations: list[int] = field(default_factory=list)


def _errors(data: MeasureInput, day: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not TITLE_MIN <= len(data.title.strip()) <= ORG_MEASURE_TITLE_MAX:
        errors["title"] = ngettext(
            "Give the measure a name (%(min)s to %(num)s character).",
            "Give the measure a name (%(min)s to %(num)s characters).",
            ORG_MEASURE_TITLE_MAX,
            min=TITLE_MIN,
        )
    if len(data.description.strip()) > ORG_MEASURE_DESCRIPTION_MAX:
        errors["description"] = ngettext(
            "The description is at most %(num)s character.",
            "The description is at most %(num)s characters.",
            ORG_MEASURE_DESCRIPTION_MAX,
        )
    latest = date(day.year + AHEAD_YEARS, day.month, min(day.day, 28))
    if data.taken_on is None:
        errors["taken_on"] = _("Enter the date the measure came in.")
    elif not EARLIEST <= data.taken_on <= latest:
        errors["taken_on"] = _(
            "Enter a date from 2000 on, at most two years ahead (a measure can be announced)."
        )
    if set(data.channels) - set(CHANNELS):
        errors["channels"] = _("Choose channels from the list.")
    if data.teams:
        found = set(db.session.scalars(select(Team.id).where(Team.id.in_(data.teams))))
        if found != set(data.teams):
            errors["teams"] = _("Choose teams from the list.")
    if data.locations:
        found = set(db.session.scalars(select(Location.id).where(Location.id.in_(data.locations))))
        if found != set(data.locations):
            errors["locations"] = _("Choose locations from the list.")
    return errors


def _scope(measure: OrgMeasure, data: MeasureInput) -> None:
    measure.teams = list(db.session.scalars(select(Team).where(Team.id.in_(data.teams))))
    measure.locations = list(
        db.session.scalars(select(Location).where(Location.id.in_(data.locations)))
    )
    measure.channels = [c for c in CHANNELS if c in data.channels]


def scope_of(measure: OrgMeasure) -> dict[str, list[int] | list[str]]:
    """The scope as stored ids and values, for the audit trail and for comparing."""
    return {
        "teams": sorted(t.id for t in measure.teams),
        "channels": list(measure.channels),
        "locations": sorted(loc.id for loc in measure.locations),
    }


def record(actor: User, data: MeasureInput, now: datetime | None = None) -> OrgMeasure:
    """Record a measure taken (or announced)."""
    now = now or utcnow()
    with transaction():
        errors = _errors(data, today(now))
        if errors:
            raise InvalidInput(errors)
        assert data.taken_on is not None  # noqa: S101 - checked above
        measure = OrgMeasure(
            title=data.title.strip(),
            description=data.description.strip(),
            taken_on=data.taken_on,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
            channels=[],
        )
        _scope(measure, data)
        db.session.add(measure)
        db.session.flush()
        audit(actor, AuditAction.ORG_MEASURE_CREATE, measure, **scope_of(measure))
    return measure


def _claim(measure_id: int, revision: int, now: datetime) -> OrgMeasure:
    """Raise the revision the form was opened at, or refuse: changed meanwhile, or gone."""
    claimed = db.session.execute(  # type: ignore[attr-defined]
        update(OrgMeasure)
        .where(OrgMeasure.id == measure_id, OrgMeasure.revision == revision)
        .values(revision=revision + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise ServiceError(
            _(
                "Someone changed or deleted this measure while you were looking at it. Look at"
                " it again, then make your change."
            )
        )
    measure = db.session.get(OrgMeasure, measure_id, populate_existing=True)
    assert measure is not None  # noqa: S101 - the update found it
    return measure


def change(
    actor: User, measure_id: int, revision: int, data: MeasureInput, now: datetime | None = None
) -> OrgMeasure:
    """Change a measure; once it was used, only its name and description."""
    now = now or utcnow()
    with transaction():
        errors = _errors(data, today(now))
        if errors:
            raise InvalidInput(errors)
        measure = _claim(measure_id, revision, now)
        before = {"taken_on": measure.taken_on.isoformat(), **scope_of(measure)}
        after = {
            "taken_on": data.taken_on.isoformat() if data.taken_on else "",
            "teams": sorted(set(data.teams)),
            "channels": [c for c in CHANNELS if c in data.channels],
            "locations": sorted(set(data.locations)),
        }
        if measure.used and after != before:
            raise ServiceError(
                _(
                    "Figures of this measure have been published, so its date and scope stay as"
                    " they are. End it, and record the changed measure as a new one."
                ),
                "taken_on",
            )
        assert data.taken_on is not None  # noqa: S101 - checked above
        measure.title = data.title.strip()
        measure.description = data.description.strip()
        measure.taken_on = data.taken_on
        _scope(measure, data)
        changed = {name: after[name] for name in after if after[name] != before[name]}
        audit(actor, AuditAction.ORG_MEASURE_CHANGE, measure, **changed)
    return measure


def end(
    actor: User,
    measure_id: int,
    revision: int,
    ended_on: date | None,
    reason: str,
    now: datetime | None = None,
) -> OrgMeasure:
    """End a measure (it stays on record, with its figures)."""
    now = now or utcnow()
    with transaction():
        errors: dict[str, str] = {}
        if ended_on is None:
            errors["ended_on"] = _("Enter the date the measure ended.")
        if not REASON_MIN <= len(reason.strip()) <= ORG_MEASURE_REASON_MAX:
            errors["reason"] = ngettext(
                "Say why in a few words (%(min)s to %(num)s character).",
                "Say why in a few words (%(min)s to %(num)s characters).",
                ORG_MEASURE_REASON_MAX,
                min=REASON_MIN,
            )
        if errors:
            raise InvalidInput(errors)
        measure = _claim(measure_id, revision, now)
        assert ended_on is not None  # noqa: S101 - checked above
        if measure.ended_on is not None:
            raise ServiceError(_("This measure has ended already."))
        if ended_on < measure.taken_on:
            raise ServiceError(_("A measure ends on or after the day it came in."), "ended_on")
        if ended_on > today(now):
            raise ServiceError(_("Enter today or a day before."), "ended_on")
        measure.ended_on = ended_on
        measure.end_reason = reason.strip()
        audit(actor, AuditAction.ORG_MEASURE_END, measure, ended_on=ended_on.isoformat())
    return measure


def delete_measure(actor: User, measure_id: int, revision: int) -> None:
    """Delete a measure recorded by mistake: only while no figures of it were shown."""
    with transaction():
        measure = db.session.get(OrgMeasure, measure_id)
        if measure is None:
            raise ServiceError(_("This measure no longer exists."))
        if measure.used:
            raise ServiceError(_used_message())
        title = measure.title
        # Its scope first (rolled back with the rest when the measure turns out to be used).
        for link in (org_measure_team, org_measure_location):
            db.session.execute(delete(link).where(link.c.measure_id == measure_id))
        # One conditional statement: a report marking it used at the same moment wins or loses
        # as a whole (see `mark_used`).
        gone = db.session.execute(  # type: ignore[attr-defined]
            delete(OrgMeasure)
            .where(
                OrgMeasure.id == measure_id,
                OrgMeasure.revision == revision,
                OrgMeasure.used_at.is_(None),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if not gone:
            raise ServiceError(
                _used_message()
                if db.session.scalar(select(OrgMeasure.used_at).where(OrgMeasure.id == measure_id))
                else _("Someone changed this measure while you were looking at it. Look again.")
            )
        db.session.expunge(measure)
        audit(actor, AuditAction.ORG_MEASURE_DELETE, None, measure=measure_id, title=title)


def _used_message() -> str:
    return _(
        "Figures of this measure have been shown on the statistics or in a report, so it"
        " cannot be deleted. End it instead."
    )


def mark_used(measure_ids: Iterable[int], now: datetime) -> list[int]:
    """Mark measures whose figures are about to be shown (in the request's transaction, before
    they are read for the figures); returns those that still exist: a measure deleted a moment
    ago is not shown."""
    ids = sorted(set(measure_ids))
    if not ids:
        return []
    db.session.execute(
        update(OrgMeasure)
        .where(OrgMeasure.id.in_(ids), OrgMeasure.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return list(
        db.session.scalars(
            select(OrgMeasure.id).where(OrgMeasure.id.in_(ids)).order_by(OrgMeasure.id)
        )
    )


def all_measures() -> Sequence[OrgMeasure]:
    """Every measure, the newest first (an organisation records a handful a year)."""
    return db.session.scalars(
        select(OrgMeasure).order_by(OrgMeasure.taken_on.desc(), OrgMeasure.id.desc())
    ).all()


def measures_between(first: date, last: date) -> Sequence[OrgMeasure]:
    """The measures that came in from `first` to `last` (both included), oldest first."""
    return db.session.scalars(
        select(OrgMeasure)
        .where(OrgMeasure.taken_on >= first, OrgMeasure.taken_on <= last)
        .order_by(OrgMeasure.taken_on, OrgMeasure.id)
    ).all()


def scope_names(measure: OrgMeasure) -> dict[str, list[str]]:
    """The scope in words, in the request's language: team, channel and location names; a
    part left empty is missing (all of it)."""
    from flask_babel import get_locale

    from incidents.labels import CHANNEL_LABELS

    language = str(get_locale() or "nl")
    names: dict[str, list[str]] = {}
    if measure.teams:
        names["teams"] = [team.name(language) for team in measure.teams]
    if measure.channels:
        names["channels"] = [str(CHANNEL_LABELS[Channel(c)]) for c in measure.channels]
    if measure.locations:
        names["locations"] = [location.name for location in measure.locations]
    return names


def shown_comparison(
    actor: User, measure: OrgMeasure, months: int, now: datetime, action: AuditAction
) -> compared.Comparison | None:
    """A measure's comparison as a page or a CSV file shows it: the closed months published
    first, the request audited, and the measure marked used when it has figures, in the
    same transaction, before they are shown. None: the measure was deleted meanwhile."""
    from incidents.services.statistics import publish

    publish(now)
    found = compared.compare(measure, months, now)
    with transaction():
        audit(actor, action, None, measure=measure.id, months=found.months)
        if found.shown and not mark_used([measure.id], now):
            return None
    return found


def report_comparisons(year: int, now: datetime) -> list[compared.Comparison]:
    """The yearly report's measures: those that came in during the year or the year before
    (whose 12 months after may now be published), each compared; those with figures are
    marked used before they are shown, and one deleted meanwhile is left out."""
    found = compared.comparisons(measures_between(date(year - 1, 1, 1), date(year, 12, 31)), now)
    with transaction():
        kept = set(mark_used([c.measure.id for c in found if c.shown], now))
    return [c for c in found if not c.shown or c.measure.id in kept]
