"""intake_email tables

Revision ID: e0001
Revises:
Create Date: 2026-11-23 11:19:26.903142
"""

import sqlalchemy as sa
from alembic import op

revision = 'e0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_email_checkpoints',
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_intake_email_checkpoints'))
    )
    op.create_table('intake_email_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_email_quarantine'))
    )
    with op.batch_alter_table('intake_email_quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_intake_email_quarantine_at', ['at'], unique=False)

    op.create_table('intake_email_seen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=True),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_email_seen')),
    sa.UniqueConstraint('mailbox', 'external_id', name='uq_intake_email_seen_mailbox_external_id')
    )
    op.create_table('intake_email_skipped',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_email_skipped'))
    )
    with op.batch_alter_table('intake_email_skipped', schema=None) as batch_op:
        batch_op.create_index('ix_intake_email_skipped_at', ['at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('intake_email_skipped', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_email_skipped_at')

    op.drop_table('intake_email_skipped')
    op.drop_table('intake_email_seen')
    with op.batch_alter_table('intake_email_quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_email_quarantine_at')

    op.drop_table('intake_email_quarantine')
    op.drop_table('intake_email_checkpoints')
