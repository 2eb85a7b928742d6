"""when the notifier's copy of a ticket lost its customer's contact data (privacy)

Revision ID: n0003
Revises: n0002
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'n0003'
down_revision = 'n0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifier_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifier_tickets', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
