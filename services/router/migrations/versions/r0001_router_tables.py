"""router tables

Revision ID: r0001
Revises:
Create Date: 2026-11-23 09:16:14.781665
"""

import sqlalchemy as sa
from alembic import op

revision = 'r0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('router_agents',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('capacity', sa.Float(), nullable=False),
    sa.Column('channel_capacity', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('load', sa.Float(), nullable=False),
    sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_router_agents'))
    )
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_router_agents_status'), ['status'], unique=False)

    op.create_table('router_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('winner', sa.String(length=100), nullable=True),
    sa.Column('previous', sa.String(length=100), nullable=True),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_decisions'))
    )
    with op.batch_alter_table('router_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_router_decisions_reference'), ['reference'], unique=False)

    op.create_table('router_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_router_outbox_event_id'))
    )
    with op.batch_alter_table('router_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_router_outbox_pending', ['published_at', 'id'], unique=False)

    op.create_table('router_processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_router_processed_events'))
    )
    op.create_table('router_tickets',
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('pushed_assignee', sa.String(length=100), nullable=True),
    sa.Column('push_pending', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('reference', name=op.f('pk_router_tickets'))
    )
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_router_tickets_assignee'), ['assignee'], unique=False)
        batch_op.create_index('ix_router_tickets_waiting', ['waiting_since'], unique=False)

    op.create_table('router_vacations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=100), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agent'], ['router_agents.name'],
                            name=op.f('fk_router_vacations_agent_router_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_vacations'))
    )
    with op.batch_alter_table('router_vacations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_router_vacations_agent'), ['agent'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('router_vacations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_router_vacations_agent'))

    op.drop_table('router_vacations')
    with op.batch_alter_table('router_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_router_tickets_waiting')
        batch_op.drop_index(batch_op.f('ix_router_tickets_assignee'))

    op.drop_table('router_tickets')
    op.drop_table('router_processed_events')
    with op.batch_alter_table('router_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_router_outbox_pending')

    op.drop_table('router_outbox')
    with op.batch_alter_table('router_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_router_decisions_reference'))

    op.drop_table('router_decisions')
    with op.batch_alter_table('router_agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_router_agents_status'))

    op.drop_table('router_agents')
