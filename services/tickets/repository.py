"""Rows in and out of the tickets tables, inside a caller's transaction.

Lookups (by reference, by Message-ID, a sender's identities), the optimistic
update every change goes through, audit and note rows, and the two shapes a
ticket leaves in: the event snapshot (services/common/contract/events.py) and
the agents' JSON view. No use case lives here: those are ingest.py,
changes.py, replies.py, sla_check.py and queries.py.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from services.common.contract.errors import Conflict, NotFound
from services.common.contract.events import CustomerView, Identity, MessageSnapshot, TicketSnapshot
from services.common.contract.reference import normalize_reference
from services.common.contract.vocabulary import Priority, Status
from services.common.time.clock import iso

from . import domain
from .schema import audit, identities, messages, notes, tickets

# The kinds that had a column of their own before identities became rows: the
# agents' JSON view still names them, beside the full list.
VIEW_KINDS = ("email", "phone", "whatsapp")


# --- finding tickets ----------------------------------------------------------------------

def by_reference(conn, reference: str):
    """By the ticket's reference, or by the reference a follow-up was given at intake.
    Anything that is not a reference (a typo, a NUL PostgreSQL would refuse) finds nothing."""
    reference = normalize_reference(reference) if isinstance(reference, str) else None
    if reference is None:
        return None
    row = conn.execute(select(tickets).where(tickets.c.reference == reference)).first()
    if row is None:
        row = conn.execute(select(tickets).join(messages, messages.c.ticket_id == tickets.c.id)
                           .where(messages.c.intake_reference == reference).limit(1)).first()
    return row


def require(conn, reference: str):
    row = by_reference(conn, normalize_reference(reference) or reference)
    if row is None:
        raise NotFound(f"no ticket {reference}")
    return row


def ticket_row(conn, ticket_id):
    return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one()


def message_row(conn, message_id):
    return conn.execute(select(messages).where(messages.c.id == message_id)).one()


def thread_ref(conn, reference: str) -> domain.TicketRef | None:
    row = by_reference(conn, reference)
    if row is None:
        return None
    return domain.TicketRef(row.id, row.reference, row.status, domain.identity_keys(identities_of(conn, row.id)))


def thread_ref_by_message_id(conn, message_ids) -> domain.TicketRef | None:
    for mid in filter(None, message_ids):
        row = conn.execute(select(tickets.c.reference).join(messages, messages.c.ticket_id == tickets.c.id)
                           .where(messages.c.message_id == mid).limit(1)).first()
        if row:
            return thread_ref(conn, row.reference)
    return None


# --- identities ------------------------------------------------------------------------------

def identities_of(conn, ticket_id) -> list[tuple[str, str]]:
    return identities_for(conn, [ticket_id]).get(ticket_id, [])


def identities_for(conn, ticket_ids) -> dict[int, list[tuple[str, str]]]:
    """(kind, value) pairs per ticket, in the order they were recorded: one query for a page."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not ticket_ids:
        return found
    for r in conn.execute(select(identities.c.ticket_id, identities.c.kind, identities.c.value)
                          .where(identities.c.ticket_id.in_(list(ticket_ids))).order_by(identities.c.id)):
        found.setdefault(r.ticket_id, []).append((r.kind, r.value))
    return found


def add_identities(conn, ticket_id, pairs) -> None:
    """Record how the customer can be reached; an email address is kept case-folded."""
    rows = [{"ticket_id": ticket_id, "kind": kind, "value": value.lower() if kind == "email" else value}
            for kind, value in pairs if value]
    if rows:
        conn.execute(insert(identities), rows)


# --- writing --------------------------------------------------------------------------------

def update_ticket(conn, row, values: dict, at) -> None:
    """Optimistic: the change lands only on the version the caller read, else Conflict."""
    result = conn.execute(update(tickets).where(tickets.c.id == row.id, tickets.c.version == row.version)
                          .values(**values, version=row.version + 1, updated_at=at))
    if result.rowcount != 1:
        raise Conflict(f"{row.reference} changed concurrently")


def touch(conn, row, at) -> None:
    update_ticket(conn, row, {}, at)


def add_audit(conn, ticket_id, at, actor_type, actor, action, changes) -> None:
    conn.execute(insert(audit).values(ticket_id=ticket_id, at=at, actor_type=actor_type,
                                      actor=actor, action=action, changes=changes))


def insert_note(conn, ticket_id, actor_type: str, author: str, body: str, at) -> int:
    """An internal note and its audit row."""
    note_id = conn.execute(insert(notes).values(ticket_id=ticket_id, author=author, body=body,
                                                created_at=at)).inserted_primary_key[0]
    add_audit(conn, ticket_id, at, actor_type, author, "note_added", {"note_id": note_id})
    return note_id


# --- the shapes a ticket leaves in ---------------------------------------------------------------

def snapshot(row, pairs) -> TicketSnapshot:
    """The ticket for an event: its row and its identities."""
    return TicketSnapshot(
        reference=row.reference, status=Status(row.status), priority=Priority(row.priority),
        channel=row.channel, version=row.version,
        customer=CustomerView(name=row.customer_name, anonymous=bool(row.customer_anonymous),
                              identities=tuple(Identity(kind, value) for kind, value in pairs)),
        created_at=iso(row.created_at), updated_at=iso(row.updated_at), category=row.category,
        queue=row.queue, subject=row.subject, region=row.region, region_source=row.region_source,
        language=row.language, assignee=row.assignee, related_reference=row.related_reference,
        resolved_at=iso(row.resolved_at), closed_at=iso(row.closed_at),
        first_response_at=iso(row.first_response_at), sla_breached_at=iso(row.sla_breached_at),
        follow_up=({"channel": row.follow_up_channel, "address": row.follow_up_address}
                   if row.follow_up_channel else None),
        survey=({"rating": row.survey_rating, "comment": row.survey_comment,
                 "answered_at": iso(row.survey_answered_at)} if row.survey_rating is not None else None),
        confidential=bool(row.confidential), confidential_group=row.confidential_group,
    )


def snapshot_of(conn, ticket_id) -> TicketSnapshot:
    """The ticket as it is now in this transaction (after the change an event announces)."""
    return snapshot(ticket_row(conn, ticket_id), identities_of(conn, ticket_id))


def message_snapshot(m) -> MessageSnapshot:
    return MessageSnapshot(
        id=m.id, direction=m.direction, channel=m.channel, external_id=m.external_id,
        intake_reference=m.intake_reference, message_id=m.message_id, author=m.author, subject=m.subject,
        body=m.body, attachments=m.attachments, extras=m.extras, threaded_via=m.threaded_via,
        received_at=iso(m.received_at), created_at=iso(m.created_at))


def view(ticket: TicketSnapshot) -> dict:
    """The agents' JSON view (API, RPC): the snapshot's fields, and the customer with
    email, phone and whatsapp named as before plus every identity in `identities`."""
    result = {k: getattr(ticket, k) for k in ticket.__dataclass_fields__ if k != "customer"}
    result["status"], result["priority"] = str(ticket.status), str(ticket.priority)
    customer = ticket.customer
    result["customer"] = {"name": customer.name, "anonymous": customer.anonymous,
                          **{kind: customer.address(kind) for kind in VIEW_KINDS},
                          "identities": [{"kind": i.kind, "value": i.value} for i in customer.identities]}
    return result


def message_view(m: MessageSnapshot) -> dict:
    return dict(m.__dict__)


def customer_label(customer: CustomerView) -> str:
    """Who the customer is, for the audit trail: the first way to reach them."""
    if customer.anonymous:
        return "anonymous"
    return next((i.value for i in customer.identities), None) or customer.name or "unknown"
