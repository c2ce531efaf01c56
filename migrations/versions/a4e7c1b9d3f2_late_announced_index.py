"""an index of the late applications once announced

The overdue flag is "open and past the team's deadline, or open and late since an
automatic delay" (queries.flag_condition). The first half is read through the
(stage, due_at) index, and the late ones not yet announced through the deadline job's
ix_application_late_unannounced; the announced late ones had no index, so the API's overdue
list and its total read every open application's row (26 ms at 1M applications on SQLite).
This partial index holds only those (about 0.2% of the applications).

Revision ID: a4e7c1b9d3f2
Revises: c5d8a3e1f9b2
Create Date: 2026-12-01 11:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4e7c1b9d3f2'
down_revision = 'c5d8a3e1f9b2'
branch_labels = None
depends_on = None

LATE_ANNOUNCED = "overdue_since IS NOT NULL AND overdue_notified_at IS NOT NULL"


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_late_announced', ['stage'], unique=False,
                              sqlite_where=sa.text(LATE_ANNOUNCED), postgresql_where=sa.text(LATE_ANNOUNCED))
    if bind.dialect.name == "sqlite" and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first() is not None:
        # A database with statistics gets this index's too (a few thousand rows at most):
        # without them SQLite's planner takes a partial index for half the table.
        bind.execute(sa.text("ANALYZE ix_application_late_announced"))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_late_announced')
