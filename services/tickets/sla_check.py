"""The first-response clock: flag open tickets nobody answered within their
priority's target (domain.first_response_breached), once each, whatever the
number of replicas looking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from services.common.contract.events import TicketSlaBreached
from services.common.contract.vocabulary import OPEN_STATUS_VALUES
from services.common.time.clock import utc

from . import domain
from . import repository as repo
from .schema import tickets
from .transactions import emit


def flag_sla_breaches(engine, at: datetime, targets: dict[str, float], limit: int = 500) -> list[dict]:
    """Mark open, unanswered tickets past their first-response target: a conditional
    update, so several replicas never flag (or count) one twice. Audited and announced
    as ticket_sla_breached; returns the tickets flagged (the agents' view)."""
    flagged = []
    with engine.begin() as conn:
        for priority, minutes in targets.items():
            rows = conn.execute(select(tickets).where(
                tickets.c.status.in_(OPEN_STATUS_VALUES), tickets.c.priority == str(priority),
                tickets.c.first_response_at.is_(None), tickets.c.sla_breached_at.is_(None),
                tickets.c.created_at < at - timedelta(minutes=minutes)).limit(limit)).all()
            for row in rows:
                if not domain.first_response_breached(row.status, row.priority, utc(row.created_at), None,
                                                      at, targets):
                    continue
                if conn.execute(update(tickets).where(tickets.c.id == row.id, tickets.c.sla_breached_at.is_(None))
                                .values(sla_breached_at=at)).rowcount != 1:
                    continue
                repo.add_audit(conn, row.id, at, "system", "sla", "sla_breached",
                               {"target": "first_response", "minutes": minutes, "priority": priority})
                ticket = repo.snapshot_of(conn, row.id)
                emit(conn, TicketSlaBreached(ticket=ticket, target="first_response", minutes=minutes), at)
                flagged.append(repo.view(ticket))
    return flagged
