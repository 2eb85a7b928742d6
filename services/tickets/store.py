"""The tickets service's storage, as one object over one engine (one pool per process).

Each use case lives in its own module; this only binds them to the engine:
ingest.py (complaints in), changes.py (agents', the system's and the router's
changes), replies.py (replies and surveys), sla_check.py (the first-response
clock), queries.py (reading), undelivered.py (quarantine, dead letters).
Rows and snapshots are repository.py's; transactions and the outbox are
transactions.py's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.contract.errors import Conflict, NotFound
from services.common.messaging.outbox import pending as outbox_pending
from services.common.messaging.outbox import relay as outbox_relay

from . import changes, ingest, queries, replies, sla_check, undelivered
from .ingest import IngestResult
from .schema import outbox

__all__ = ["Conflict", "IngestResult", "NotFound", "TicketStore"]


class TicketStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # --- complaints in, and what could not come in ------------------------------------
    def ingest(self, complaint, notes_for_agents: tuple[str, ...] = ()) -> IngestResult:
        return ingest.ingest(self.engine, complaint, notes_for_agents)

    def knows_reference(self, reference: str) -> bool:
        return queries.knows_reference(self.engine, reference)

    def quarantine(self, reason: str, raw: str) -> int:
        return undelivered.quarantine_message(self.engine, reason, raw)

    def list_quarantine(self, limit=100) -> list[dict]:
        return undelivered.list_quarantine(self.engine, limit)

    def record_dead_letter(self, letter, state: str) -> None:
        undelivered.record_dead_letter(self.engine, letter, state)

    def list_dead_letters(self, limit=100) -> list[dict]:
        return undelivered.list_dead_letters(self.engine, limit)

    # --- reading ---------------------------------------------------------------------------
    def get(self, reference: str) -> dict:
        return queries.get(self.engine, reference)

    def public_view(self, reference: str) -> dict | None:
        return queries.public_view(self.engine, reference)

    def search(self, **filters) -> dict:
        return queries.search(self.engine, **filters)

    def open_counts(self) -> dict[tuple[str, str], int]:
        return queries.open_counts(self.engine)

    # --- changes -----------------------------------------------------------------------------
    def change(self, reference, fields: dict, actor_type: str, actor: str | None) -> dict:
        return changes.change(self.engine, reference, fields, actor_type, actor)

    def assign(self, reference, assignee, actor_type, actor, expected_assignee="*") -> dict:
        return changes.assign(self.engine, reference, assignee, actor_type, actor, expected_assignee)

    def apply_router_decision(self, reference, assignee, previous, assignment=None) -> str:
        return changes.apply_router_decision(self.engine, reference, assignee, previous, assignment)

    def add_note(self, reference, author, body) -> dict:
        return changes.add_note(self.engine, reference, author, body)

    def set_follow_up(self, reference, channel, address, actor_type="customer", actor=None) -> dict:
        return changes.set_follow_up(self.engine, reference, channel, address, actor_type, actor)

    def reply(self, reference, author, body, status=None) -> dict:
        return replies.reply(self.engine, reference, author, body, status)

    def record_survey(self, reference, rating, comment=None, source="link", actor=None) -> dict:
        return replies.record_survey(self.engine, reference, rating, comment, source, actor)

    def flag_sla_breaches(self, at, targets, limit: int = 500) -> list[dict]:
        return sla_check.flag_sla_breaches(self.engine, at, targets, limit)

    # --- health --------------------------------------------------------------------------------
    def outbox_pending(self) -> int:
        return outbox_pending(self.engine, outbox)

    def relay_outbox(self, publish, limit=100) -> int:
        return outbox_relay(self.engine, outbox, publish, limit)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))
