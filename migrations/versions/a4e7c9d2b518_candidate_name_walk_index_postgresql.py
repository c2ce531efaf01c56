"""PostgreSQL: an index of candidates in name order that holds the email too

The candidate search (and the talent pool's name search) for a common name walks the
candidates in name order and stops after a page of matches ("schmidt": 24,510 matches at 1M
applications). Through ix_candidate_name PostgreSQL read each walked candidate's row to test
its email (35-100 ms); with the email in the index the walk reads the index alone (9 ms).
SQLite walks its own name index against the FTS5 matches and needs no such index.

Not in the models (like the pg_trgm indexes): migrations/env.py tells autogenerate and
`flask db check` that it is PostgreSQL's own.

Revision ID: a4e7c9d2b518
Revises: b8d2f6a1c4e3
Create Date: 2026-12-01 11:05:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4e7c9d2b518'
down_revision = 'b8d2f6a1c4e3'
branch_labels = None
depends_on = None

NAME = "ix_candidate_name_id_email"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON candidate (name, id) INCLUDE (email)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {NAME}")
