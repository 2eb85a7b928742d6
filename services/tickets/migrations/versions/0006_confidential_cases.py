"""Confidential cases: the flag and group on tickets, and the access log

Every existing ticket stays as it was (not confidential). The access log is new
and starts empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidential', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('confidential_group', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_confidential'), ['confidential'], unique=False)
    op.create_table(
        'access_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=320), nullable=False),
        sa.Column('actor_type', sa.String(length=10), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    )
    op.create_index('ix_access_log_reference_at', 'access_log', ['reference', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_access_log_reference_at', table_name='access_log')
    op.drop_table('access_log')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_confidential'))
        batch_op.drop_column('confidential_group')
        batch_op.drop_column('confidential')
