"""audit log append-only in the database: triggers refuse UPDATE and DELETE of audit events

The ORM already refuses to change or delete an AuditEvent, but a raw SQL statement, a
script or a console session went straight past it. Triggers make the database itself
refuse: on SQLite BEFORE UPDATE / BEFORE DELETE with RAISE(ABORT), on PostgreSQL a
BEFORE UPDATE OR DELETE row trigger and a BEFORE TRUNCATE statement trigger calling one
function (SQLSTATE 23001, restrict_violation). Emptying a whole database on purpose (the
demo undoing a half-load, the tests) lifts the guard for one transaction:
hiring.models.audit_guard_lifted.

Triggers and functions are not part of the models, so autogenerate and `flask db check`
neither see nor compare them.

Revision ID: c3a9e1f4d2b8
Revises: b7d41c0e9a25
Create Date: 2026-11-28 17:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a9e1f4d2b8'
down_revision = 'b7d41c0e9a25'
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only"

SQLITE_UPGRADE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_event_no_update",
]
POSTGRESQL_UPGRADE = [
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation'; END $$",
    "CREATE TRIGGER audit_event_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
]
POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update_or_delete ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
