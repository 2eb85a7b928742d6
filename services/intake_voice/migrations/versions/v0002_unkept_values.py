"""voice calls keep what they could not store as sent: the transcription's original, dropped recording fields

Revision ID: v0002
Revises: v0001
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'v0002'
down_revision = 'v0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voice_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcription_sent', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('dropped', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('voice_calls', schema=None) as batch_op:
        batch_op.drop_column('dropped')
        batch_op.drop_column('transcription_sent')
