"""corrective actions from team evaluations; the works council flag

`corrective_action`: what a team agreed after an incident, its owner and deadline, what was
done, and whether it worked (reviewed some months later). `user.works_council`: members of
the works council read the overview of actions (never an incident).

Revision ID: 8f3a2c6d1e94
Revises: b7e21c4d9a30
Create Date: 2026-12-20 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f3a2c6d1e94'
down_revision = 'b7e21c4d9a30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('works_council', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('corrective_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('what', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('risk_item', sa.String(length=100), nullable=False),
    sa.Column('state', sa.Enum('open', 'done', 'reviewed', 'cancelled', name='action_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_note', sa.String(length=300), nullable=False),
    sa.Column('review_due_on', sa.Date(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('review_result', sa.String(length=16), nullable=False),
    sa.Column('review_note', sa.String(length=300), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user.id'], name=op.f('fk_corrective_action_cancelled_by_id_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_corrective_action_created_by_id_user')),
    sa.ForeignKeyConstraint(['done_by_id'], ['user.id'], name=op.f('fk_corrective_action_done_by_id_user')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_corrective_action_owner_id_user')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user.id'], name=op.f('fk_corrective_action_reviewed_by_id_user')),
    sa.ForeignKeyConstraint(['step_id'], ['aftercare_step.id'], name=op.f('fk_corrective_action_step_id_aftercare_step')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_corrective_action_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_action'))
    )
    with op.batch_alter_table('corrective_action', schema=None) as batch_op:
        batch_op.create_index('ix_corrective_action_owner_state_due', ['owner_id', 'state', 'due_on'], unique=False)
        batch_op.create_index('ix_corrective_action_state_due', ['state', 'due_on'], unique=False)
        batch_op.create_index('ix_corrective_action_state_review', ['state', 'review_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_action_step_id'), ['step_id'], unique=False)
        batch_op.create_index('ix_corrective_action_team_state_due', ['team_id', 'state', 'due_on'], unique=False)


def downgrade():
    with op.batch_alter_table('corrective_action', schema=None) as batch_op:
        batch_op.drop_index('ix_corrective_action_team_state_due')
        batch_op.drop_index(batch_op.f('ix_corrective_action_step_id'))
        batch_op.drop_index('ix_corrective_action_state_review')
        batch_op.drop_index('ix_corrective_action_state_due')
        batch_op.drop_index('ix_corrective_action_owner_state_due')
    op.drop_table('corrective_action')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('works_council')
