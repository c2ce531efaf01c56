"""candidate search index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL

Searching candidates by any part of the name or email (LIKE '%…%') cannot use a
B-tree index, so at 100k candidates every search read the whole table twice (the page
and its count). A trigram index answers substring searches of three or more characters.

Revision ID: 5e7a1c2d9b40
Revises: 86948fe0fdba
Create Date: 2026-11-22 06:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e7a1c2d9b40'
down_revision = '86948fe0fdba'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = [
    # External content: the index keeps only trigrams; the triggers keep it in step.
    "CREATE VIRTUAL TABLE IF NOT EXISTS candidate_search USING fts5("
    "name, email, content='candidate', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_insert AFTER INSERT ON candidate BEGIN "
    "INSERT INTO candidate_search(rowid, name, email) VALUES (new.id, new.name, new.email); END",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_delete AFTER DELETE ON candidate BEGIN "
    "INSERT INTO candidate_search(candidate_search, rowid, name, email) "
    "VALUES ('delete', old.id, old.name, old.email); END",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_update AFTER UPDATE OF name, email ON candidate BEGIN "
    "INSERT INTO candidate_search(candidate_search, rowid, name, email) "
    "VALUES ('delete', old.id, old.name, old.email); "
    "INSERT INTO candidate_search(rowid, name, email) VALUES (new.id, new.name, new.email); END",
    "INSERT INTO candidate_search(candidate_search) VALUES ('rebuild')",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS candidate_search_update",
    "DROP TRIGGER IF EXISTS candidate_search_delete",
    "DROP TRIGGER IF EXISTS candidate_search_insert",
    "DROP TABLE IF EXISTS candidate_search",
]
POSTGRESQL_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_candidate_name_trgm ON candidate USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_candidate_email_trgm ON candidate USING gin (email gin_trgm_ops)",
]
POSTGRESQL_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_candidate_email_trgm",
    "DROP INDEX IF EXISTS ix_candidate_name_trgm",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
