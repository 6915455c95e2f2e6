"""Publishing the statistics of closed months: a month's incident counts are copied from the
running counts once it has ended and the delay has passed, and never change after that."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, insert, select

from incidents.extensions import db
from incidents.models import AuditAction, StatPublication, StatPublished, StatTally, User
from incidents.services.base import audit, transaction
from incidents.stats import queries
from incidents.stats.periods import add_months, first_open_month, month_key

# What describes the incidents themselves is frozen at publication; what the aftercare adds
# later (steps done, outcomes) is read live, for the incidents that were published.
FROZEN_MEASURES = ("team", "channel", "type", "team_channel", "place")


def _upsert_publication(month: str, now: datetime) -> bool:
    """Claim the month; False when another transaction published it already."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    claimed = db.session.execute(
        upsert(StatPublication)
        .values(month=month, published_at=now)
        .on_conflict_do_nothing(index_elements=["month"])
        .returning(StatPublication.month)
    ).first()
    return claimed is not None


def _first_open_month(now: datetime) -> date:
    config = current_app.config
    return first_open_month(now, config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"])


def _all_published(last: str | None, first_open: date) -> bool:
    """Every month before `first_open` is published, the last one being `last`."""
    return last is not None and last >= month_key(add_months(first_open, -1))


def publish_closed_months(now: datetime) -> list[str]:
    """Publish every closed month not yet published (in the caller's transaction); returns the
    months published. Cheap when there is nothing to do: one query."""
    first_open = _first_open_month(now)
    last = db.session.scalar(select(func.max(StatPublication.month)))
    if _all_published(last, first_open):
        return []
    if last is None:
        first = db.session.scalar(select(func.min(StatTally.month)))
        if first is None:
            return []
        month = datetime.strptime(first, "%Y-%m").date()
    else:
        month = add_months(datetime.strptime(last, "%Y-%m").date(), 1)
    published = []
    while month < first_open:
        key = month_key(month)
        if _upsert_publication(key, now):
            db.session.execute(
                insert(StatPublished).from_select(
                    ["measure", "month", "key", "level", "count"],
                    select(
                        StatTally.measure,
                        StatTally.month,
                        StatTally.key,
                        StatTally.level,
                        StatTally.count,
                    ).where(
                        StatTally.month == key,
                        StatTally.measure.in_(FROZEN_MEASURES),
                        StatTally.count != 0,
                    ),
                )
            )
            published.append(key)
        month = add_months(month, 1)
    return published


def record_request(actor: User, action: AuditAction, now: datetime, **details: object) -> None:
    """One statistics request (a page, a CSV file, a report): publish what has closed and put
    in the audit trail who asked for which figures, in one transaction."""
    with transaction():
        publish_closed_months(now)
        audit(actor, action, None, **details)


def record_shown(actor: User, action: AuditAction, **details: object) -> None:
    """Put in the audit trail who was shown which figures, once the page is made (after
    `publish`): its commit would expire what the page still reads."""
    with transaction():
        audit(actor, action, None, **details)


def publish(now: datetime) -> queries.State:
    """`publish_closed_months` as a transaction of its own (before reading figures), and the
    state of the publications after it (`queries.publications`), for the figures to be read
    under. With nothing to publish it commits nothing: what the request read stays loaded."""
    state = queries.publications()
    if _all_published(state[1], _first_open_month(now)):
        return state
    with transaction():
        publish_closed_months(now)
    return queries.publications()
