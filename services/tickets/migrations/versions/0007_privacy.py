"""Privacy: legal hold and erasure on tickets; the erasure requests this service coordinates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('legal_hold_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'privacy_erasures',
        sa.Column('request_id', sa.String(length=36), nullable=False),
        sa.Column('identifiers', sa.JSON(), nullable=False),
        sa.Column('ticket_references', sa.JSON(), nullable=False),
        sa.Column('held_references', sa.JSON(), nullable=False),
        sa.Column('services', sa.JSON(), nullable=False),
        sa.Column('requested_by', sa.String(length=320), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('announcements', sa.Integer(), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('request_id', name=op.f('pk_privacy_erasures')),
    )
    op.create_index(op.f('ix_privacy_erasures_completed_at'), 'privacy_erasures', ['completed_at'], unique=False)
    op.create_table(
        'privacy_erasure_reports',
        sa.Column('request_id', sa.String(length=36), nullable=False),
        sa.Column('service', sa.String(length=32), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['privacy_erasures.request_id'],
                                name=op.f('fk_privacy_erasure_reports_request_id_privacy_erasures')),
        sa.PrimaryKeyConstraint('request_id', 'service', name=op.f('pk_privacy_erasure_reports')),
    )


def downgrade() -> None:
    op.drop_table('privacy_erasure_reports')
    op.drop_index(op.f('ix_privacy_erasures_completed_at'), table_name='privacy_erasures')
    op.drop_table('privacy_erasures')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('legal_hold_reason')
        batch_op.drop_column('legal_hold')
