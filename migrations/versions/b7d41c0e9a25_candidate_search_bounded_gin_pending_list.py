"""candidate search: bound the pending list of the pg_trgm GIN indexes (PostgreSQL)

A GIN index collects new entries in an unsorted pending list (up to 4 MB by default)
until VACUUM or an overflow merges it, and every search reads that whole list: right
after the 100k-candidate load a search for a common name spent 10-20 ms there instead of
0.4 ms, and the planner, seeing the cost, counted the matches with a scan of the table
(60 ms). A 256 kB limit keeps the merges batched (92k inserts: 4.3 s instead of 2.4 s,
against 30 s with fastupdate off) and a search's detour through the list short.
Nothing to do on SQLite (FTS5 merges its own segments).

Revision ID: b7d41c0e9a25
Revises: 955283b3ffab
Create Date: 2026-11-28 17:28:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d41c0e9a25'
down_revision = '955283b3ffab'
branch_labels = None
depends_on = None

INDEXES = ('ix_candidate_name_trgm', 'ix_candidate_email_trgm')
PENDING_LIST_KB = 256


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for index in INDEXES:
        op.execute(f'ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_LIST_KB})')
        # Merge what is pending now; the limit only applies to later inserts.
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for index in INDEXES:
        op.execute(f'ALTER INDEX {index} RESET (gin_pending_list_limit)')
