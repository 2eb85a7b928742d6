"""How every change of a ticket is committed: one transaction holding the change,
its audit rows and its outbox events, retried when another replica or agent
changed the ticket first (optimistic versions: repository.update_ticket).
"""

from __future__ import annotations

from services.common.contract.errors import Conflict
from services.common.contract.events import Event
from services.common.messaging import outbox as outbox_rows
from services.common.time.clock import now

from .schema import outbox

TRIES = 5


def attempt(engine, work, what: str, tries: int = TRIES):
    """work(conn, at) in a transaction; on Conflict, again with fresh rows, `tries` times."""
    for _ in range(tries):
        try:
            with engine.begin() as conn:
                return work(conn, now())
        except Conflict:
            if tries == 1:
                raise
    raise Conflict(f"{what} kept changing; try again")


def emit(conn, event: Event, at) -> str:
    """Write one typed event to the outbox in the caller's transaction."""
    return outbox_rows.emit(conn, outbox, event.event_type, event.to_payload(), at)
