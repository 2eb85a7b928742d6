"""the tickets the notifier follows keep their customer as identities (kind, value)

The events now bring the customer as CustomerView (name, anonymous, identities);
tickets remembered before keep email, phone and whatsapp as keys. Each becomes an
identity of that kind, so reminders and surveys still reach those customers.

Revision ID: n0002
Revises: n0001
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'n0002'
down_revision = 'n0001'
branch_labels = None
depends_on = None

OLD_KEYS = ('email', 'phone', 'whatsapp')

tickets = sa.table('notifier_tickets', sa.column('reference', sa.String), sa.column('ticket', sa.JSON))


def upgrade() -> None:
    conn = op.get_bind()
    for reference, ticket in conn.execute(sa.select(tickets.c.reference, tickets.c.ticket)).all():
        customer = (ticket or {}).get('customer') or {}
        if 'identities' in customer:
            continue
        identities = [{'kind': k, 'value': customer[k]} for k in OLD_KEYS if customer.get(k)]
        kept = {k: v for k, v in customer.items() if k not in OLD_KEYS}
        conn.execute(sa.update(tickets).where(tickets.c.reference == reference)
                     .values(ticket={**ticket, 'customer': {**kept, 'identities': identities}}))


def downgrade() -> None:
    conn = op.get_bind()
    for reference, ticket in conn.execute(sa.select(tickets.c.reference, tickets.c.ticket)).all():
        customer = dict((ticket or {}).get('customer') or {})
        for identity in customer.pop('identities', None) or ():
            customer.setdefault(identity['kind'], identity['value'])
        conn.execute(sa.update(tickets).where(tickets.c.reference == reference)
                     .values(ticket={**ticket, 'customer': customer}))
