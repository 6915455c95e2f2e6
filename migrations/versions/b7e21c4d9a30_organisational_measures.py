"""organisational measures

`org_measure` (what the organisation changed, from when), with its scope: `org_measure_team`
and `org_measure_location`, and its channels (JSON).

Revision ID: b7e21c4d9a30
Revises: 7b2e5c1d9a30
Create Date: 2026-12-02 03:20:00

"""
from alembic import op
import sqlalchemy as sa

import incidents.models.base


# revision identifiers, used by Alembic.
revision = 'b7e21c4d9a30'
down_revision = '7b2e5c1d9a30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'org_measure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('taken_on', sa.Date(), nullable=False),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('end_reason', sa.String(length=200), nullable=False),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('created_at', incidents.models.base.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', incidents.models.base.UTCDateTime(), nullable=False),
        sa.Column('used_at', incidents.models.base.UTCDateTime(), nullable=True),
        sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_org_measure_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_org_measure')),
    )
    with op.batch_alter_table('org_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_measure_taken_on'), ['taken_on'], unique=False)
    op.create_table(
        'org_measure_team',
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['org_measure.id'], name=op.f('fk_org_measure_team_measure_id_org_measure')),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_org_measure_team_team_id_team')),
        sa.PrimaryKeyConstraint('measure_id', 'team_id', name=op.f('pk_org_measure_team')),
    )
    op.create_table(
        'org_measure_location',
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_org_measure_location_location_id_location')),
        sa.ForeignKeyConstraint(['measure_id'], ['org_measure.id'], name=op.f('fk_org_measure_location_measure_id_org_measure')),
        sa.PrimaryKeyConstraint('measure_id', 'location_id', name=op.f('pk_org_measure_location')),
    )


def downgrade():
    op.drop_table('org_measure_location')
    op.drop_table('org_measure_team')
    with op.batch_alter_table('org_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_measure_taken_on'))
    op.drop_table('org_measure')
