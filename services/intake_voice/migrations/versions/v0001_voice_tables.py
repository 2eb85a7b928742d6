"""voice tables

Revision ID: v0001
Revises:
Create Date: 2026-11-23 11:25:04.007043
"""

import sqlalchemy as sa
from alembic import op

revision = 'v0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_calls',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('caller', sa.String(length=20), nullable=True),
    sa.Column('from_raw', sa.String(length=64), nullable=True),
    sa.Column('to_number', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('callback_number', sa.String(length=20), nullable=True),
    sa.Column('window_start', sa.String(length=40), nullable=True),
    sa.Column('window_end', sa.String(length=40), nullable=True),
    sa.Column('recording_sid', sa.String(length=64), nullable=True),
    sa.Column('recording_url', sa.String(length=2000), nullable=True),
    sa.Column('recording_duration', sa.Integer(), nullable=True),
    sa.Column('transcription', sa.Text(), nullable=True),
    sa.Column('transcription_status', sa.String(length=20), nullable=True),
    sa.Column('call_status', sa.String(length=20), nullable=True),
    sa.Column('primary_kind', sa.String(length=16), nullable=True),
    sa.Column('primary_transcribed', sa.Integer(), nullable=False),
    sa.Column('primary_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_voice_calls'))
    )


def downgrade() -> None:
    op.drop_table('voice_calls')
