"""the (stage, due_at) index ends with the id

The board shows each column by due date, then id. On PostgreSQL an index's equal keys
follow the rows' places on disk, so a column's first ten cards read (and sorted) every
application due the same day as the tenth: ~500 rows a column at 1M applications, where
thousands share a due date. With the id in the index they read ten entries. On SQLite an
index already ends with the rowid (the id); there the column only makes it explicit, and
the index keeps its statistics (sqlite_stat1, with one more column: one row per id): without
them SQLite's planner read the dashboard's applications through this index instead of the
owner's (0.3 ms -> 26 ms at 1M applications).

Revision ID: b8d2f6a1c4e3
Revises: a4e7c1b9d3f2
Create Date: 2026-12-01 11:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8d2f6a1c4e3'
down_revision = 'a4e7c1b9d3f2'
branch_labels = None
depends_on = None


def _stat(bind) -> str | None:
    """The index's line in SQLite's statistics, if the database was analysed."""
    if bind.dialect.name != "sqlite" or bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first() is None:
        return None
    return bind.execute(sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'application' "
                                "AND idx = 'ix_application_stage_due_at'")).scalar()


def _restat(bind, stat: str | None, columns: int) -> None:
    """Put the statistics back for ``columns`` columns (dropping the index dropped them)."""
    if stat is None:
        return
    words = stat.split()
    numbers = [w for w in words if w.isdigit()]
    rest = words[len(numbers):]
    numbers = (numbers + ["1"])[:columns + 1]  # the row count, then one figure per column
    bind.execute(sa.text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('application', "
                         "'ix_application_stage_due_at', :stat)"), {"stat": " ".join(numbers + rest)})


def upgrade():
    bind = op.get_bind()
    stat = _stat(bind)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_stage_due_at')
        batch_op.create_index('ix_application_stage_due_at', ['stage', 'due_at', 'id'], unique=False)
    _restat(bind, stat, 3)


def downgrade():
    bind = op.get_bind()
    stat = _stat(bind)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_stage_due_at')
        batch_op.create_index('ix_application_stage_due_at', ['stage', 'due_at'], unique=False)
    _restat(bind, stat, 2)
