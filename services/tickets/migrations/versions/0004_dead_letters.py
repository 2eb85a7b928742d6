"""Dead-lettered complaints, as the watcher last saw them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dead_letters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('reference', sa.String(length=16), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('deaths', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters')),
        sa.UniqueConstraint('key', name=op.f('uq_dead_letters_key')),
    )
    op.create_index(op.f('ix_dead_letters_reference'), 'dead_letters', ['reference'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dead_letters_reference'), table_name='dead_letters')
    op.drop_table('dead_letters')
