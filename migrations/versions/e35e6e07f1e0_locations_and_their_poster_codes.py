"""locations and their poster codes

The register of locations (counters, interview rooms, home visit teams) whose posters carry a
QR code to the quick log. `code` is what the QR code holds and never changes, so renaming a
location keeps its printed posters right. `name_key` (the folded name) is set while the
location is active and NULL once archived: a plain unique constraint then keeps the names of
active locations unique on both databases, and an archived name may be used again.

Revision ID: e35e6e07f1e0
Revises: b1bc646f4262
Create Date: 2026-12-01 15:41:20.068642

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e35e6e07f1e0'
down_revision = 'b1bc646f4262'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=True),
    sa.Column('channel', sa.Enum('counter', 'interview_room', 'home_visit', 'phone', 'letter_email', 'social_media', 'public_space', 'other', name='channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('code', name=op.f('uq_location_code')),
    sa.UniqueConstraint('name_key', name=op.f('uq_location_name_key'))
    )


def downgrade():
    op.drop_table('location')
