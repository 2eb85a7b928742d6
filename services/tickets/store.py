"""The tickets service's storage, as one object over one engine (one pool per process).

Each use case lives in its own module; this only binds them to the engine:
ingest.py (complaints in), changes.py (agents', the system's and the router's
changes), replies.py (replies and surveys), sla_check.py (the first-response
clock), queries.py (reading), undelivered.py (quarantine, dead letters), access_log.py (who saw a
confidential case). Rows and snapshots are repository.py's; transactions and
the outbox are transactions.py's. Methods that take a `viewer`
(confidentiality.Viewer) read for that person: a confidential case they may not
see is absent, and what they see of one is written to the access log; without
a viewer the service reads for itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.contract.errors import Conflict, Forbidden, NotFound
from services.common.messaging.outbox import pending as outbox_pending
from services.common.messaging.outbox import relay as outbox_relay

from . import access_log, changes, confidentiality, ingest, queries, replies, sla_check, undelivered
from .confidentiality import Viewer
from .ingest import IngestResult
from .schema import outbox

__all__ = ["Conflict", "IngestResult", "NotFound", "TicketStore"]


class TicketStore:
    def __init__(self, engine: Engine, confidential: confidentiality.Settings = confidentiality.Settings()):
        self.engine = engine
        self.confidential = confidential

    # --- complaints in, and what could not come in ------------------------------------
    def ingest(self, complaint, notes_for_agents: tuple[str, ...] = ()) -> IngestResult:
        return ingest.ingest(self.engine, complaint, notes_for_agents, self.confidential)

    def knows_reference(self, reference: str) -> bool:
        return queries.knows_reference(self.engine, reference)

    def quarantine(self, reason: str, raw: str) -> int:
        return undelivered.quarantine_message(self.engine, reason, raw)

    def list_quarantine(self, limit=100, viewer: Viewer | None = None) -> list[dict]:
        """A message meant as a confidential complaint keeps its text from a non-member."""
        items = undelivered.list_quarantine(self.engine, limit)
        if viewer is None or viewer.sees(True, self.confidential.group):
            return items
        withheld = confidentiality.WITHHELD.format(group=self.confidential.group)
        return [{**i, "raw": withheld} if confidentiality.raw_looks_confidential(i["raw"], self.confidential) else i
                for i in items]

    def record_dead_letter(self, letter, state: str) -> None:
        undelivered.record_dead_letter(self.engine, letter, state)

    def list_dead_letters(self, limit=100, viewer: Viewer | None = None) -> list[dict]:
        return undelivered.list_dead_letters(self.engine, limit, viewer.visible_groups if viewer else None)

    # --- reading ---------------------------------------------------------------------------
    def get(self, reference: str, viewer: Viewer | None = None) -> dict:
        ticket = queries.get(self.engine, reference, viewer)
        if viewer is not None and viewer.logged(ticket["confidential"]):
            access_log.record(self.engine, [ticket["reference"]], viewer.actor, viewer.actor_type,
                              confidentiality.VIEW)
        return ticket

    def check_visible(self, reference: str, viewer: Viewer | None) -> None:
        """NotFound, as for no ticket at all, when `viewer` may not see the ticket (before
        they change it)."""
        with self.engine.connect() as conn:
            queries.visible(conn, reference, viewer)

    def public_view(self, reference: str) -> dict | None:
        return queries.public_view(self.engine, reference)

    def search(self, viewer: Viewer | None = None, **filters) -> dict:
        found = queries.search(self.engine, visible_groups=viewer.visible_groups if viewer else None, **filters)
        if viewer is not None:
            hits = [t["reference"] for t in found["items"] if viewer.logged(t["confidential"])]
            access_log.record(self.engine, hits, viewer.actor, viewer.actor_type, confidentiality.LIST_HIT)
        return found

    def access_log(self, reference: str, viewer: Viewer) -> dict:
        """Who saw this ticket: for members of its group who supervise (Forbidden for
        other members; NotFound for whoever may not see the ticket at all)."""
        with self.engine.connect() as conn:
            row = queries.visible(conn, reference, viewer)
        group = row.confidential_group or self.confidential.group
        if not viewer.may_read_access_log(group):
            raise Forbidden(f"the access log of {row.reference} is for supervisors in the {group} group")
        return {"reference": row.reference, "confidential": bool(row.confidential), "group": group,
                "items": access_log.entries(self.engine, row.reference)}

    def record_alert(self, reference: str, agent: str) -> int:
        """The notifier told `agent` of this confidential case (an access-log row)."""
        with self.engine.connect() as conn:
            row = queries.visible(conn, reference, None)
        if not row.confidential:
            return 0
        return access_log.record(self.engine, [row.reference], agent, confidentiality.AGENT, confidentiality.ALERT)

    def open_counts(self) -> dict[tuple[str, str], int]:
        return queries.open_counts(self.engine)

    # --- changes -----------------------------------------------------------------------------
    def change(self, reference, fields: dict, actor_type: str, actor: str | None,
               viewer: Viewer | None = None) -> dict:
        return changes.change(self.engine, reference, fields, actor_type, actor, viewer, self.confidential)

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
