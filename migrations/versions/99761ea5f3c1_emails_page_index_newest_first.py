"""emails page: indexes to list emails newest first

The Emails page orders every email by (created_at, id) descending; without an index each
page sorted the whole outbox (372k emails in the 100k dataset: ~90 ms a page, a second for
page 3,000). The second index serves the page filtered by status, which would otherwise
walk the first one to find the few failed emails.

Revision ID: 99761ea5f3c1
Revises: c3a9e1f4d2b8
Create Date: 2026-11-28 18:41:42.695081

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '99761ea5f3c1'
down_revision = 'c3a9e1f4d2b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_outbox_email_created_at', 'outbox_email', ['created_at', 'id'], unique=False)
    op.create_index('ix_outbox_email_status_created_at', 'outbox_email', ['status', 'created_at', 'id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_outbox_email_status_created_at', table_name='outbox_email')
    op.drop_index('ix_outbox_email_created_at', table_name='outbox_email')
