"""Customer identities as rows (ticket_identities); where a ticket's region came from

Every ticket's customer_email, customer_phone and customer_whatsapp become rows
of ticket_identities (kind, value), and the three columns go: a new channel's
identity is a new kind, not a new column. Downgrade puts the columns back,
filled from the rows (the first of each kind; kinds without a column are lost).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The columns this revision turns into rows, with their old sizes (for downgrade).
COLUMNS = (('email', 'customer_email', 320), ('phone', 'customer_phone', 20),
           ('whatsapp', 'customer_whatsapp', 20))


def upgrade() -> None:
    op.create_table(
        'ticket_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_identities_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_identities')),
        sa.UniqueConstraint('ticket_id', 'kind', 'value', name='uq_ticket_identities_ticket_kind_value'),
    )
    op.create_index('ix_ticket_identities_kind_value', 'ticket_identities', ['kind', 'value'], unique=False)
    for kind, column, _size in COLUMNS:
        # Blank values were never identities (threading ignored them); keep it so.
        op.execute(sa.text(
            f"INSERT INTO ticket_identities (ticket_id, kind, value) "
            f"SELECT id, '{kind}', {column} FROM tickets WHERE {column} IS NOT NULL AND {column} <> '' "
            f"ORDER BY id"))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for _kind, column, _size in COLUMNS:
            batch_op.drop_index(batch_op.f(f'ix_tickets_{column}'))
            batch_op.drop_column(column)
        batch_op.add_column(sa.Column('region_source', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('region_source')
        for _kind, column, size in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.String(length=size), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_tickets_{column}'), [column], unique=False)
    for kind, column, size in COLUMNS:
        op.execute(sa.text(
            f"UPDATE tickets SET {column} = (SELECT substr(i.value, 1, {size}) FROM ticket_identities i "
            f"WHERE i.ticket_id = tickets.id AND i.kind = '{kind}' ORDER BY i.id LIMIT 1)"))
    op.drop_index('ix_ticket_identities_kind_value', table_name='ticket_identities')
    op.drop_table('ticket_identities')
