"""incident: the registered location, and the statistics' "place" counts

`incident.location_id`: the active location whose name the incident's place is (names folded
as `incidents.models.locations.location_name_key` folds them), filled in for the incidents
there are. The statistics gain the measure "place" (incidents by "location:team:channel"):
its running counts are written here from the incidents as they are, and so are the frozen
counts of the months published already (they have no other source), so no `flask stats
rebuild` is needed. A month published before this upgrade therefore counts its places as the
incidents were at the upgrade, its other measures as they were at its publication.

Revision ID: 7b2e5c1d9a30
Revises: 061db8803e6f
Create Date: 2026-12-10 09:00:00

"""
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '7b2e5c1d9a30'
down_revision = '061db8803e6f'
branch_labels = None
depends_on = None


def _name_key(name):
    """incidents.models.locations.location_name_key, as it was when this was written."""
    return " ".join(name.split()).casefold()


def _moment(value):
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _closes_at(month, zone, delay_days):
    """incidents.stats.periods.closes_at, as it was when this was written."""
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    local = datetime(end.year, end.month, 1, tzinfo=ZoneInfo(zone))
    return (local + timedelta(days=delay_days)).astimezone(UTC)


def _link_locations(connection):
    locations = dict(
        connection.execute(
            sa.text("SELECT name_key, id FROM location WHERE name_key IS NOT NULL")
        ).all()
    )
    places = connection.execute(
        sa.text("SELECT DISTINCT location FROM incident WHERE location <> ''")
    ).scalars()
    for place in list(places):
        found = locations.get(_name_key(place))
        if found is not None:
            connection.execute(
                sa.text("UPDATE incident SET location_id = :id WHERE location = :place"),
                {"id": found, "place": place},
            )


def _place_counts(connection):
    """(month, key) -> count, as `incidents.stats.tally` counts "place"."""
    zone = current_app.config["ORG_TIMEZONE"]
    delay = current_app.config["STATS_PUBLISH_DELAY_DAYS"]
    found = Counter()
    rows = connection.execute(
        sa.text(
            "SELECT occurred_at, submitted_at, team_id, channel, location_id FROM incident"
            " WHERE status = 'submitted' AND occurred_at IS NOT NULL"
            " AND location_id IS NOT NULL"
        )
    )
    for occurred, submitted, team_id, channel, location_id in rows:
        local = _moment(occurred).astimezone(ZoneInfo(zone))
        month = date(local.year, local.month, 1)
        submitted = _moment(submitted)
        if submitted is not None and submitted >= _closes_at(month, zone, delay):
            continue  # reported after its month was published: never counted
        team = "none" if team_id is None else str(team_id)
        key = f"{location_id}:{team}:{channel or 'none'}"
        found[(month.strftime("%Y-%m"), key)] += 1
    return found


def _write_place_counts(connection):
    found = _place_counts(connection)
    if not found:
        return
    published = set(connection.execute(sa.text("SELECT month FROM stat_publication")).scalars())
    rows = [
        {"month": month, "key": key, "count": n} for (month, key), n in sorted(found.items())
    ]
    insert = (
        "INSERT INTO {} (measure, month, key, level, count)"
        " VALUES ('place', :month, :key, 0, :count)"
    )
    connection.execute(sa.text(insert.format("stat_tally")), rows)
    frozen = [row for row in rows if row["month"] in published]
    if frozen:
        connection.execute(sa.text(insert.format("stat_published")), frozen)
    connection.execute(sa.text("UPDATE stat_version SET changes = changes + 1"))


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_incident_location_id'), ['location_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_incident_location_id_location'), 'location', ['location_id'], ['id']
        )
    connection = op.get_bind()
    _link_locations(connection)
    _write_place_counts(connection)


def downgrade():
    op.execute("DELETE FROM stat_published WHERE measure = 'place'")
    op.execute("DELETE FROM stat_tally WHERE measure = 'place'")
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_location_id_location'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_incident_location_id'))
        batch_op.drop_column('location_id')
