"""intake_email ledger: each message's content hash and sender (a reused Message-ID with other content)

Revision ID: e0002
Revises: e0001
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'e0002'
down_revision = 'e0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('intake_email_seen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sender', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('intake_email_seen', schema=None) as batch_op:
        batch_op.drop_column('sender')
        batch_op.drop_column('content_sha256')
