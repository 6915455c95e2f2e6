"""membership history and published statistics

Existing data: every current account gets a membership row from its creation (the app kept no
history before; a deactivated account counts nowhere). Run `flask stats rebuild` once after this
upgrade: the running counts gain a measure (incidents by team and channel, for rates) and no
longer count reports that arrived after their month was published.

Revision ID: a7c3e1f29b40
Revises: 258977ae765e
Create Date: 2026-12-01 08:10:00

"""
from alembic import op
import sqlalchemy as sa

from incidents.models import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'a7c3e1f29b40'
down_revision = '258977ae765e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('team_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('since', UTCDateTime(), nullable=False),
    sa.Column('until', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_membership_team_id_team')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_team_membership_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_membership'))
    )
    with op.batch_alter_table('team_membership', schema=None) as batch_op:
        batch_op.create_index('ix_team_membership_team_since', ['team_id', 'since'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_membership_user_id'), ['user_id'], unique=False)

    op.create_table('stat_publication',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_stat_publication'))
    )
    op.create_table('stat_published',
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('measure', 'month', 'key', 'level', name=op.f('pk_stat_published'))
    )
    # The history starts with today's teams: active accounts from their creation.
    op.execute(
        'INSERT INTO team_membership (user_id, team_id, since, until) '
        'SELECT id, team_id, created_at, NULL FROM "user" WHERE active'
    )


def downgrade():
    op.drop_table('stat_published')
    op.drop_table('stat_publication')
    with op.batch_alter_table('team_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_membership_user_id'))
        batch_op.drop_index('ix_team_membership_team_since')
    op.drop_table('team_membership')
