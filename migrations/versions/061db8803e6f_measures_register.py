"""the register of measures against perpetrators

`measure` (with `measure_incident`, the incidents it rests on) and `measure_lookup` (the
lookups at the counter); `user.front_office` and `user.security_officer`. Building bans
recorded as outcomes of the "response to the perpetrator" step are carried over: in force
until their end date (or ended), resting on their incident, marked `carried_over`.

Revision ID: 061db8803e6f
Revises: d4a7e2c91b58
Create Date: 2026-12-02 00:05:43.161201

"""
import json
import unicodedata
from datetime import UTC, date, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '061db8803e6f'
down_revision = 'd4a7e2c91b58'
branch_labels = None
depends_on = None


def _key(text):
    """incidents.models.measures.lookup_key, as it was when this migration was written."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _day(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _moment(value):
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _carry_over_building_bans():
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT s.id, s.incident_id, s.outcomes, s.end_date, s.held_on, s.done_at, "
            "s.done_by_id, s.citizen_heard, s.reason, i.perpetrator_name, "
            "i.perpetrator_reference, i.anonymised_at, i.number "
            "FROM aftercare_step s JOIN incident i ON i.id = s.incident_id "
            "WHERE s.kind = 'perpetrator_response' AND s.status = 'done' "
            "AND s.end_date IS NOT NULL ORDER BY s.id"
        )
    ).all()
    today = datetime.now(UTC).date()
    measure = sa.table(
        "measure", *(sa.column(c) for c in (
            "id", "kind", "citizen_name", "citizen_reference", "name_key", "reference_key",
            "reason", "starts_on", "ends_on", "state", "step_id", "proposed_by_id",
            "proposed_at", "approved_at", "heard_on", "heard_how", "not_heard_reason",
            "notice_sent_how", "close_reason", "carried_over", "revision", "anonymised_at",
        ))
    )
    link = sa.table("measure_incident", sa.column("measure_id"), sa.column("incident_id"))
    for row in rows:
        outcomes = row.outcomes if isinstance(row.outcomes, list) else json.loads(row.outcomes or "[]")
        if "building_ban" not in outcomes:
            continue
        done_at = _moment(row.done_at) or datetime.now(UTC)
        ends_on = _day(row.end_date)
        starts_on = min(_day(row.held_on) or done_at.date(), ends_on)
        anonymised = row.anonymised_at is not None
        name = "" if anonymised else (row.perpetrator_name or "")
        reference = "" if anonymised else (row.perpetrator_reference or "")
        reason = "" if anonymised else (
            row.reason or f"Toegangsverbod na incident {row.number or row.incident_id}."
        )
        result = connection.execute(
            measure.insert().values(
                kind="building_ban",
                citizen_name=name,
                citizen_reference=reference,
                name_key=_key(name),
                reference_key=_key(reference),
                reason=reason[:300],
                starts_on=starts_on,
                ends_on=ends_on,
                state="in_force" if ends_on >= today and not anonymised else "ended",
                step_id=row.id,
                proposed_by_id=row.done_by_id,
                proposed_at=done_at,
                approved_at=done_at,
                heard_on=starts_on if row.citizen_heard else None,
                heard_how="",
                not_heard_reason="",
                notice_sent_how="",
                close_reason="",
                carried_over=True,
                revision=0,
                anonymised_at=_moment(row.anonymised_at),
            ).returning(measure.c.id)
        )
        connection.execute(
            link.insert().values(measure_id=result.scalar_one(), incident_id=row.incident_id)
        )


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('front_office', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('security_officer', sa.Boolean(), server_default='0', nullable=False))

    op.create_table('measure_lookup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('matches', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_measure_lookup_team_id_team')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_measure_lookup_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_lookup'))
    )
    with op.batch_alter_table('measure_lookup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_lookup_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_lookup_user_id'), ['user_id'], unique=False)

    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('citizen_name', sa.String(length=200), nullable=False),
    sa.Column('citizen_reference', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('reference_key', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('proposed', 'approved', 'in_force', 'ended', 'withdrawn', name='measure_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('contact_person_id', sa.Integer(), nullable=True),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('extends_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('second_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('second_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heard_on', sa.Date(), nullable=True),
    sa.Column('heard_how', sa.String(length=16), nullable=False),
    sa.Column('not_heard_reason', sa.String(length=300), nullable=False),
    sa.Column('heard_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('notice_sent_on', sa.Date(), nullable=True),
    sa.Column('notice_sent_how', sa.String(length=16), nullable=False),
    sa.Column('notice_sent_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_reason', sa.String(length=300), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_over', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_measure_approved_by_id_user')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_measure_closed_by_id_user')),
    sa.ForeignKeyConstraint(['contact_person_id'], ['user.id'], name=op.f('fk_measure_contact_person_id_user')),
    sa.ForeignKeyConstraint(['extends_id'], ['measure.id'], name=op.f('fk_measure_extends_id_measure')),
    sa.ForeignKeyConstraint(['heard_recorded_by_id'], ['user.id'], name=op.f('fk_measure_heard_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['notice_sent_by_id'], ['user.id'], name=op.f('fk_measure_notice_sent_by_id_user')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user.id'], name=op.f('fk_measure_proposed_by_id_user')),
    sa.ForeignKeyConstraint(['second_approved_by_id'], ['user.id'], name=op.f('fk_measure_second_approved_by_id_user')),
    sa.ForeignKeyConstraint(['step_id'], ['aftercare_step.id'], name=op.f('fk_measure_step_id_aftercare_step')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measure'))
    )
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.create_index('ix_measure_name_key', ['name_key'], unique=False)
        batch_op.create_index('ix_measure_reference_key', ['reference_key'], unique=False)
        batch_op.create_index('ix_measure_state_ends', ['state', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_measure_step_id'), ['step_id'], unique=False)

    op.create_table('measure_incident',
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_measure_incident_incident_id_incident')),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_measure_incident_measure_id_measure')),
    sa.PrimaryKeyConstraint('measure_id', 'incident_id', name=op.f('pk_measure_incident'))
    )
    with op.batch_alter_table('measure_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_incident_incident_id'), ['incident_id'], unique=False)

    _carry_over_building_bans()


def downgrade():
    with op.batch_alter_table('measure_incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_incident_incident_id'))

    op.drop_table('measure_incident')
    with op.batch_alter_table('measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_step_id'))
        batch_op.drop_index('ix_measure_state_ends')
        batch_op.drop_index('ix_measure_reference_key')
        batch_op.drop_index('ix_measure_name_key')

    op.drop_table('measure')
    with op.batch_alter_table('measure_lookup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_lookup_user_id'))
        batch_op.drop_index(batch_op.f('ix_measure_lookup_at'))

    op.drop_table('measure_lookup')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('security_officer')
        batch_op.drop_column('front_office')
