"""outbox status counts kept up to date by triggers

The Emails page shows how many emails have each status. Counted per visit, that read the
whole outbox (about 70 ms at 100k applications, ten times that at 1M). ``outbox_status_count``
holds the counts instead, one row per status, kept by triggers on outbox_email (insert,
change of status, delete) in the same transaction as the change, whatever writes it (the
verbs, the relay's claims, bulk loads). Filled from the existing emails here.

Revision ID: e2b9c4d71f06
Revises: b9e3f0a7c215
Create Date: 2026-12-01 03:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2b9c4d71f06'
down_revision = 'b9e3f0a7c215'
branch_labels = None
depends_on = None

# The upsert of one status by a delta; SQLite and PostgreSQL share the ON CONFLICT form.
BUMP = ("INSERT INTO outbox_status_count (status, count) VALUES ({status}, {delta}) "
        "ON CONFLICT (status) DO UPDATE SET count = outbox_status_count.count + {delta}")

SQLITE_UPGRADE = [
    "CREATE TRIGGER outbox_status_count_insert AFTER INSERT ON outbox_email BEGIN "
    + BUMP.format(status="NEW.status", delta="1") + "; END",
    "CREATE TRIGGER outbox_status_count_update AFTER UPDATE OF status ON outbox_email "
    "WHEN OLD.status IS NOT NEW.status BEGIN "
    + BUMP.format(status="OLD.status", delta="-1") + "; "
    + BUMP.format(status="NEW.status", delta="1") + "; END",
    "CREATE TRIGGER outbox_status_count_delete AFTER DELETE ON outbox_email BEGIN "
    + BUMP.format(status="OLD.status", delta="-1") + "; END",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS outbox_status_count_delete",
    "DROP TRIGGER IF EXISTS outbox_status_count_update",
    "DROP TRIGGER IF EXISTS outbox_status_count_insert",
]
POSTGRESQL_UPGRADE = [
    "CREATE FUNCTION outbox_status_count_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + BUMP.format(status="OLD.status", delta="-1") + "; END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + BUMP.format(status="NEW.status", delta="1") + "; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER outbox_status_count_insert_delete AFTER INSERT OR DELETE ON outbox_email "
    "FOR EACH ROW EXECUTE FUNCTION outbox_status_count_keep()",
    "CREATE TRIGGER outbox_status_count_update AFTER UPDATE OF status ON outbox_email "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION outbox_status_count_keep()",
    # TRUNCATE fires no row trigger: empty the counts with the emails.
    "CREATE FUNCTION outbox_status_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM outbox_status_count; RETURN NULL; END $$",
    "CREATE TRIGGER outbox_status_count_truncate AFTER TRUNCATE ON outbox_email "
    "FOR EACH STATEMENT EXECUTE FUNCTION outbox_status_count_reset()",
]
POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS outbox_status_count_truncate ON outbox_email",
    "DROP TRIGGER IF EXISTS outbox_status_count_update ON outbox_email",
    "DROP TRIGGER IF EXISTS outbox_status_count_insert_delete ON outbox_email",
    "DROP FUNCTION IF EXISTS outbox_status_count_reset()",
    "DROP FUNCTION IF EXISTS outbox_status_count_keep()",
]


def upgrade():
    op.create_table(
        'outbox_status_count',
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('count', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('status', name=op.f('pk_outbox_status_count')),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)
    op.execute("INSERT INTO outbox_status_count (status, count) "
               "SELECT status, count(*) FROM outbox_email GROUP BY status")


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
    op.drop_table('outbox_status_count')
