"""the tags in use kept up to date by triggers

The talent pool and the candidate page suggest the tags in use. Worked out per visit, that
read and decoded the tag list of every tagged candidate (20 ms a page with 5,000 tagged
candidates, and it stopped at 5,000 so a larger pool missed tags). ``tag_count`` holds
how many candidates (not anonymised) carry each tag instead, kept by triggers on
candidate in the same transaction as the change, whatever writes it (the verbs, the
anonymisation, the generator's bulk loads, a script). A tag no one carries any more is
deleted (a tag is free text: it must not outlive the candidates who carried it).

Filled from the existing candidates here.

Revision ID: 7c1e4b9d2f60
Revises: c8e4a6f2b1d9
Create Date: 2026-12-01 17:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c1e4b9d2f60'
down_revision = 'c8e4a6f2b1d9'
branch_labels = None
depends_on = None

# One upsert of the net change per tag: the old row's tags count -1 and the new row's +1
# (each only while the candidate is not anonymised; a list naming a tag twice counts it
# once). Net zero (the tag kept) writes nothing. The rows are taken in tag order, so two
# transactions retagging candidates queue behind each other instead of deadlocking.
# {tags} is the set-returning function over a JSON list: json_each on SQLite (its column
# "value"), json_array_elements_text on PostgreSQL.
CHANGE = ("INSERT INTO tag_count (tag, count) SELECT tag, SUM(delta) FROM ({parts}) AS changed "
          "WHERE true GROUP BY tag HAVING SUM(delta) <> 0 ORDER BY tag "
          "ON CONFLICT (tag) DO UPDATE SET count = tag_count.count + excluded.count")
PART = "SELECT DISTINCT value AS tag, {delta} AS delta FROM {tags} WHERE {row}.anonymised_at IS NULL"
SQLITE_TAGS = "json_each({row}.tags)"
POSTGRESQL_TAGS = "json_array_elements_text({row}.tags) AS value"
# A tag no one carries any more goes: a tag is free text and may name a person, and it must
# not outlive the anonymisation of the last candidate who carried it.
FORGET = "DELETE FROM tag_count WHERE count <= 0 AND tag IN (SELECT value FROM {tags})"


def _change(tags: str, *rows: tuple[str, str]) -> str:
    return CHANGE.format(parts=" UNION ALL ".join(
        PART.format(delta=delta, row=row, tags=tags.format(row=row)) for row, delta in rows))


CHANGED = "OLD.tags {ne} NEW.tags OR OLD.anonymised_at {ne} NEW.anonymised_at"

SQLITE_UPGRADE = [
    "CREATE TRIGGER tag_count_insert AFTER INSERT ON candidate "
    "WHEN NEW.anonymised_at IS NULL AND NEW.tags IS NOT NULL AND NEW.tags <> '[]' BEGIN "
    + _change(SQLITE_TAGS, ("NEW", "1")) + "; END",
    # The JSON compared as text: the same list written anew compares equal and writes nothing.
    "CREATE TRIGGER tag_count_update AFTER UPDATE OF tags, anonymised_at ON candidate "
    f"WHEN {CHANGED.format(ne='IS NOT')} BEGIN " + _change(SQLITE_TAGS, ("OLD", "-1"), ("NEW", "1")) + "; "
    + FORGET.format(tags=SQLITE_TAGS.format(row="OLD")) + "; END",
    "CREATE TRIGGER tag_count_delete AFTER DELETE ON candidate "
    "WHEN OLD.anonymised_at IS NULL AND OLD.tags IS NOT NULL AND OLD.tags <> '[]' BEGIN "
    + _change(SQLITE_TAGS, ("OLD", "-1")) + "; " + FORGET.format(tags=SQLITE_TAGS.format(row="OLD")) + "; END",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS tag_count_delete",
    "DROP TRIGGER IF EXISTS tag_count_update",
    "DROP TRIGGER IF EXISTS tag_count_insert",
]
POSTGRESQL_UPGRADE = [
    "CREATE FUNCTION tag_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN " + _change(POSTGRESQL_TAGS, ("NEW", "1")) + "; "
    "ELSIF TG_OP = 'DELETE' THEN " + _change(POSTGRESQL_TAGS, ("OLD", "-1")) + "; "
    + FORGET.format(tags=POSTGRESQL_TAGS.format(row="OLD")) + "; "
    "ELSE " + _change(POSTGRESQL_TAGS, ("OLD", "-1"), ("NEW", "1")) + "; "
    + FORGET.format(tags=POSTGRESQL_TAGS.format(row="OLD")) + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER tag_count_insert AFTER INSERT ON candidate FOR EACH ROW "
    "WHEN (NEW.anonymised_at IS NULL AND NEW.tags IS NOT NULL AND NEW.tags::text <> '[]') "
    "EXECUTE FUNCTION tag_count_keep()",
    # json has no equality: compared as text (the same list written anew writes nothing).
    "CREATE TRIGGER tag_count_update AFTER UPDATE OF tags, anonymised_at ON candidate FOR EACH ROW "
    "WHEN (OLD.tags::text IS DISTINCT FROM NEW.tags::text OR OLD.anonymised_at IS DISTINCT FROM NEW.anonymised_at) "
    "EXECUTE FUNCTION tag_count_keep()",
    "CREATE TRIGGER tag_count_delete AFTER DELETE ON candidate FOR EACH ROW "
    "WHEN (OLD.anonymised_at IS NULL AND OLD.tags IS NOT NULL AND OLD.tags::text <> '[]') "
    "EXECUTE FUNCTION tag_count_keep()",
    # TRUNCATE fires no row trigger: empty the counts with the candidates.
    "CREATE FUNCTION tag_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM tag_count; RETURN NULL; END $$",
    "CREATE TRIGGER tag_count_truncate AFTER TRUNCATE ON candidate "
    "FOR EACH STATEMENT EXECUTE FUNCTION tag_count_reset()",
]
POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS tag_count_truncate ON candidate",
    "DROP TRIGGER IF EXISTS tag_count_delete ON candidate",
    "DROP TRIGGER IF EXISTS tag_count_update ON candidate",
    "DROP TRIGGER IF EXISTS tag_count_insert ON candidate",
    "DROP FUNCTION IF EXISTS tag_count_reset()",
    "DROP FUNCTION IF EXISTS tag_count_keep()",
]
FILL = {
    "sqlite": "INSERT INTO tag_count (tag, count) SELECT tag, count(*) FROM (SELECT DISTINCT candidate.id, "
              "tags.value AS tag FROM candidate, json_each(candidate.tags) AS tags "
              "WHERE candidate.anonymised_at IS NULL AND candidate.tags <> '[]') AS carried GROUP BY tag",
    "postgresql": "INSERT INTO tag_count (tag, count) SELECT tag, count(*) FROM (SELECT DISTINCT candidate.id, "
                  "tags.value AS tag FROM candidate, json_array_elements_text(candidate.tags) AS tags(value) "
                  "WHERE candidate.anonymised_at IS NULL AND candidate.tags::text <> '[]') AS carried GROUP BY tag",
}


def upgrade():
    op.create_table(
        'tag_count',
        sa.Column('tag', sa.String(length=40), nullable=False),
        sa.Column('count', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('tag', name=op.f('pk_tag_count')),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)
    if dialect in FILL:
        op.execute(FILL[dialect])


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
    op.drop_table('tag_count')
