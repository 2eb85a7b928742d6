"""intake_chat idempotency keys: one row per (channel, kind, key) a client sent, with the
fingerprint of its content and the reference it was answered

Revision ID: c0001
Revises:
Create Date: 2026-11-28 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_chat_idempotency_keys',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'kind', 'key', name=op.f('pk_intake_chat_idempotency_keys'))
    )
    with op.batch_alter_table('intake_chat_idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_chat_idempotency_keys_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intake_chat_idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_chat_idempotency_keys_created_at'))

    op.drop_table('intake_chat_idempotency_keys')
