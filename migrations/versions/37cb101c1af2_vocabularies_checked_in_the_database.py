"""vocabularies checked in the database: candidate contacts' kind and channel, references' status

The other vocabularies (role, stage, language, position and outbox status, recommendation,
promise outcome) already had their CHECK constraint; the models now generate every one
from its enum (models.one_of), with the same SQL as before. The values are written out
here, as they were when this migration was made.

Revision ID: 37cb101c1af2
Revises: 5b2f8c1d7e64
Create Date: 2026-12-01 00:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '37cb101c1af2'
down_revision = '5b2f8c1d7e64'
branch_labels = None
depends_on = None

CONTACT_KINDS = "'thank_you', 'enquiry', 'other'"
CONTACT_CHANNELS = "'email', 'phone', 'in_person', 'other'"
REFERENCE_STATUSES = "'requested', 'received', 'positive', 'negative', 'unreachable'"


def upgrade():
    with op.batch_alter_table('candidate_contact', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_candidate_contact_kind'), f"kind IN ({CONTACT_KINDS})")
        batch_op.create_check_constraint(op.f('ck_candidate_contact_channel'), f"channel IN ({CONTACT_CHANNELS})")
    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_reference_status'), f"status IN ({REFERENCE_STATUSES})")


def downgrade():
    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reference_status'), type_='check')
    with op.batch_alter_table('candidate_contact', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_candidate_contact_channel'), type_='check')
        batch_op.drop_constraint(op.f('ck_candidate_contact_kind'), type_='check')
