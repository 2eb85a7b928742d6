"""SLA first-response clock on tickets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_breached_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('sla_breached_at')
        batch_op.drop_column('first_response_at')
