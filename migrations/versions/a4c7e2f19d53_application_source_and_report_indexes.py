"""application source, and the indexes of the reports

Every application gets a ``source`` (careers_site, referral, agency, job_board, direct,
talent_pool, other); existing ones are ``direct``, the default. The reports read the
applications received in a period, the decisions of a stage in a period, the second
interviews of a period and the promises whose date fell in a period: one index each.

Revision ID: a4c7e2f19d53
Revises: 37cb101c1af2
Create Date: 2026-11-30 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c7e2f19d53'
down_revision = '37cb101c1af2'
branch_labels = None
depends_on = None

SOURCES = "'careers_site', 'referral', 'agency', 'job_board', 'direct', 'talent_pool', 'other'"


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='direct', nullable=False))
        batch_op.create_check_constraint(op.f('ck_application_source'), f"source IN ({SOURCES})")
        batch_op.create_index('ix_application_applied_at', ['applied_at'], unique=False)
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index('ix_decision_stage_decided_at', ['stage', 'decided_at'], unique=False)
    with op.batch_alter_table('promise', schema=None) as batch_op:
        batch_op.create_index('ix_promise_promised_for', ['promised_for'], unique=False)
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.create_index('ix_interview_round_scheduled_at', ['round', 'scheduled_at'], unique=False)


def downgrade():
    with op.batch_alter_table('interview', schema=None) as batch_op:
        batch_op.drop_index('ix_interview_round_scheduled_at')
    with op.batch_alter_table('promise', schema=None) as batch_op:
        batch_op.drop_index('ix_promise_promised_for')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_stage_decided_at')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_applied_at')
        batch_op.drop_constraint(op.f('ck_application_source'), type_='check')
        batch_op.drop_column('source')
