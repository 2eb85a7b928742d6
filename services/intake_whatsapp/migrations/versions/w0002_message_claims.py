"""whatsapp message claims: one request at a time publishes and acknowledges a MessageSid

Revision ID: w0002
Revises: w0001
Create Date: 2026-11-28 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'w0002'
down_revision = 'w0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows from before have no claim: a retry of one not yet published takes it.
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
