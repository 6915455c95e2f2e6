"""alarm events and their drafts

Every accepted event of an alarm button, with the draft report it made. The provider's event
id is unique, so a resent or doubled event finds its draft; the draft link is set to NULL
when the draft is discarded, so the alarm still counts.

Revision ID: b1bc646f4262
Revises: 3c5e8a1f0b27
Create Date: 2026-12-01 14:51:43.722757

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1bc646f4262'
down_revision = '3c5e8a1f0b27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alarm_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_event_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('triggered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_alarm_event_incident_id_incident'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_alarm_event_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_event')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_alarm_event_incident_id')),
    sa.UniqueConstraint('provider_event_id', name=op.f('uq_alarm_event_provider_event_id'))
    )
    with op.batch_alter_table('alarm_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_event_triggered_at'), ['triggered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_event_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('alarm_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_event_user_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_event_triggered_at'))

    op.drop_table('alarm_event')
