"""open applications per stage kept up to date by triggers

The dashboard and the boards show how many open applications each stage holds. Counted
per visit, that read every open application (and grows with them). Two tables hold the
counts instead, kept by triggers in the same transaction as the change, whatever writes
it (the verbs, the generator's bulk loads, a script):

- ``stage_count``: per position, owner (0 for none) and open stage — the boards filtered
  by position or owner add up a handful of its rows;
- ``board_stage_count``: per open stage, the open applications of *open* positions — the
  dashboard and the unfiltered board read its six rows. A position that closes or reopens
  moves its applications out of it or back (a trigger on position).

Filled from the existing applications here.

Revision ID: c5d8a3e1f9b2
Revises: 3d8f1b6c2a70
Create Date: 2026-12-01 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5d8a3e1f9b2'
down_revision = '3d8f1b6c2a70'
branch_labels = None
depends_on = None

# The open stages as this migration knows them (a later change to the stages brings its own migration).
OPEN = "('applied', 'first_interview', 'first_decision', 'second_interview', 'final_decision', 'offer')"

# Upserts by a delta for one application row ({row} is NEW or OLD); each does nothing unless
# the row's stage is open (and, for the board, its position is open). SQLite and PostgreSQL
# share the INSERT … SELECT … ON CONFLICT form (SQLite needs the WHERE before ON CONFLICT).
BUMP = ("INSERT INTO stage_count (position_id, owner_id, stage, count) "
        "SELECT {row}.position_id, COALESCE({row}.owner_id, 0), {row}.stage, {delta} WHERE {row}.stage IN " + OPEN
        + " ON CONFLICT (position_id, owner_id, stage) DO UPDATE SET count = stage_count.count + {delta}")
BUMP_BOARD = ("INSERT INTO board_stage_count (stage, count) "
              "SELECT {row}.stage, {delta} FROM \"position\" WHERE \"position\".id = {row}.position_id "
              "AND \"position\".status = 'open' AND {row}.stage IN " + OPEN
              + " ON CONFLICT (stage) DO UPDATE SET count = board_stage_count.count + {delta}")
# A position that closes (reopens) takes its open applications out of the board's counts (back in).
MOVE_POSITION = ("INSERT INTO board_stage_count (stage, count) "
                 "SELECT stage, CASE WHEN NEW.status = 'open' THEN total ELSE -total END FROM "
                 "(SELECT stage, SUM(count) AS total FROM stage_count WHERE position_id = NEW.id GROUP BY stage) "
                 "AS moved WHERE true ORDER BY stage "
                 "ON CONFLICT (stage) DO UPDATE SET count = board_stage_count.count + excluded.count")


def _both(row: str, delta: str) -> str:
    return BUMP.format(row=row, delta=delta) + "; " + BUMP_BOARD.format(row=row, delta=delta) + "; "


CHANGED = "OLD.stage {ne} NEW.stage OR OLD.position_id {ne} NEW.position_id OR OLD.owner_id {ne} NEW.owner_id"
STATUS_CHANGED = "(OLD.status = 'open') {ne} (NEW.status = 'open')"

SQLITE_UPGRADE = [
    f"CREATE TRIGGER stage_count_insert AFTER INSERT ON application WHEN NEW.stage IN {OPEN} BEGIN "
    + _both("NEW", "1") + "END",
    "CREATE TRIGGER stage_count_update AFTER UPDATE OF stage, position_id, owner_id ON application "
    f"WHEN {CHANGED.format(ne='IS NOT')} BEGIN " + _both("OLD", "-1") + _both("NEW", "1") + "END",
    f"CREATE TRIGGER stage_count_delete AFTER DELETE ON application WHEN OLD.stage IN {OPEN} BEGIN "
    + _both("OLD", "-1") + "END",
    "CREATE TRIGGER stage_count_position_status AFTER UPDATE OF status ON \"position\" "
    f"WHEN {STATUS_CHANGED.format(ne='IS NOT')} BEGIN " + MOVE_POSITION + "; END",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS stage_count_position_status",
    "DROP TRIGGER IF EXISTS stage_count_delete",
    "DROP TRIGGER IF EXISTS stage_count_update",
    "DROP TRIGGER IF EXISTS stage_count_insert",
]
POSTGRESQL_UPGRADE = [
    # Concurrent moves take the count rows in one order (stage_count before board_stage_count,
    # each by its key), so two transactions moving applications in opposite directions queue
    # behind each other instead of deadlocking.
    "CREATE FUNCTION stage_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN " + _both("NEW", "1") + "RETURN NULL; END IF; "
    "IF TG_OP = 'DELETE' THEN " + _both("OLD", "-1") + "RETURN NULL; END IF; "
    "IF (OLD.position_id, COALESCE(OLD.owner_id, 0), OLD.stage) "
    "<= (NEW.position_id, COALESCE(NEW.owner_id, 0), NEW.stage) THEN "
    + BUMP.format(row="OLD", delta="-1") + "; " + BUMP.format(row="NEW", delta="1") + "; ELSE "
    + BUMP.format(row="NEW", delta="1") + "; " + BUMP.format(row="OLD", delta="-1") + "; END IF; "
    "IF OLD.stage <= NEW.stage THEN "
    + BUMP_BOARD.format(row="OLD", delta="-1") + "; " + BUMP_BOARD.format(row="NEW", delta="1") + "; ELSE "
    + BUMP_BOARD.format(row="NEW", delta="1") + "; " + BUMP_BOARD.format(row="OLD", delta="-1") + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER stage_count_insert AFTER INSERT ON application "
    f"FOR EACH ROW WHEN (NEW.stage IN {OPEN}) EXECUTE FUNCTION stage_count_keep()",
    "CREATE TRIGGER stage_count_delete AFTER DELETE ON application "
    f"FOR EACH ROW WHEN (OLD.stage IN {OPEN}) EXECUTE FUNCTION stage_count_keep()",
    "CREATE TRIGGER stage_count_update AFTER UPDATE OF stage, position_id, owner_id ON application "
    f"FOR EACH ROW WHEN ({CHANGED.format(ne='IS DISTINCT FROM')}) EXECUTE FUNCTION stage_count_keep()",
    "CREATE FUNCTION stage_count_position_status() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    + MOVE_POSITION + "; RETURN NULL; END $$",
    "CREATE TRIGGER stage_count_position_status AFTER UPDATE OF status ON \"position\" "
    f"FOR EACH ROW WHEN ({STATUS_CHANGED.format(ne='IS DISTINCT FROM')}) "
    "EXECUTE FUNCTION stage_count_position_status()",
    # TRUNCATE fires no row trigger: empty the counts with the applications.
    "CREATE FUNCTION stage_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM stage_count; DELETE FROM board_stage_count; RETURN NULL; END $$",
    "CREATE TRIGGER stage_count_truncate AFTER TRUNCATE ON application "
    "FOR EACH STATEMENT EXECUTE FUNCTION stage_count_reset()",
]
POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS stage_count_truncate ON application",
    "DROP TRIGGER IF EXISTS stage_count_position_status ON \"position\"",
    "DROP TRIGGER IF EXISTS stage_count_update ON application",
    "DROP TRIGGER IF EXISTS stage_count_delete ON application",
    "DROP TRIGGER IF EXISTS stage_count_insert ON application",
    "DROP FUNCTION IF EXISTS stage_count_reset()",
    "DROP FUNCTION IF EXISTS stage_count_position_status()",
    "DROP FUNCTION IF EXISTS stage_count_keep()",
]


def upgrade():
    op.create_table(
        'stage_count',
        sa.Column('position_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('count', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('position_id', 'owner_id', 'stage', name=op.f('pk_stage_count')),
    )
    op.create_index('ix_stage_count_owner_id', 'stage_count', ['owner_id'], unique=False)
    op.create_table(
        'board_stage_count',
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('count', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('stage', name=op.f('pk_board_stage_count')),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)
    op.execute("INSERT INTO stage_count (position_id, owner_id, stage, count) "
               "SELECT position_id, COALESCE(owner_id, 0), stage, count(*) FROM application "
               f"WHERE stage IN {OPEN} GROUP BY position_id, COALESCE(owner_id, 0), stage")
    op.execute("INSERT INTO board_stage_count (stage, count) "
               "SELECT application.stage, count(*) FROM application "
               "JOIN \"position\" ON \"position\".id = application.position_id "
               f"WHERE \"position\".status = 'open' AND application.stage IN {OPEN} GROUP BY application.stage")


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
    op.drop_table('board_stage_count')
    op.drop_index('ix_stage_count_owner_id', table_name='stage_count')
    op.drop_table('stage_count')
