"""A complaint becomes a ticket, or a message on one (threading in domain.decide_thread).

Idempotency rests on unique constraints, not on look-before-insert: two
deliveries of one message racing on two replicas both try to insert, one wins,
the other gets an IntegrityError and is reported as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError

from services.common.contract.complaint import ComplaintReceived
from services.common.contract.errors import Conflict
from services.common.contract.events import TicketCreated, TicketMessageAdded, TicketUpdated
from services.common.contract.reference import find_references, normalize_reference
from services.common.contract.vocabulary import DEFAULT_PRIORITY, ActorType, Status
from services.common.time.clock import now

from . import confidentiality, domain, replies, salvage
from . import repository as repo
from .schema import messages, tickets
from .transactions import TRIES, emit


@dataclass(frozen=True)
class IngestResult:
    outcome: str          # created | appended | duplicate
    reference: str        # the ticket's reference (may differ from the intake's)
    threaded_via: str | None = None


def ingest(engine, complaint: ComplaintReceived, notes_for_agents: tuple[str, ...] = (),
           confidential: confidentiality.Settings = confidentiality.Settings()) -> IngestResult:
    """Create a ticket or append to one; a message seen before is a duplicate.
    `notes_for_agents` (and a note on any repaired text) are added with the message.
    A complaint flagged confidential, or of a confidential category, makes its ticket
    a confidential case (a flagged follow-up makes the ticket it lands on one too)."""
    for _ in range(TRIES):
        try:
            with engine.begin() as conn:
                duplicate = _existing_message(conn, complaint)
                if duplicate:
                    return duplicate
                result = _ingest(conn, complaint, confidential)
                _system_notes(conn, result.reference, complaint, notes_for_agents)
                return result
        except IntegrityError:
            with engine.connect() as conn:
                duplicate = _existing_message(conn, complaint)
            if duplicate:
                return duplicate
            raise
        except Conflict:
            continue
    raise Conflict(f"ticket kept changing while adding message {complaint.intake_id}")


def _existing_message(conn, complaint) -> IngestResult | None:
    row = conn.execute(
        select(tickets.c.reference).join(messages, messages.c.ticket_id == tickets.c.id).where(or_(
            and_(messages.c.channel == complaint.channel, messages.c.external_id == complaint.external_id),
            messages.c.intake_id == complaint.intake_id))
    ).first()
    return IngestResult("duplicate", row.reference) if row else None


def _ingest(conn, c: ComplaintReceived, confidential: confidentiality.Settings) -> IngestResult:
    hint = c.threading
    verified = normalize_reference(hint.ticket_reference) if hint.ticket_reference else None
    decision = domain.decide_thread(
        verified=repo.thread_ref(conn, verified) if verified else None,
        by_message_id=repo.thread_ref_by_message_id(conn, [hint.in_reply_to, *reversed(hint.references)]),
        mentioned=[t for t in (repo.thread_ref(conn, r) for r in find_references(c.subject, c.body)) if t],
        sender=domain.identity_keys(c.customer.identities().items()),
    )
    at = now()
    answered = decision.ticket or decision.related
    if answered and answered.status in domain.SURVEY_STATUSES:
        survey = domain.parse_survey_reply(c.body)
        if survey:  # "4 - quick and kind" answers the survey; it does not reopen the ticket
            return _survey_answer(conn, answered, c, at, decision.via, survey)
    if decision.ticket is None:
        return _create(conn, c, at, decision, confidential)
    return _append(conn, c, at, decision, confidential)


def _create(conn, c: ComplaintReceived, at, decision, confidential: confidentiality.Settings) -> IngestResult:
    ticket_id = _insert_ticket(conn, c, at, decision, confidential)
    message_id = _insert_message(conn, ticket_id, c, at, decision.via)
    ticket = repo.snapshot_of(conn, ticket_id)
    repo.add_audit(conn, ticket_id, at, "customer", _label(c), "created",
                   {"status": {"before": None, "after": ticket.status}, "via": decision.via})
    # The first message rides along: the notifier threads its acknowledgement under
    # it and reads a callback request from it without asking back.
    emit(conn, TicketCreated(ticket=ticket, intake_id=c.intake_id, received_at=c.received_at,
                             message=repo.message_snapshot(repo.message_row(conn, message_id))), at)
    return IngestResult("created", ticket.reference, decision.via)


def _append(conn, c: ComplaintReceived, at, decision, confidential: confidentiality.Settings) -> IngestResult:
    row = repo.ticket_row(conn, decision.ticket.id)
    message_id = _insert_message(conn, row.id, c, at, decision.via)
    values = {}
    status = domain.status_after_customer_reply(row.status, row.assignee is not None)
    if status != row.status:
        values.update(status=status, resolved_at=None)
    if c.confidential and not row.confidential:
        # The customer asked for discretion on this message: the whole thread gets it. (A
        # follow-up's category changes nothing: the ticket keeps its own.)
        values.update(confidential=True,
                      confidential_group=confidentiality.group_on_marking(row.confidential_group, confidential))
    announced = {k: v for k, v in values.items() if k in ("status", "confidential")}
    changes = domain.changes_between({k: getattr(row, k) for k in announced}, announced)
    repo.update_ticket(conn, row, values, at)
    fresh = repo.snapshot_of(conn, row.id)
    label = _label(c)
    repo.add_audit(conn, row.id, at, "customer", label, "message_added",
                   {"message_id": message_id, "via": decision.via, **changes})
    emit(conn, TicketMessageAdded(ticket=fresh, message=repo.message_snapshot(repo.message_row(conn, message_id))),
         at)
    if changes:
        emit(conn, TicketUpdated(ticket=fresh, changes=changes, actor_type=ActorType.CUSTOMER, actor=label),
             at)
    return IngestResult("appended", row.reference, decision.via)


def _survey_answer(conn, answered: domain.TicketRef, c: ComplaintReceived, at, via,
                   survey: tuple[int, str | None]) -> IngestResult:
    row = repo.ticket_row(conn, answered.id)
    message_id = _insert_message(conn, row.id, c, at, via)
    replies.save_survey(conn, row, survey, "reply", "customer", _label(c), at,
                        message=repo.message_snapshot(repo.message_row(conn, message_id)))
    return IngestResult("appended", row.reference, via)


def _system_notes(conn, reference: str, c: ComplaintReceived, extra: tuple[str, ...]) -> None:
    bodies = [b for b in (salvage.repair_note(c.repairs), *extra) if b]
    if not bodies:
        return
    ticket_id = repo.by_reference(conn, reference).id
    at = now()
    for body in bodies:
        repo.insert_note(conn, ticket_id, "system", salvage.NOTE_AUTHOR, body, at)


def _insert_ticket(conn, c: ComplaintReceived, at, decision, confidential: confidentiality.Settings) -> int:
    customer = c.customer
    secret = confidentiality.confidential_at_intake(c.category, c.confidential, confidential)
    ticket_id = conn.execute(insert(tickets).values(
        reference=c.reference, intake_id=c.intake_id, status=Status.NEW,
        priority=DEFAULT_PRIORITY, category=c.category, queue=domain.queue_for(c.category),
        channel=c.channel, subject=c.subject[:300], customer_name=customer.name,
        customer_anonymous=customer.anonymous, region=c.region, region_source=c.region_source,
        language=c.language, related_reference=decision.related.reference if decision.related else None,
        version=1, created_at=at, updated_at=at,
        confidential=secret, confidential_group=confidential.group if secret else None,
    )).inserted_primary_key[0]
    repo.add_identities(conn, ticket_id, customer.identities().items())
    return ticket_id


def _insert_message(conn, ticket_id, c: ComplaintReceived, at, via) -> int:
    return conn.execute(insert(messages).values(
        ticket_id=ticket_id, direction="in", channel=c.channel, external_id=c.external_id,
        intake_id=c.intake_id, intake_reference=c.reference, message_id=c.threading.message_id,
        author=_label(c), subject=c.subject, body=c.body,
        attachments=[a.__dict__ for a in c.attachments], extras=c.extras, threaded_via=via,
        received_at=datetime.fromisoformat(c.received_at), created_at=at,
    )).inserted_primary_key[0]


def _label(c: ComplaintReceived) -> str:
    if c.customer.anonymous:
        return "anonymous"
    return next(iter(c.customer.identities().values()), None) or c.customer.name or "unknown"
