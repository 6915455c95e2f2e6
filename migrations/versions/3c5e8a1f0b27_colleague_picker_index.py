"""colleague picker: an index on user (active, name)

The picker searches active colleagues by name and stops after a page of matches; the index
lets it read them in name order instead of sorting every account.

Revision ID: 3c5e8a1f0b27
Revises: ff6099686194
Create Date: 2026-12-01 15:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c5e8a1f0b27'
down_revision = 'ff6099686194'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index('ix_user_active_name', ['active', 'name'], unique=False)


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_active_name')
