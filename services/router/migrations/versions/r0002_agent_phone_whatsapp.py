"""agents' phone and WhatsApp numbers (for the notifier's alerts and callbacks)

Revision ID: r0002
Revises: r0001
Create Date: 2026-11-23 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'r0002'
down_revision = 'r0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('whatsapp', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.drop_column('whatsapp')
        batch_op.drop_column('phone')
