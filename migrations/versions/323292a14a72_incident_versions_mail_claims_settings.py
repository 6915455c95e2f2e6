"""incident versions, mail claims and failures, settings

Incidents get a version (a stale edit form is refused), mails a claim and a lease (concurrent
`flask remind` runs send each mail once) and a failed mark, and the organisation a settings
table (the aftercare coordinator).

Revision ID: 323292a14a72
Revises: a7c3e1f29b40
Create Date: 2026-12-01 10:29:26.697085

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '323292a14a72'
down_revision = 'a7c3e1f29b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_setting'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('incident_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claim')

    with op.batch_alter_table('incident_change', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('version')

    op.drop_table('setting')
