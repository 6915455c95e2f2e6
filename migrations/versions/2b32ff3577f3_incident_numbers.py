"""incident numbers

`incident.number`: the readable number ("2026-0142") given at submission, unique;
`incident_number`: the last number given per year. Incidents submitted before get their
numbers here, in the order they were submitted.

Revision ID: 2b32ff3577f3
Revises: c101a193407b
Create Date: 2026-12-01 21:00:39.611689

"""
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2b32ff3577f3'
down_revision = 'c101a193407b'
branch_labels = None
depends_on = None


def _zone():
    try:
        from flask import current_app

        return ZoneInfo(current_app.config["ORG_TIMEZONE"])
    except (ImportError, RuntimeError, KeyError):
        return ZoneInfo("Europe/Amsterdam")


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade():
    op.create_table('incident_number',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_incident_number'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_incident_number'), ['number'])

    connection = op.get_bind()
    zone = _zone()
    rows = connection.execute(sa.text(
        "SELECT id, submitted_at, created_at FROM incident WHERE status = 'submitted' "
        "ORDER BY submitted_at, id"
    )).all()
    places = Counter()
    for row in rows:
        year = _aware(row.submitted_at or row.created_at).astimezone(zone).year
        places[year] += 1
        connection.execute(
            sa.text("UPDATE incident SET number = :number WHERE id = :id"),
            {"number": f"{year}-{places[year]:04d}", "id": row.id},
        )
    for year, last in places.items():
        connection.execute(
            sa.text("INSERT INTO incident_number (year, last) VALUES (:year, :last)"),
            {"year": year, "last": last},
        )


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_incident_number'), type_='unique')
        batch_op.drop_column('number')
    op.drop_table('incident_number')
