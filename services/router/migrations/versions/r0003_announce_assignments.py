"""assignments announced by event instead of pushed by RPC; where a ticket's region came from

Revision ID: r0003
Revises: r0002
Create Date: 2026-11-30 10:00:00

The push columns go (the tickets service now applies the router's TicketAssigned
events from its own queue). A pending push of an existing database is not lost:
its ticket gets announced_at from long ago, so the next reconcile announces it
again if the tickets service does not show it.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = 'r0003'
down_revision = 'r0002'
branch_labels = None
depends_on = None

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_source', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True))
    tickets = sa.table('router_tickets', sa.column('push_pending', sa.Integer),
                       sa.column('announced_at', sa.DateTime(timezone=True)))
    op.execute(tickets.update().where(tickets.c.push_pending == 1).values(
        announced_at=LONG_AGO))
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.drop_column('push_pending')
        batch_op.drop_column('pushed_assignee')


def downgrade() -> None:
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pushed_assignee', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('push_pending', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('announced_at')
        batch_op.drop_column('region_source')
