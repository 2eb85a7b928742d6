"""whatsapp message content: the fingerprint each MessageSid first came with, so the same
MessageSid with other content is quarantined instead of answered as a duplicate

Revision ID: w0003
Revises: w0002
Create Date: 2026-11-28 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'w0003'
down_revision = 'w0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows from before have none: a retry of one of them is not compared.
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.drop_column('content_fingerprint')
