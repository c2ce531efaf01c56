"""SQLite: a second trigram index of the candidates whose rowids follow name order

The candidate search lists its matches by name (name, id), 25 a page. The trigram table
candidate_search is keyed by candidate id, so a page had to take every match of a common
name before the first could be listed: 24,510 for "schmidt" at 1M applications, 8 ms for
the phrase alone, 10 ms for the page, 144 ms for "xav" (its matches all sort last, so the
walk of the name index in order read nearly all of it).

Here every candidate gets a sort key that follows (name, id): candidate_search_order maps
the candidate to it, and candidate_search_by_name indexes name and email under that key as
its rowid. FTS5 returns a MATCH in rowid order and stops at a LIMIT, so a page reads its
own matches and those before it (0.3 ms for "schmidt"), whatever the count.

Keys are spaced out (rank times 2**24) so a new candidate fits between its neighbours:
the triggers give it the midpoint, or a short step after its namesake (a name inserted again
and again would halve one gap each time: 2**16 namesakes fit), or a step beyond either end.
A wider spacing leaves more room but costs index space: FTS5 stores each rowid as the
varint of its distance from the previous one (2**41 made the index 289 MB at 1M
applications, twice the 142 MB of candidate_search). When no
whole number is left between the neighbours, the candidate is "unplaced": key 2**62 + id,
kept out of the ordered walk, and the search takes all unplaced matches and sorts them
with the page (slower only as they grow; the rebuild below places them all again).

PostgreSQL has no such index type (GIN hands back a bitmap, GiST does not keep name
order): nothing changes there.

Revision ID: c8e4a6f2b1d9
Revises: f3b7d2c9a1e5
Create Date: 2026-12-01 16:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8e4a6f2b1d9'
down_revision = 'f3b7d2c9a1e5'
branch_labels = None
depends_on = None

# Keys of placed candidates lie strictly between -UNPLACED and UNPLACED (the same numbers
# as hiring.queries.NAME_ORDER_UNPLACED and hiring.generator.bulk's rebuild).
UNPLACED = 2 ** 62
SPACING = 2 ** 24  # between neighbours in a rebuild, and beyond the first or last name
NAMESAKE_STEP = 2 ** 8  # after the last candidate of the same name


def _place(row: str) -> str:
    """The statement that gives ``row`` (new) its key, its neighbours in (name, id) order
    among the placed candidates read through the name index."""
    # "+o.sort_key": a condition on the key index made SQLite read the keys in range and sort
    # them (a second per insert at 20,000 candidates) instead of walking the name index.
    neighbour = ("SELECT o.sort_key AS key, c.name = {row}.name AS namesake FROM candidate AS c "
                 "JOIN candidate_search_order AS o ON o.candidate_id = c.id "
                 "WHERE (c.name, c.id) {cmp} ({row}.name, {row}.id) AND +o.sort_key > -{u} AND +o.sort_key < {u} "
                 "ORDER BY c.name {dir}, c.id {dir} LIMIT 1")
    before = neighbour.format(row=row, cmp="<", dir="DESC", u=UNPLACED)
    after = neighbour.format(row=row, cmp=">", dir="ASC", u=UNPLACED)
    return (
        "INSERT INTO candidate_search_order (candidate_id, sort_key) "
        f"SELECT {row}.id, CASE WHEN k > coalesce(p, -{UNPLACED}) AND k < coalesce(n, {UNPLACED}) "
        f"THEN k ELSE {UNPLACED} + {row}.id END FROM ("
        "SELECT p, n, CASE "
        "WHEN p IS NULL AND n IS NULL THEN 0 "
        f"WHEN n IS NULL THEN p + min(CASE WHEN namesake THEN {NAMESAKE_STEP} ELSE {SPACING} END, "
        f"({UNPLACED} - p) / 2) "
        f"WHEN p IS NULL THEN n - min({SPACING}, (n + {UNPLACED}) / 2) "
        f"WHEN namesake THEN p + min({NAMESAKE_STEP}, (n - p) / 2) "
        "ELSE p + (n - p) / 2 END AS k "
        f"FROM (SELECT (SELECT key FROM ({before})) AS p, (SELECT namesake FROM ({before})) AS namesake, "
        f"(SELECT key FROM ({after})) AS n));"
    )


def _index(row: str) -> str:
    return (f"INSERT INTO candidate_search_by_name (rowid, name, email) SELECT sort_key, {row}.name, {row}.email "
            f"FROM candidate_search_order WHERE candidate_id = {row}.id;")


def _unindex(row: str) -> str:
    # Contentless: a row is deleted by its key and the values it was indexed with.
    return ("INSERT INTO candidate_search_by_name (candidate_search_by_name, rowid, name, email) "
            f"SELECT 'delete', sort_key, {row}.name, {row}.email FROM candidate_search_order "
            f"WHERE candidate_id = {row}.id;")


# Every candidate in (name, id) order, spaced evenly around 0 (also bulk.rebuild_name_order).
REBUILD = [
    "DELETE FROM candidate_search_order",
    "INSERT INTO candidate_search_by_name (candidate_search_by_name) VALUES ('delete-all')",
    "INSERT INTO candidate_search_order (candidate_id, sort_key) "
    f"SELECT c.id, (row_number() OVER (ORDER BY c.name, c.id) - (t.n + 1) / 2) * {SPACING} "
    "FROM candidate AS c, (SELECT count(*) AS n FROM candidate) AS t",
    "INSERT INTO candidate_search_by_name (rowid, name, email) SELECT o.sort_key, c.name, c.email "
    "FROM candidate AS c JOIN candidate_search_order AS o ON o.candidate_id = c.id",
    # One segment: a rare phrase (a whole email) read 0.10 ms instead of 1.04 ms at 1M.
    "INSERT INTO candidate_search_by_name (candidate_search_by_name) VALUES ('optimize')",
]

SQLITE_UPGRADE = [
    "CREATE TABLE IF NOT EXISTS candidate_search_order (candidate_id INTEGER PRIMARY KEY, sort_key INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS candidate_search_order_key ON candidate_search_order (sort_key)",
    # Contentless: the names and emails stay in candidate, a phrase needs only the index;
    # columnsize=0: no lengths kept, they serve only ranking.
    "CREATE VIRTUAL TABLE IF NOT EXISTS candidate_search_by_name USING fts5("
    "name, email, content='', columnsize=0, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_order_insert AFTER INSERT ON candidate BEGIN "
    + _place("new") + _index("new") + " END",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_order_delete AFTER DELETE ON candidate BEGIN "
    + _unindex("old") + " DELETE FROM candidate_search_order WHERE candidate_id = old.id; END",
    # A new email keeps the key; a new name moves the candidate to its new place.
    "CREATE TRIGGER IF NOT EXISTS candidate_search_order_email AFTER UPDATE OF name, email ON candidate "
    "WHEN old.name IS new.name BEGIN " + _unindex("old") + _index("new") + " END",
    "CREATE TRIGGER IF NOT EXISTS candidate_search_order_name AFTER UPDATE OF name, email ON candidate "
    "WHEN old.name IS NOT new.name BEGIN " + _unindex("old")
    + " DELETE FROM candidate_search_order WHERE candidate_id = old.id; " + _place("new") + _index("new") + " END",
    *REBUILD[2:],
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS candidate_search_order_name",
    "DROP TRIGGER IF EXISTS candidate_search_order_email",
    "DROP TRIGGER IF EXISTS candidate_search_order_delete",
    "DROP TRIGGER IF EXISTS candidate_search_order_insert",
    "DROP TABLE IF EXISTS candidate_search_by_name",
    "DROP TABLE IF EXISTS candidate_search_order",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
