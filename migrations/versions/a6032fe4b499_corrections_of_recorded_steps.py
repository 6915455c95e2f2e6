"""corrections of recorded steps

`step_correction`: a correction of a recorded aftercare step, with who, when, the reason,
and the values of the changed fields before and after. `aftercare_step.revision` is raised by
every change to a recorded step, so a correction form opened before another change is refused.

Revision ID: a6032fe4b499
Revises: 2b32ff3577f3
Create Date: 2026-12-01 21:03:25.740557

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6032fe4b499'
down_revision = '2b32ff3577f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('step_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('previous', sa.JSON(), nullable=False),
    sa.Column('corrected', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_step_correction_actor_id_user')),
    sa.ForeignKeyConstraint(['step_id'], ['aftercare_step.id'], name=op.f('fk_step_correction_step_id_aftercare_step')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_correction'))
    )
    with op.batch_alter_table('step_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_correction_step_id'), ['step_id'], unique=False)

    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.drop_column('revision')

    with op.batch_alter_table('step_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_correction_step_id'))

    op.drop_table('step_correction')
