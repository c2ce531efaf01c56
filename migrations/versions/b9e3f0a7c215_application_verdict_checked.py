"""application.verdict checked against its enum

The last vocabulary column without a CHECK: a panel's verdict is one of pipeline.Verdict's
values, or NULL while no panel has been held.

Revision ID: b9e3f0a7c215
Revises: a4c8e2d6f1b3
Create Date: 2026-12-01 03:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b9e3f0a7c215'
down_revision = 'a4c8e2d6f1b3'
branch_labels = None
depends_on = None

VERDICTS = "'incomplete', 'clear_hire', 'clear_no', 'mixed'"


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_application_verdict'), f"verdict IN ({VERDICTS})")


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_application_verdict'), type_='check')
