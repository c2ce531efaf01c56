"""the applications whose date moved automatically, by stage and number of moves

An admin's dashboard lists the stalled applications (more automatic moves than the policy
allows) of every team. With no index of them, its statement tested every open
application's row (160-170 ms at 1M applications on SQLite); through this partial index it
reads the stalled few (1 ms). The dashboard's condition repeats the index's "> 0" (implied by
the policy's limit, at least 0), since a partial index serves only a query whose WHERE
implies the index's. A database with statistics (sqlite_stat1) gets this index's too, as
the indexes of b8d2f6a1c4e3 did.

Revision ID: d4f1a7c2e9b6
Revises: a4e7c9d2b518
Create Date: 2026-12-01 11:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f1a7c2e9b6'
down_revision = 'a4e7c9d2b518'
branch_labels = None
depends_on = None

DELAYED = "automatic_delays > 0"


def _analysed(bind) -> bool:
    """Whether SQLite keeps statistics for this database (ANALYZE ran once)."""
    return bind.dialect.name == "sqlite" and bind.execute(sa.text(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first() is not None


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_delayed', ['stage', 'automatic_delays'], unique=False,
                              sqlite_where=sa.text(DELAYED), postgresql_where=sa.text(DELAYED))
    if _analysed(bind):
        bind.execute(sa.text("ANALYZE ix_application_delayed"))


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_delayed', sqlite_where=sa.text(DELAYED),
                            postgresql_where=sa.text(DELAYED))
