"""The statistics' running counts (`StatTally`), kept up to date in the same transaction as
the change they count.

Every figure HR sees is a sum over these rows, so the statistics page costs the same at ten
thousand incidents as at ten million. What an incident contributes is defined once, in SQL
(`_contributions`): `rebuild` runs it over all incidents, and every transaction runs it over
the incidents it touched, before and after the change, and adds the difference. So whatever
code changes an incident, its types or its steps through the ORM, the counts follow; code that
changes them with a bulk UPDATE calls `touch` first.

Measures (month = the incident's month in the organisation's time zone):
    team, channel, type   incidents by that dimension (key) and level
    decided               done steps by kind (key)
    outcome               done steps by "kind:outcome" (key): a step counts once per outcome
    police_known          police-report steps with a known police outcome
    done, done_on_time    done steps, and those done by their deadline
    first_contact         first contacts held, by tenths of an hour after the incident (key):
                          the precision the statistics show (coarser after 8 hours)
    open_due              open steps, by the UTC day of their deadline (key): those due before
                          today are overdue whatever the hour, so only today's are counted live
    team_channel          incidents by "team:channel" (key, level 0), for rates over the
                          teams and months that registered client conversations
    place                 incidents at a registered location (`Incident.location_id`), by
                          "location:team:channel" (key, level 0; team and channel "none" when
                          not known): with "team_channel", what `queries.in_scope` counts an
                          organisational measure's scope from. Incidents at no registered
                          location have no row, so a month's "place" rows sum to at most its
                          "team_channel" rows. Months published before this measure existed
                          got their "place" rows from the migration that added it
                          (7b2e5c1d9a30), counted from the incidents as they were then, and
                          frozen like the rest
    evidence              incidents with evidence, by level: at least one file that is still
                          there, was taken by retention, or was handed to the police
    evidence_police       incidents with a file handed to the police, by level (a subset of
                          "evidence")

What counts as evidence (`evidence_kept`): a file removed by a person that never went to the
police does not count (it was added by mistake, or was not evidence after all), so removing it
moves the figure back. A file taken by retention still counts, and so does one handed to the
police and removed later: retention must never move a figure, and the police had the file.

An incident counts once it is submitted, and only if it was submitted before its month was
published (the month's end plus `STATS_PUBLISH_DELAY_DAYS`): a late report is in the aftercare
and in everyone's lists, but never moves a published figure.

Every transaction that changes the counts, or the client conversation counts (through the ORM),
also raises the version in `stat_version` (`changed`): a process keeps what it read from both
under that number (`incidents.stats.memo`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, overload
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.elements import ColumnElement

from incidents.locks import lock_incidents
from incidents.models import (
    AftercareStep,
    Attachment,
    ConversationCount,
    Incident,
    IncidentStatus,
    IncidentTypeRow,
    StatTally,
    StatVersion,
    StepStatus,
)
from incidents.rules import StepKind
from incidents.stats.periods import closes_at

Key = tuple[str, str, str, int]  # measure, month, key, level
_TOUCHED = "tally.touched"  # session.info: ids of incidents whose "before" is counted
_BEFORE = "tally.before"  # session.info: their contributions before this transaction
_PENDING = "tally.pending"  # session.info: new incidents, whose ids the flush will give
_CONVERSATIONS = "tally.conversations"  # session.info: client conversation counts changed
_CHUNK = 500
# The removal reason of a file whose incident lost its personal data (`services.retention`);
# such a file has no one who removed it.
RETENTION_REMOVAL = "retention"


def org_month(moment: str | None, zone: str) -> str | None:
    """ "YYYY-MM" of a stored UTC moment in `zone` (SQLite's stored text form)."""
    if moment is None:
        return None
    if "02" <= moment[8:10] <= "27":  # no time zone is a day off: the UTC month it is
        return moment[:7]
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def _parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def in_time(occurred: str | None, submitted: str | None, zone: str, delay_days: int) -> int:
    """1 when a report (SQLite's stored text) came in before its month was published."""
    if occurred is None or submitted is None:
        return 1
    local = _parse(occurred).astimezone(ZoneInfo(zone))
    return int(_parse(submitted) < closes_at(date(local.year, local.month, 1), zone, delay_days))


def init_engine(engine: Engine, zone: str, delay_days: int) -> None:
    """Teach SQLite `org_month(moment)` and `in_time(occurred, submitted)`; PostgreSQL converts
    time zones itself."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _functions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(
            "org_month", 1, lambda moment: org_month(moment, zone), deterministic=True
        )
        dbapi_connection.create_function(
            "in_time",
            2,
            lambda occurred, submitted: in_time(occurred, submitted, zone, delay_days),
            deterministic=True,
        )


def month_of(column: Any, dialect: str, zone: str) -> Any:
    """ "YYYY-MM" of a moment in the organisation's time zone, in SQL."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(zone, column), "YYYY-MM")
    return func.org_month(column)


def reported_in_time(
    dialect: str,
    zone: str,
    delay_days: int,
    occurred: Any = Incident.occurred_at,
    submitted: Any = Incident.submitted_at,
) -> ColumnElement[bool]:
    """The report was submitted (or is not) before the month it counts in was published: the
    incident's month, or another moment's (`occurred`, an alarm's)."""
    if dialect == "postgresql":
        local_month = func.date_trunc("month", func.timezone(zone, occurred))
        closes = func.timezone(zone, local_month + func.make_interval(0, 1, 0, delay_days))
        return or_(submitted.is_(None), submitted < closes)
    return func.in_time(occurred, submitted) == 1


def _tenths_of_hours_after(later: Any, earlier: Any, dialect: str) -> Any:
    """Tenths of hours between two moments, as a key: exact up to 8 hours (a same-day
    contact), then to the half hour up to a day, the hour up to a week, and the day after
    that (the median a page shows is hours with one decimal; far-off values only need their
    side of it), so a month has a few hundred keys at most."""
    if dialect == "postgresql":
        tenths = func.extract("epoch", later - earlier) / 360.0
    else:
        tenths = (func.julianday(later) - func.julianday(earlier)) * 240.0
    rounded = case(
        (tenths < 80, func.round(tenths)),
        (tenths < 240, func.round(tenths / 5) * 5),
        (tenths < 1680, func.round(tenths / 10) * 10),
        else_=func.round(tenths / 240) * 240,
    )
    return cast(cast(rounded, Integer), String)


def _utc_day(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # stored as UTC text, "YYYY-MM-DD HH:MM:SS..."


def _outcome_values(dialect: str) -> Any:
    """The elements of a step's outcomes list, as a table joined to the step."""
    if dialect == "postgresql":
        return func.json_array_elements_text(AftercareStep.outcomes).table_valued("value")
    return func.json_each(AftercareStep.outcomes).table_valued("value")


def evidence_kept() -> ColumnElement[bool]:
    """An attachment that counts as evidence (see the module): there, taken by retention, or
    handed to the police."""
    return or_(
        Attachment.removed_at.is_(None),
        and_(Attachment.removed_by_id.is_(None), Attachment.removed_reason == RETENTION_REMOVAL),
        Attachment.handed_at.is_not(None),
    )


def _constant(value: str | int) -> Any:
    """A constant of this module's own written into the SQL rather than sent as a parameter:
    the statement a transaction runs stays short, and psycopg keeps its parsed form."""
    if isinstance(value, int):
        return literal_column(str(int(value)), Integer)
    if "'" in value or "\\" in value:
        raise ValueError(f"not a plain constant: {value!r}")
    return literal_column(f"'{value}'", String)


@overload
def _both(
    first: ColumnElement[bool] | None, second: ColumnElement[bool]
) -> ColumnElement[bool]: ...
@overload
def _both(
    first: ColumnElement[bool] | None, second: ColumnElement[bool] | None
) -> ColumnElement[bool] | None: ...
def _both(
    first: ColumnElement[bool] | None, second: ColumnElement[bool] | None
) -> ColumnElement[bool] | None:
    """Both conditions (either may be None: no condition)."""
    if first is None or second is None:
        return first if second is None else second
    return and_(first, second)


def _contributions(
    dialect: str, zone: str, delay_days: int, only: ColumnElement[bool] | None
) -> Any:
    """One SELECT of (measure, month, key, level, count) rows: what the incidents matching
    `only` (all incidents when None) contribute to the statistics.

    For all incidents (`rebuild`) each part reads the incident table, with the condition that
    makes an incident count. For a few (a transaction's), the incidents that count are read
    once, into a common table expression the parts read: a statement half as long, in which
    PostgreSQL looks each incident up once instead of once a part (SQLite looks them up in
    each part, by their ids, which is cheaper there than the copy it would make)."""
    counts = and_(
        Incident.status == IncidentStatus.SUBMITTED,
        Incident.occurred_at.is_not(None),
        reported_in_time(dialect, zone, delay_days),
    )
    counted: ColumnElement[bool] | None = counts  # what each part asks of its incidents
    table = Incident.__table__
    none = _constant("none")
    team = func.coalesce(cast(table.c.team_id, String), none)
    channel = func.coalesce(table.c.channel, none)
    derived = {
        "month": month_of(table.c.occurred_at, dialect, zone),
        "level": func.coalesce(table.c.level, 0),
        "team": team,
        "channel": channel,
        "team_channel": team + _constant(":") + channel,
    }
    source: Any = table
    if only is not None:
        source = (
            select(
                table.c.id,
                table.c.location_id,
                table.c.occurred_at,
                *(value.label(f"c_{name}") for name, value in derived.items()),
            )
            .where(counts, only)
            .cte("counted")
            # SQLite would read its copy of the rows with a Bloom filter built by a full
            # scan of the steps, in each part: it reads the incidents again in each instead.
            .prefix_with("NOT MATERIALIZED", dialect="sqlite")
        )
        derived = {name: source.c[f"c_{name}"] for name in derived}
        counted = None  # the expression holds only incidents that count
    incident = source.c
    # Labels no table has as a column: PostgreSQL reads GROUP BY names as columns first.
    month = derived["month"].label("t_month")
    level = derived["level"].label("t_level")
    done = _both(counted, AftercareStep.status == StepStatus.DONE)

    def incidents(
        measure: str,
        key: Any,
        *joins: Any,
        by_level: bool = True,
        where: ColumnElement[bool] | None = None,
    ) -> Any:
        of_level = level if by_level else _constant(0).label("t_level")
        query = select(_constant(measure).label("t_measure"), month, key.label("t_key"), of_level)
        query = query.select_from(source)
        for target, on in joins:
            query = query.join(target, on)
        query = query.add_columns(func.count().label("count"))
        condition = _both(counted, where)
        return query if condition is None else query.where(condition)

    def steps(measure: str, key: Any, where: ColumnElement[bool], *joins: Any) -> Any:
        query = (
            select(
                _constant(measure).label("t_measure"),
                month,
                key.label("t_key"),
                _constant(0).label("t_level"),
            )
            .select_from(AftercareStep)
            .join(source, incident.id == AftercareStep.incident_id)
        )
        for target, on in joins:
            query = query.join(target, on)
        return query.add_columns(func.count().label("count")).where(where)

    def with_files(measure: str, which: ColumnElement[bool]) -> Any:
        """Incidents with at least one attachment that is `which`, by level."""
        return (
            select(
                _constant(measure).label("t_measure"), month, _constant("").label("t_key"), level
            )
            .select_from(source)
            .add_columns(func.count().label("count"))
            .where(_both(counted, exists().where(Attachment.incident_id == incident.id, which)))
        )

    outcome = _outcome_values(dialect)
    parts = [
        incidents("team", derived["team"]),
        incidents("channel", derived["channel"]),
        incidents(
            "team_channel",
            derived["team_channel"],
            by_level=False,  # only for rates: no level needed, a quarter of the rows
        ),
        incidents(
            "place",
            cast(incident.location_id, String) + _constant(":") + derived["team_channel"],
            by_level=False,  # only for comparing scopes, as "team_channel"
            where=incident.location_id.is_not(None),
        ),
        incidents(
            "type",
            IncidentTypeRow.type,
            (IncidentTypeRow, IncidentTypeRow.incident_id == incident.id),
        ),
        steps("decided", AftercareStep.kind, done),
        steps(
            "outcome",
            AftercareStep.kind + _constant(":") + outcome.c.value,
            done,
            (outcome, true()),
        ),
        steps(
            "police_known",
            _constant(""),
            _both(
                counted,
                and_(
                    AftercareStep.kind == StepKind.POLICE_REPORT,
                    AftercareStep.police_outcome.is_not(None),  # "" once anonymised: known
                ),
            ),
        ),
        steps("done", _constant(""), done),
        steps(
            "done_on_time", _constant(""), and_(done, AftercareStep.done_at <= AftercareStep.due_at)
        ),
        steps(
            "first_contact",
            _tenths_of_hours_after(AftercareStep.done_at, incident.occurred_at, dialect),
            and_(done, AftercareStep.kind == "contact", AftercareStep.repeat_of_id.is_(None)),
        ),
        steps(
            "open_due",
            _utc_day(AftercareStep.due_at, dialect),
            _both(counted, AftercareStep.status == StepStatus.OPEN),
        ),
        with_files("evidence", evidence_kept()),
        with_files("evidence_police", Attachment.handed_at.is_not(None)),
    ]
    grouped = [part.group_by("t_month", "t_key", "t_level") for part in parts]
    return union_all(*grouped)


def _settings(connection: Connection) -> tuple[str, str, int]:
    config = current_app.config
    return connection.dialect.name, config["ORG_TIMEZONE"], config["STATS_PUBLISH_DELAY_DAYS"]


@functools.lru_cache(maxsize=8)
def _of_some(dialect: str, zone: str, delay_days: int) -> Any:
    """`_contributions` of the incidents in the list parameter "ids", built once: building
    it costs more than running it for one incident."""
    return _contributions(
        dialect, zone, delay_days, Incident.id.in_(bindparam("ids", expanding=True))
    )


def count(connection: Connection, incident_ids: Iterable[int]) -> Counter[Key]:
    """What these incidents contribute now."""
    query = _of_some(*_settings(connection))
    ids = sorted(set(incident_ids))
    total: Counter[Key] = Counter()
    for start in range(0, len(ids), _CHUNK):
        for measure, month, key, level, n in connection.execute(
            query, {"ids": ids[start : start + _CHUNK]}
        ):
            total[(measure, month, str(key), int(level))] += n
    return total


def add(connection: Connection, delta: dict[Key, int]) -> None:
    """Add `delta` to the running counts (rows are made as needed)."""
    rows = [
        {"measure": m, "month": month, "key": key, "level": level, "count": n}
        for (m, month, key, level), n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    connection.execute(_added(_upsert(connection)(StatTally)), rows)
    changed(connection)


def add_counted(connection: Connection, incident_ids: Iterable[int]) -> None:
    """Add what these incidents contribute now to the running counts, in the database: for
    incidents that contributed nothing before (a new report), without reading the rows."""
    statement = _add_of_some(*_settings(connection))
    ids = sorted(set(incident_ids))
    added = 0
    for start in range(0, len(ids), _CHUNK):
        result = connection.execute(statement, {"ids": ids[start : start + _CHUNK]})
        added += result.rowcount or 0
    if added:
        changed(connection)


@functools.lru_cache(maxsize=8)
def _add_of_some(dialect: str, zone: str, delay_days: int) -> Any:
    """`add_counted`'s statement, built once (as `_of_some`)."""
    query = _of_some(dialect, zone, delay_days).subquery()
    rows = select(
        query.c.t_measure, query.c.t_month, query.c.t_key, query.c.t_level, query.c.count
    ).where(true())  # SQLite: without a WHERE, its ON CONFLICT would read as a join's ON
    upsert = _upsert_for(dialect)
    return _added(
        upsert(StatTally).from_select(["measure", "month", "key", "level", "count"], rows)
    )


def _added(statement: Any) -> Any:
    """An INSERT into the running counts that adds to a row already there."""
    return statement.on_conflict_do_update(
        index_elements=["measure", "month", "key", "level"],
        set_={"count": StatTally.count + statement.excluded.count},
    )


def _upsert(connection: Connection) -> Any:
    return _upsert_for(connection.dialect.name)


def _upsert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert


def changed(connection: Connection) -> None:
    """Raise the version of what the statistics count from (the running counts, and the client
    conversations), in the transaction that changed it. It waits for another such transaction
    to end, as the running counts of the same month already make it."""
    statement = _upsert(connection)(StatVersion).values(id=1, changes=1)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"changes": StatVersion.changes + 1}
        )
    )


def version(connection: Connection) -> int:
    """The version of the running counts and the conversations: it moves with every change."""
    return int(connection.scalar(select(StatVersion.changes).where(StatVersion.id == 1)) or 0)


def rebuild(connection: Connection) -> int:
    """Recount everything from the incidents (after a restore, or to check the running
    counts); returns the number of rows written. The caller commits."""
    connection.execute(delete(StatTally))
    rows = _contributions(*_settings(connection), None).subquery()
    result = connection.execute(
        insert(StatTally).from_select(
            ["measure", "month", "key", "level", "count"],
            select(rows.c.t_measure, rows.c.t_month, rows.c.t_key, rows.c.t_level, rows.c.count),
        )
    )
    changed(connection)
    return int(result.rowcount or 0)


def stored(connection: Connection) -> Counter[Key]:
    """The running counts as they are (zero rows left out), for checks and tests."""
    return Counter(
        {
            (row.measure, row.month, row.key, row.level): row.count
            for row in connection.execute(select(StatTally).where(StatTally.count != 0))
        }
    )


def drift(connection: Connection) -> dict[Key, tuple[int, int]]:
    """The running counts that differ from a full recount: key -> (kept, recounted).
    Leaves the counts as they were."""
    kept = stored(connection)
    rebuild(connection)
    recounted = stored(connection)
    connection.rollback()
    keys = kept.keys() | recounted.keys()
    return {key: (kept[key], recounted[key]) for key in sorted(keys) if kept[key] != recounted[key]}


# Keeping the counts up to date: the session remembers which incidents a transaction touches
# and what they contributed before; just before the commit it adds the difference.


def touch(session: Session | scoped_session[Any], incident_ids: Iterable[int]) -> None:
    """Count what these incidents contribute before this transaction changes them (needed
    only before a bulk UPDATE; ORM changes are noticed by themselves)."""
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    new = {i for i in incident_ids if i is not None and i not in touched}
    if not new:
        return
    touched.update(new)
    lock_incidents(session, new)  # a concurrent change to them waits, or is counted already
    before: Counter[Key] = session.info.setdefault(_BEFORE, Counter())
    before.update(count(session.connection(), new))


def _incident_of(obj: Any) -> tuple[int | None, Incident | None]:
    """The incident an ORM object belongs to: its id, or the pending incident itself."""
    if isinstance(obj, Incident):
        return obj.id, obj
    if isinstance(obj, AftercareStep | IncidentTypeRow | Attachment):
        if obj.incident_id is not None:
            return obj.incident_id, None
        incident = obj.incident
        if incident is not None and incident.id is not None:
            return incident.id, None
        return None, incident
    return None, None


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ConversationCount):
            session.info[_CONVERSATIONS] = True  # the version moves at the commit
            continue
        incident_id, incident = _incident_of(obj)
        if incident_id is not None:
            ids.add(incident_id)
        elif incident is not None:
            session.info.setdefault(_PENDING, []).append(incident)
    if ids:
        touch(session, ids)


def _after_flush(session: Session, _context: Any) -> None:
    """New incidents have their ids now: they contributed nothing before this transaction,
    so a later flush must not take what this one wrote for their "before"."""
    pending: list[Incident] = session.info.pop(_PENDING, [])
    if pending:
        touched: set[int] = session.info.setdefault(_TOUCHED, set())
        touched.update(incident.id for incident in pending if incident.id is not None)


def _before_commit(session: Session) -> None:
    session.flush()  # what is still unflushed is noticed here (the commit would flush it too)
    ids: set[int] = session.info.pop(_TOUCHED, set())
    before: Counter[Key] = session.info.pop(_BEFORE, Counter())
    if session.info.pop(_CONVERSATIONS, False):
        changed(session.connection())
    if not ids:
        return
    connection = session.connection()
    if not before:
        add_counted(connection, ids)  # they counted for nothing: the difference is all
        return
    after = count(connection, ids)
    add(connection, {key: after[key] - before[key] for key in after.keys() | before.keys()})


def _forget(session: Session, *_args: Any) -> None:
    for name in (_TOUCHED, _BEFORE, _PENDING, _CONVERSATIONS):
        session.info.pop(name, None)


def init_session(session_class: type[Session]) -> None:
    """Keep the counts for every session of this class."""
    if event.contains(session_class, "before_commit", _before_commit):
        return
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "after_flush_postexec", _after_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)
