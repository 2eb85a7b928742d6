"""follow-up channel and survey answer on tickets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('follow_up_address', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('survey_rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('survey_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('survey_answered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for column in ('survey_answered_at', 'survey_comment', 'survey_rating', 'follow_up_address',
                       'follow_up_channel'):
            batch_op.drop_column(column)
