"""confidential cases: the groups an agent is in, and a ticket's confidential group

Every agent starts in no group and every mirrored ticket as an ordinary one; the
next event of a confidential ticket brings its group.

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'r0004'
down_revision = 'r0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('groups', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidential_group', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.drop_column('confidential_group')
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.drop_column('groups')
