"""statistics: the version of the running counts

One row whose number is raised in the same transaction as every change to `stat_tally`, so a
process may keep the figures it read under it until it moves (`incidents.stats.memo`). No row
yet: the first change makes it.

Revision ID: 5a1d2c7e9b40
Revises: e35e6e07f1e0
Create Date: 2026-12-01 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1d2c7e9b40'
down_revision = 'e35e6e07f1e0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stat_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('changes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stat_version'))
    )


def downgrade():
    op.drop_table('stat_version')
