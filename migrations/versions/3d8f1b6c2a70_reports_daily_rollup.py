"""the reports' daily rollup

The Reports page and GET /api/v1/reports/summary sum these rows (a bounded number per day)
instead of reading every application, interview, decision and promise of the period; the
report-rollup job rebuilds them (hiring.reports.rollup).

Revision ID: 3d8f1b6c2a70
Revises: f7c3d2a9b4e1
Create Date: 2026-12-01 08:06:13.591329

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3d8f1b6c2a70'
down_revision = 'f7c3d2a9b4e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_application_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('reached', sa.Integer(), nullable=False),
    sa.Column('interviewed', sa.Boolean(), nullable=False),
    sa.Column('applications', sa.Integer(), nullable=False),
    sa.CheckConstraint("source IN ('careers_site', 'referral', 'agency', 'job_board', 'direct', 'talent_pool', 'other')", name=op.f('ck_report_application_day_source')),
    sa.CheckConstraint("stage IN ('applied', 'first_interview', 'first_decision', 'second_interview', 'final_decision', 'offer', 'hired', 'rejected', 'declined', 'withdrawn')", name=op.f('ck_report_application_day_stage')),
    sa.CheckConstraint('(level = 2) = (position_id IS NOT NULL)', name=op.f('ck_report_application_day_position_id')),
    sa.CheckConstraint('applications > 0', name=op.f('ck_report_application_day_applications')),
    sa.CheckConstraint('level IN (0, 1, 2)', name=op.f('ck_report_application_day_level')),
    sa.CheckConstraint('reached BETWEEN 0 AND 6', name=op.f('ck_report_application_day_reached')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_application_day'))
    )
    with op.batch_alter_table('report_application_day', schema=None) as batch_op:
        batch_op.create_index('ix_report_application_day_level_day', ['level', 'day'], unique=False)
        batch_op.create_index('ix_report_application_day_owner_day', ['owner_id', 'day'], unique=False)
        batch_op.create_index('ix_report_application_day_position_day', ['position_id', 'day'], unique=False)

    op.create_table('report_duration_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('measure', sa.String(length=20), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('passages', sa.Integer(), nullable=False),
    sa.CheckConstraint("measure IN ('first_decision', 'second_interview', 'final_decision', 'hire', 'offer')", name=op.f('ck_report_duration_day_measure')),
    sa.CheckConstraint('(level = 2) = (position_id IS NOT NULL)', name=op.f('ck_report_duration_day_position_id')),
    sa.CheckConstraint('level IN (0, 1, 2)', name=op.f('ck_report_duration_day_level')),
    sa.CheckConstraint('passages > 0', name=op.f('ck_report_duration_day_passages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_duration_day'))
    )
    with op.batch_alter_table('report_duration_day', schema=None) as batch_op:
        batch_op.create_index('ix_report_duration_day_level_day', ['level', 'day'], unique=False)
        batch_op.create_index('ix_report_duration_day_owner_day', ['owner_id', 'day'], unique=False)
        batch_op.create_index('ix_report_duration_day_position_day', ['position_id', 'day'], unique=False)

    op.create_table('report_promise_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('promises', sa.Integer(), nullable=False),
    sa.CheckConstraint("stage IN ('applied', 'first_interview', 'first_decision', 'second_interview', 'final_decision', 'offer', 'hired', 'rejected', 'declined', 'withdrawn')", name=op.f('ck_report_promise_day_stage')),
    sa.CheckConstraint("status IN ('kept', 'moved', 'broken', 'withdrawn', 'open')", name=op.f('ck_report_promise_day_status')),
    sa.CheckConstraint('(level = 2) = (position_id IS NOT NULL)', name=op.f('ck_report_promise_day_position_id')),
    sa.CheckConstraint('level IN (0, 1, 2)', name=op.f('ck_report_promise_day_level')),
    sa.CheckConstraint('promises > 0', name=op.f('ck_report_promise_day_promises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_promise_day'))
    )
    with op.batch_alter_table('report_promise_day', schema=None) as batch_op:
        batch_op.create_index('ix_report_promise_day_level_day', ['level', 'day'], unique=False)
        batch_op.create_index('ix_report_promise_day_owner_day', ['owner_id', 'day'], unique=False)
        batch_op.create_index('ix_report_promise_day_position_day', ['position_id', 'day'], unique=False)

    op.create_table('report_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('built_from', sa.JSON(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('build_seconds', sa.Float(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_report_rollup_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_rollup'))
    )


def downgrade():
    op.drop_table('report_rollup')
    with op.batch_alter_table('report_promise_day', schema=None) as batch_op:
        batch_op.drop_index('ix_report_promise_day_position_day')
        batch_op.drop_index('ix_report_promise_day_owner_day')
        batch_op.drop_index('ix_report_promise_day_level_day')

    op.drop_table('report_promise_day')
    with op.batch_alter_table('report_duration_day', schema=None) as batch_op:
        batch_op.drop_index('ix_report_duration_day_position_day')
        batch_op.drop_index('ix_report_duration_day_owner_day')
        batch_op.drop_index('ix_report_duration_day_level_day')

    op.drop_table('report_duration_day')
    with op.batch_alter_table('report_application_day', schema=None) as batch_op:
        batch_op.drop_index('ix_report_application_day_position_day')
        batch_op.drop_index('ix_report_application_day_owner_day')
        batch_op.drop_index('ix_report_application_day_level_day')

    op.drop_table('report_application_day')
