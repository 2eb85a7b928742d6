"""sms tables: one row per MessageSid with its claim, the conversation window per number,
the quarantine and the delivery statuses (the shape of every Twilio messaging intake)

Revision ID: s0001
Revises:
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 's0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_conversations',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('last_message_at', sa.Float(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_sms_conversations'))
    )
    op.create_table('sms_messages',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('intake_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('ack_reference', sa.String(length=16), nullable=False),
    sa.Column('thread_reference', sa.String(length=16), nullable=True),
    sa.Column('follow_up', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_sms_messages'))
    )
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_messages_number'), ['number'], unique=False)

    op.create_table('sms_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_quarantine'))
    )
    with op.batch_alter_table('sms_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_quarantine_message_sid'), ['message_sid'], unique=False)

    op.create_table('sms_statuses',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=10), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_sms_statuses'))
    )


def downgrade() -> None:
    op.drop_table('sms_statuses')
    with op.batch_alter_table('sms_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_quarantine_message_sid'))

    op.drop_table('sms_quarantine')
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_messages_number'))

    op.drop_table('sms_messages')
    op.drop_table('sms_conversations')
