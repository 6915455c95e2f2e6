"""evidence: files on an incident

`attachment`: a file added to an incident (its bytes in the evidence store under `key`, the
kept original under `original_key`), chosen for the police or not, and removed with who and
why. A police-report step records when the evidence was handed over and how many files.

Revision ID: c101a193407b
Revises: 5a1d2c7e9b40
Create Date: 2026-12-01 18:38:36.328717

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c101a193407b'
down_revision = '5a1d2c7e9b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('original_key', sa.String(length=40), nullable=True),
    sa.Column('filename', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('content_type', sa.String(length=80), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('for_police', sa.Boolean(), nullable=False),
    sa.Column('handed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_attachment_added_by_id_user')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_attachment_incident_id_incident')),
    sa.ForeignKeyConstraint(['removed_by_id'], ['user.id'], name=op.f('fk_attachment_removed_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('key', name=op.f('uq_attachment_key')),
    sa.UniqueConstraint('original_key', name=op.f('uq_attachment_original_key'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_incident_id'), ['incident_id'], unique=False)

    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_handed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('evidence_files', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.drop_column('evidence_files')
        batch_op.drop_column('evidence_handed_at')

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_incident_id'))

    op.drop_table('attachment')
