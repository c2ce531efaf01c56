"""the Reports page's choices in name order: open positions by title, owners by name

The Reports page asks for the first 201 open positions by title, and the first 201
recruiters and admins by name, to offer them as lists (or, past 200, as text fields). With
no index in that order both databases read every position and every user and sorted them
(PostgreSQL at 1M applications: 0.9 ms for the positions, 2.3 ms for 13,000 users, more
than the rest of the page together). Through these indexes they read the 201 rows. The
owners' index is partial: the page's condition names the same two roles, as literals (a
partial index serves only a query whose WHERE implies the index's). A database with
statistics (sqlite_stat1) gets these indexes' too, as the indexes of b8d2f6a1c4e3 did.

Revision ID: f3b7d2c9a1e5
Revises: d4f1a7c2e9b6
Create Date: 2026-12-01 14:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3b7d2c9a1e5'
down_revision = 'd4f1a7c2e9b6'
branch_labels = None
depends_on = None

OWNERS = "role IN ('recruiter', 'admin')"


def _analysed(bind) -> bool:
    """Whether SQLite keeps statistics for this database (ANALYZE ran once)."""
    return bind.dialect.name == "sqlite" and bind.execute(sa.text(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first() is not None


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('position', schema=None) as batch_op:
        batch_op.create_index('ix_position_status_title', ['status', 'title', 'id'], unique=False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index('ix_user_owner_name', ['name', 'id'], unique=False,
                              sqlite_where=sa.text(OWNERS), postgresql_where=sa.text(OWNERS))
    if _analysed(bind):
        bind.execute(sa.text("ANALYZE ix_position_status_title"))
        bind.execute(sa.text("ANALYZE ix_user_owner_name"))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_owner_name', sqlite_where=sa.text(OWNERS), postgresql_where=sa.text(OWNERS))
    with op.batch_alter_table('position', schema=None) as batch_op:
        batch_op.drop_index('ix_position_status_title')
