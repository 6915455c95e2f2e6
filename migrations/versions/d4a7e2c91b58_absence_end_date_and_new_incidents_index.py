"""absence end date, and an index for new incidents

`user.absent_until`: the day an away manager is back (they count as back from then on);
`ix_incident_status_submitted`: a manager's home page lists the incidents of the last days.

Revision ID: d4a7e2c91b58
Revises: a6032fe4b499
Create Date: 2026-12-01 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a7e2c91b58'
down_revision = 'a6032fe4b499'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absent_until', sa.Date(), nullable=True))
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(
            'ix_incident_status_submitted', ['status', 'submitted_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_status_submitted')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('absent_until')
