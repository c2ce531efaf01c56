"""the applications awaiting feedback, by stage: the API's list of that flag

The API lists and counts the applications of one flag. "awaiting feedback" had no index:
its count tested every open application's row (SQLite 158 ms at 1M applications,
PostgreSQL 7 ms). This partial index holds only the applications awaiting feedback (2,000
of 1M in the generated data) with their stage, so that the count reads the index alone.
Its condition repeats queries.flag_condition's words, as a partial index serves only a
query whose WHERE repeats its condition (SQLite writes the boolean "IS 1"). The stage
first: led by the id, SQLite preferred the (stage, due_at) index (21 ms).

The flag "unrecorded" has the same problem (SQLite 175 ms a statement at 1M) and no index
here: one of the applications whose interview ended turned PostgreSQL's plan of everyone's
dashboard, whose condition includes that flag, from its kept plan to one planned at every
visit (4.7 -> 6.0 ms at 100k applications).

A database with statistics (sqlite_stat1) gets this index's too, as the indexes of
b8d2f6a1c4e3 did.

Revision ID: e5a1c7d3b9f4
Revises: 7c1e4b9d2f60
Create Date: 2026-12-01 21:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5a1c7d3b9f4'
down_revision = '7c1e4b9d2f60'
branch_labels = None
depends_on = None

AWAITING_FEEDBACK = {"sqlite": "awaiting_feedback IS 1", "postgresql": "awaiting_feedback IS true"}


def _analysed(bind) -> bool:
    """Whether SQLite keeps statistics for this database (ANALYZE ran once)."""
    return bind.dialect.name == "sqlite" and bind.execute(sa.text(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first() is not None


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_awaiting_feedback', ['stage', 'id'], unique=False,
                              sqlite_where=sa.text(AWAITING_FEEDBACK["sqlite"]),
                              postgresql_where=sa.text(AWAITING_FEEDBACK["postgresql"]))
    if _analysed(bind):
        bind.execute(sa.text("ANALYZE ix_application_awaiting_feedback"))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_awaiting_feedback', sqlite_where=sa.text(AWAITING_FEEDBACK["sqlite"]),
                            postgresql_where=sa.text(AWAITING_FEEDBACK["postgresql"]))
