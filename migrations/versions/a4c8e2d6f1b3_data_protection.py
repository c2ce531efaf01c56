"""data protection: talent-pool consent dates and tags, anonymised candidates, and the one
controlled way to redact the audit log

The audit log stays append-only (migration c3a9e1f4d2b8), with one exception: while a row
exists in ``audit_redaction`` — which only hiring.privacy inserts, inside its own
transaction, and deletes before committing — an UPDATE of audit_event is allowed if it
sets ``redacted_at`` and changes no column but ``data``. Every other UPDATE, every DELETE
and TRUNCATE are refused as before.

Candidates who consented before this release get the consent dated from their creation,
expiring 24 months later (the default ``talent_pool_months``).

Revision ID: a4c8e2d6f1b3
Revises: a4c7e2f19d53
Create Date: 2026-11-30 23:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4c8e2d6f1b3'
down_revision = 'a4c7e2f19d53'
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only"

SQLITE_ALLOWED = (
    "EXISTS (SELECT 1 FROM audit_redaction) AND NEW.id = OLD.id AND NEW.kind = OLD.kind "
    "AND NEW.application_id IS OLD.application_id AND NEW.actor_id IS OLD.actor_id "
    "AND NEW.occurred_at = OLD.occurred_at AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL"
)
SQLITE_UPGRADE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event WHEN NOT ({SQLITE_ALLOWED}) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "UPDATE candidate SET talent_pool_consent_at = created_at, "
    "talent_pool_consent_source = 'recorded before consent dates were kept', "
    "talent_pool_expires_at = datetime(created_at, '+24 months') WHERE talent_pool_consent",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
POSTGRESQL_UPGRADE = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN "
    "  IF EXISTS (SELECT 1 FROM audit_redaction) AND NEW.id = OLD.id AND NEW.kind = OLD.kind "
    "     AND NEW.application_id IS NOT DISTINCT FROM OLD.application_id "
    "     AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.occurred_at = OLD.occurred_at "
    "     AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL THEN "
    "    RETURN NEW; "
    "  END IF; "
    "END IF; "
    f"RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "UPDATE candidate SET talent_pool_consent_at = created_at, "
    "talent_pool_consent_source = 'recorded before consent dates were kept', "
    "talent_pool_expires_at = created_at + interval '24 months' WHERE talent_pool_consent",
]
POSTGRESQL_DOWNGRADE = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation'; END $$",
]


def upgrade():
    op.create_table('audit_redaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_redaction'))
    )
    # Adding nullable columns needs no table copy on SQLite, so the triggers survive.
    with op.batch_alter_table('audit_event', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('candidate', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('talent_pool_consent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('talent_pool_consent_source', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('talent_pool_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('talent_pool_renewal_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}.get(dialect, []):
        op.execute(statement)
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('tags')
        batch_op.drop_column('talent_pool_renewal_sent_at')
        batch_op.drop_column('talent_pool_expires_at')
        batch_op.drop_column('talent_pool_consent_source')
        batch_op.drop_column('talent_pool_consent_at')

    # The audit log's triggers would be lost with a table copy: drop the column in place
    # (SQLite 3.35+ and PostgreSQL both can).
    op.execute("ALTER TABLE audit_event DROP COLUMN redacted_at")
    op.drop_table('audit_redaction')
