"""typed step records: kind and subject as enums, the details bag as columns

`aftercare_step.details` (JSON: held_on, reference, end_date, citizen_heard, reason,
attempts, police_outcome, expired) becomes one typed column each; the values are carried
over, and back again on a downgrade. `kind` and `subject` get check constraints from
their enums.

Revision ID: 7d2b9c4e1a53
Revises: 2668b6f7cca5
Create Date: 2026-12-01 13:30:00.000000

"""
from datetime import date

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d2b9c4e1a53'
down_revision = '2668b6f7cca5'
branch_labels = None
depends_on = None

KIND = sa.Enum(
    'contact', 'police_report', 'perpetrator_response', 'labour_inspectorate',
    'aftercare_conversation', 'follow_up_conversation', 'referral_decision',
    'closing_conversation', 'team_evaluation',
    name='step_kind', native_enum=False, create_constraint=True, length=32,
)
SUBJECT = sa.Enum(
    'victim', 'witness', 'incident',
    name='step_subject', native_enum=False, create_constraint=True, length=32,
)
BATCH = 1000


def _steps(*columns):
    return sa.table('aftercare_step', sa.column('id', sa.Integer), *columns)


COLUMNS = (
    sa.column('held_on', sa.Date),
    sa.column('reference', sa.String),
    sa.column('end_date', sa.Date),
    sa.column('citizen_heard', sa.Boolean),
    sa.column('reason', sa.String),
    sa.column('police_outcome', sa.String),
    sa.column('attempt_times', sa.JSON),
    sa.column('measure_expired', sa.Boolean),
)


def _day(value):
    return date.fromisoformat(value) if value else None


def _columns_of(details):
    """The typed values of one step's details bag."""
    return {
        'held_on': _day(details.get('held_on')),
        'reference': str(details.get('reference') or '')[:100],
        'end_date': _day(details.get('end_date')),
        'citizen_heard': bool(details.get('citizen_heard')),
        'reason': str(details.get('reason') or '')[:200],
        'police_outcome': (
            str(details['police_outcome'])[:200] if 'police_outcome' in details else None
        ),
        'attempt_times': list(details.get('attempts') or []),
        'measure_expired': bool(details.get('expired')),
    }


def _details_of(row):
    """A step's details bag as the code before this revision wrote it."""
    values = {
        'held_on': row.held_on.isoformat() if row.held_on else None,
        'reference': row.reference or None,
        'end_date': row.end_date.isoformat() if row.end_date else None,
        'citizen_heard': True if row.citizen_heard else None,
        'reason': row.reason or None,
        'attempts': list(row.attempt_times) if row.attempt_times else None,
        'police_outcome': row.police_outcome,
        'expired': True if row.measure_expired else None,
    }
    return {key: value for key, value in values.items() if value is not None}


def _move(source, convert, target):
    """Rewrite every step from the `source` columns into the `target` ones, in batches of
    ids, so a large table never sits in memory at once."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(*source.c).where(source.c.id > last).order_by(source.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            values = convert(row)
            if values is not None:
                connection.execute(target.update().where(target.c.id == row.id).values(**values))
        last = rows[-1].id


def upgrade():
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('end_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('citizen_heard', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('police_outcome', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attempt_times', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('measure_expired', sa.Boolean(), nullable=False, server_default=sa.false()))
    old = _steps(sa.column('details', sa.JSON))
    new = _steps(*COLUMNS)
    _move(old, lambda row: _columns_of(row.details) if row.details else None, new)
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.drop_column('details')
        # From a string to an enum: the check constraint of the enum comes with the change.
        batch_op.alter_column('kind', existing_type=sa.String(length=32), type_=KIND, existing_nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=16), type_=SUBJECT, existing_nullable=False)


def downgrade():
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=SUBJECT, type_=sa.String(length=16), existing_nullable=False)
        batch_op.alter_column('kind', existing_type=KIND, type_=sa.String(length=32), existing_nullable=False)
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=False, server_default='{}'))
    old = _steps(sa.column('details', sa.JSON))
    new = _steps(*COLUMNS)
    _move(new, lambda row: {'details': _details_of(row)}, old)
    with op.batch_alter_table('aftercare_step', schema=None) as batch_op:
        for name in ('measure_expired', 'attempt_times', 'police_outcome', 'reason', 'citizen_heard', 'end_date', 'reference', 'held_on'):
            batch_op.drop_column(name)
