"""the groups a console user is in (who sees confidential cases)

Every existing user starts in no group.

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c0003'
down_revision = 'c0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('groups', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_column('groups')
