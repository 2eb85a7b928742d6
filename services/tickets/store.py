"""SQL for the tickets service: every change, its audit rows and its outbox
events are written in one transaction.

Idempotency rests on unique constraints, not on look-before-insert: two
deliveries of one message racing on two replicas both try to insert, one wins,
the other gets an IntegrityError and is reported as a duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from services.common.channels.mail_identity import message_id_domain
from services.common.contract.complaint import ComplaintReceived
from services.common.contract.reference import find_references, normalize_reference
from services.common.messaging.outbox import emit
from services.common.messaging.outbox import pending as outbox_pending
from services.common.messaging.outbox import relay as outbox_relay
from services.common.time.clock import iso, now, utc

from . import domain, salvage
from .dead_letters import DeadLetter
from .schema import audit, dead_letters, messages, notes, outbox, quarantine, tickets

TICKET_FIELDS = ("reference", "status", "priority", "category", "queue", "channel", "subject",
                 "region", "language", "assignee", "related_reference", "version")
SORTS = {
    "created_at": tickets.c.created_at, "updated_at": tickets.c.updated_at,
    "priority": case({p: i for i, p in enumerate(domain.PRIORITIES)}, value=tickets.c.priority),
}
MAX_PER_PAGE = 100
MAX_REFERENCES = 20  # Message-IDs kept in an outbound message's References header


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """The ticket changed under us (another replica or agent); retry with fresh data."""


@dataclass(frozen=True)
class IngestResult:
    outcome: str          # created | appended | duplicate
    reference: str        # the ticket's reference (may differ from the intake's)
    threaded_via: str | None = None


class TicketStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # --- intake ---------------------------------------------------------------

    def ingest(self, complaint: ComplaintReceived, notes_for_agents: tuple[str, ...] = ()) -> IngestResult:
        """Create a ticket or append to one; a message seen before is a duplicate.
        `notes_for_agents` (and a note on any repaired text) are added with the message."""
        for _ in range(5):
            try:
                with self.engine.begin() as conn:
                    duplicate = self._existing_message(conn, complaint)
                    if duplicate:
                        return duplicate
                    result = self._ingest(conn, complaint)
                    self._system_notes(conn, result.reference, complaint, notes_for_agents)
                    return result
            except IntegrityError:
                with self.engine.connect() as conn:
                    duplicate = self._existing_message(conn, complaint)
                if duplicate:
                    return duplicate
                raise
            except Conflict:
                continue
        raise Conflict(f"ticket kept changing while adding message {complaint.intake_id}")

    def _existing_message(self, conn, complaint) -> IngestResult | None:
        row = conn.execute(
            select(tickets.c.reference).join(messages, messages.c.ticket_id == tickets.c.id).where(or_(
                and_(messages.c.channel == complaint.channel, messages.c.external_id == complaint.external_id),
                messages.c.intake_id == complaint.intake_id))
        ).first()
        return IngestResult("duplicate", row.reference) if row else None

    def _ingest(self, conn: Connection, c: ComplaintReceived) -> IngestResult:
        sender = domain.identity_keys(c.customer.email, c.customer.phone, c.customer.whatsapp)
        hint = c.threading
        verified = normalize_reference(hint.ticket_reference) if hint.ticket_reference else None
        decision = domain.decide_thread(
            verified=self._thread_ref(conn, verified) if verified else None,
            by_message_id=self._ticket_by_message_id(conn, [hint.in_reply_to, *reversed(hint.references)]),
            mentioned=[t for t in (self._thread_ref(conn, r) for r in find_references(c.subject, c.body)) if t],
            sender=sender,
        )
        at = now()
        answered = decision.ticket or decision.related
        if answered and answered.status in domain.SURVEY_STATUSES:
            survey = domain.parse_survey_reply(c.body)
            if survey:  # "4 - quick and kind" answers the survey; it does not reopen the ticket
                return self._ingest_survey_answer(conn, answered, c, at, decision.via, survey)
        if decision.ticket is None:
            ticket_id = self._create_ticket(conn, c, at, decision)
            message_id = self._insert_message(conn, ticket_id, c, at, decision.via)
            ticket = self._ticket_row(conn, ticket_id)
            self._audit(conn, ticket_id, at, "customer", _customer_label(c), "created",
                        {"status": {"before": None, "after": ticket.status}, "via": decision.via})
            # The first message rides along: the notifier threads its acknowledgement under
            # it and reads a callback request from it without asking back.
            self._emit(conn, "ticket_created", {"ticket": _ticket_dict(ticket), "intake_id": c.intake_id,
                                                "received_at": c.received_at,
                                                "message": _message_dict(self._message_row(conn, message_id))}, at)
            return IngestResult("created", ticket.reference, decision.via)

        ticket = self._ticket_row(conn, decision.ticket.id)
        message_id = self._insert_message(conn, ticket.id, c, at, decision.via)
        changes = {}
        status = domain.status_after_customer_reply(ticket.status, ticket.assignee is not None)
        if status != ticket.status:
            changes = {"status": {"before": ticket.status, "after": status}}
            self._update_ticket(conn, ticket, {"status": status, "resolved_at": None}, at)
        else:
            self._touch(conn, ticket, at)
        self._audit(conn, ticket.id, at, "customer", _customer_label(c), "message_added",
                    {"message_id": message_id, "via": decision.via, **changes})
        fresh = self._ticket_row(conn, ticket.id)
        self._emit(conn, "ticket_message_added", {
            "ticket": _ticket_dict(fresh), "message": _message_dict(self._message_row(conn, message_id))}, at)
        if changes:
            self._emit(conn, "ticket_updated", {"ticket": _ticket_dict(fresh), "changes": changes,
                                                "actor_type": "customer", "actor": _customer_label(c)}, at)
        return IngestResult("appended", ticket.reference, decision.via)

    def _system_notes(self, conn, reference: str, c: ComplaintReceived, extra: tuple[str, ...]) -> None:
        bodies = [b for b in (salvage.repair_note(c.repairs), *extra) if b]
        if not bodies:
            return
        ticket_id = self._ticket_by_reference(conn, reference).id
        at = now()
        for body in bodies:
            self._insert_note(conn, ticket_id, "system", salvage.NOTE_AUTHOR, body, at)

    def _insert_note(self, conn, ticket_id, actor_type: str, author: str, body: str, at) -> int:
        """An internal note and its audit row."""
        note_id = conn.execute(insert(notes).values(ticket_id=ticket_id, author=author, body=body,
                                                    created_at=at)).inserted_primary_key[0]
        self._audit(conn, ticket_id, at, actor_type, author, "note_added", {"note_id": note_id})
        return note_id

    def _ingest_survey_answer(self, conn, answered: domain.TicketRef, c: ComplaintReceived, at, via,
                              survey: tuple[int, str | None]) -> IngestResult:
        ticket = self._ticket_row(conn, answered.id)
        message_id = self._insert_message(conn, ticket.id, c, at, via)
        self._save_survey(conn, ticket, survey, "reply", "customer", _customer_label(c), at,
                          message=_message_dict(self._message_row(conn, message_id)))
        return IngestResult("appended", ticket.reference, via)

    def _create_ticket(self, conn, c: ComplaintReceived, at, decision) -> int:
        customer = c.customer
        return conn.execute(insert(tickets).values(
            reference=c.reference, intake_id=c.intake_id, status=domain.NEW,
            priority=domain.DEFAULT_PRIORITY, category=c.category, queue=domain.queue_for(c.category),
            channel=c.channel, subject=c.subject[:300], customer_name=customer.name,
            customer_email=customer.email.lower() if customer.email else None,
            customer_phone=customer.phone, customer_whatsapp=customer.whatsapp,
            customer_anonymous=customer.anonymous, region=c.region, language=c.language,
            related_reference=decision.related.reference if decision.related else None,
            version=1, created_at=at, updated_at=at,
        )).inserted_primary_key[0]

    def _insert_message(self, conn, ticket_id, c: ComplaintReceived, at, via) -> int:
        return conn.execute(insert(messages).values(
            ticket_id=ticket_id, direction="in", channel=c.channel, external_id=c.external_id,
            intake_id=c.intake_id, intake_reference=c.reference, message_id=c.threading.message_id,
            author=_customer_label(c), subject=c.subject, body=c.body,
            attachments=[a.__dict__ for a in c.attachments], extras=c.extras, threaded_via=via,
            received_at=datetime.fromisoformat(c.received_at), created_at=at,
        )).inserted_primary_key[0]

    def _thread_ref(self, conn, reference: str) -> domain.TicketRef | None:
        row = self._ticket_by_reference(conn, reference)
        if row is None:
            return None
        return domain.TicketRef(row.id, row.reference, row.status, domain.identity_keys(
            row.customer_email, row.customer_phone, row.customer_whatsapp))

    def _ticket_by_message_id(self, conn, message_ids) -> domain.TicketRef | None:
        for mid in filter(None, message_ids):
            row = conn.execute(select(tickets.c.reference).join(messages, messages.c.ticket_id == tickets.c.id)
                               .where(messages.c.message_id == mid).limit(1)).first()
            if row:
                return self._thread_ref(conn, row.reference)
        return None

    def flag_sla_breaches(self, at: datetime, targets: dict[str, float], limit: int = 500) -> list[dict]:
        """Mark open, unanswered tickets past their first-response target, once each:
        a conditional update, so several replicas never flag (or count) one twice.
        Audited and announced as ticket_sla_breached; returns the tickets flagged."""
        flagged = []
        with self.engine.begin() as conn:
            for priority, minutes in targets.items():
                rows = conn.execute(select(tickets).where(
                    tickets.c.status.in_(domain.OPEN_STATUSES), tickets.c.priority == priority,
                    tickets.c.first_response_at.is_(None), tickets.c.sla_breached_at.is_(None),
                    tickets.c.created_at < at - timedelta(minutes=minutes)).limit(limit)).all()
                for row in rows:
                    if not domain.first_response_breached(row.status, row.priority, utc(row.created_at), None,
                                                          at, targets):
                        continue
                    if conn.execute(update(tickets).where(tickets.c.id == row.id, tickets.c.sla_breached_at.is_(None))
                                    .values(sla_breached_at=at)).rowcount != 1:
                        continue
                    self._audit(conn, row.id, at, "system", "sla", "sla_breached",
                                {"target": "first_response", "minutes": minutes, "priority": priority})
                    ticket = _ticket_dict(self._ticket_row(conn, row.id))
                    self._emit(conn, "ticket_sla_breached", {"ticket": ticket, "target": "first_response",
                                                             "minutes": minutes}, at)
                    flagged.append(ticket)
        return flagged

    # --- reading --------------------------------------------------------------

    def knows_reference(self, reference: str) -> bool:
        """True when a ticket, or a message threaded onto one, carries this reference."""
        with self.engine.connect() as conn:
            return self._ticket_by_reference(conn, reference) is not None


    def _ticket_by_reference(self, conn, reference: str):
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

    def _ticket_row(self, conn, ticket_id):
        return conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one()

    def _message_row(self, conn, message_id):
        return conn.execute(select(messages).where(messages.c.id == message_id)).one()

    def _require(self, conn, reference: str):
        ref = normalize_reference(reference) or reference
        row = self._ticket_by_reference(conn, ref)
        if row is None:
            raise NotFound(f"no ticket {reference}")
        return row

    def get(self, reference: str) -> dict:
        with self.engine.connect() as conn:
            row = self._require(conn, reference)
            result = _ticket_dict(row)
            result["messages"] = [_message_dict(m) for m in conn.execute(
                select(messages).where(messages.c.ticket_id == row.id).order_by(messages.c.id))]
            result["notes"] = [{"id": n.id, "author": n.author, "body": n.body, "created_at": iso(n.created_at)}
                               for n in conn.execute(select(notes).where(notes.c.ticket_id == row.id)
                                                     .order_by(notes.c.id))]
            result["audit"] = [{"at": iso(a.at), "actor_type": a.actor_type, "actor": a.actor,
                                "action": a.action, "changes": a.changes}
                               for a in conn.execute(select(audit).where(audit.c.ticket_id == row.id)
                                                     .order_by(audit.c.id))]
            return result

    def public_view(self, reference: str) -> dict | None:
        """What the customer may see: status and the conversation, no notes or audit.
        No ticket yet: "delayed" when the complaint sits in the dead-letter queue, else None."""
        try:
            full = self.get(reference)
        except NotFound:
            return self._delayed_view(reference)
        return {
            "reference": full["reference"], "status": full["status"], "category": full["category"],
            "created_at": full["created_at"], "updated_at": full["updated_at"],
            "messages": [_public_message(m) for m in full["messages"]],
            "survey": full["survey"], "can_rate": full["status"] in domain.SURVEY_STATUSES,
            "follow_up": full["follow_up"],
        }

    def search(self, *, status=None, priority=None, category=None, queue=None, assignee=None,
               channel=None, region=None, customer=None, text=None, created_from=None, created_to=None,
               sort="-created_at", page=1, per_page=25) -> dict:
        conditions = []
        for column, value in ((tickets.c.status, status), (tickets.c.priority, priority),
                              (tickets.c.category, category), (tickets.c.queue, queue),
                              (tickets.c.channel, channel)):
            if value:
                conditions.append(column.in_(value) if isinstance(value, list | tuple) else column == value)
        if region:
            conditions.append(func.lower(tickets.c.region) == region.lower())
        if assignee == "none":
            conditions.append(tickets.c.assignee.is_(None))
        elif assignee:
            conditions.append(tickets.c.assignee == assignee)
        if customer:
            pattern = f"%{_escape_like(customer.lower())}%"
            conditions.append(or_(*(func.lower(col).like(pattern, escape="\\") for col in (
                tickets.c.customer_email, tickets.c.customer_phone, tickets.c.customer_whatsapp,
                tickets.c.customer_name))))
        if text:
            pattern = f"%{_escape_like(text.lower())}%"
            conditions.append(or_(
                func.lower(tickets.c.subject).like(pattern, escape="\\"),
                func.lower(tickets.c.reference).like(pattern, escape="\\"),
                exists().where(messages.c.ticket_id == tickets.c.id,
                               func.lower(messages.c.body).like(pattern, escape="\\"))))
        if created_from:
            conditions.append(tickets.c.created_at >= created_from)
        if created_to:
            conditions.append(tickets.c.created_at < created_to)
        descending = sort.startswith("-")
        column = SORTS[sort.lstrip("-")]
        order = [column.desc() if descending else column.asc(), tickets.c.id.desc() if descending
                 else tickets.c.id.asc()]
        per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        page = max(1, int(page))
        query = select(tickets).where(*conditions)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page))
            return {"items": [_ticket_dict(r) for r in rows], "total": total, "page": page,
                    "per_page": per_page}

    # --- changes by agents, the system and the router ----------------------------

    def change(self, reference: str, fields: dict, actor_type: str, actor: str | None) -> dict:
        """Change status, priority and/or category; rules checked, audited, evented."""
        domain.check_actor(actor_type, actor)
        unknown = set(fields) - {"status", "priority", "category"}
        if unknown:
            raise domain.TicketError(f"cannot change {', '.join(sorted(unknown))}; "
                                     "changeable: status, priority, category")
        return self._mutate(reference, actor_type, actor, "changed",
                            lambda row: _validated_changes(row, fields))

    def assign(self, reference: str, assignee: str | None, actor_type: str, actor: str | None,
               expected_assignee: str | None = "*") -> dict:
        """Set or clear the assignee. With expected_assignee (None for 'unassigned'), the
        change happens only if the ticket is still as the caller saw it: the router's
        atomic claim under several replicas."""
        domain.check_actor(actor_type, actor)

        def changes(row):
            if row.assignee == assignee:
                return {}  # already so (a redelivered or repeated push): a quiet no-op
            if expected_assignee != "*" and row.assignee != expected_assignee:
                raise Conflict(f"{row.reference} is assigned to {row.assignee or 'nobody'}, "
                               f"not {expected_assignee or 'nobody'}")
            if row.status == domain.CLOSED:
                raise domain.TicketError(f"{row.reference} is closed; it cannot be assigned")
            return {"assignee": assignee} if assignee != row.assignee else {}

        return self._mutate(reference, actor_type, actor, "assigned" if assignee else "unassigned",
                            changes, retry=expected_assignee == "*")

    def add_note(self, reference: str, author: str, body: str) -> dict:
        if not author or not (body or "").strip():
            raise domain.TicketError("a note needs an author and a body")
        at = now()
        with self.engine.begin() as conn:
            row = self._require(conn, reference)
            note_id = self._insert_note(conn, row.id, "agent", author, body, at)
            self._touch(conn, row, at)
        return {"id": note_id, "author": author, "body": body, "created_at": iso(at)}

    def reply(self, reference: str, author: str, body: str, status: str | None = None) -> dict:
        """An agent's answer to the customer: an outbound message (with its own
        Message-ID, so the customer's email answer threads back), and optionally a
        status change, in one transaction. The notifier sends it."""
        text = domain.check_reply(author, body)
        author = author.strip()[:100]
        for _ in range(5):
            at = now()
            try:
                with self.engine.begin() as conn:
                    row = self._require(conn, reference)
                    if row.status == domain.CLOSED:
                        raise domain.TicketError(f"{row.reference} is closed; a reply cannot be sent")
                    values = {}
                    if status is not None and status != row.status:
                        values["status"] = domain.check_transition(row.status, status)
                    message_id = self._insert_reply(conn, row, author, text, at)
                    diff = domain.changes_between({k: getattr(row, k) for k in values}, values)
                    first = {"first_response_at": at} if row.first_response_at is None else {}
                    self._update_ticket(conn, row, {**values, **_timestamps_for(values, at), **first}, at)
                    self._audit(conn, row.id, at, "agent", author, "replied", {"message_id": message_id, **diff})
                    fresh = _ticket_dict(self._ticket_row(conn, row.id))
                    message = _message_dict(self._message_row(conn, message_id))
                    self._emit(conn, "ticket_reply_added", {"ticket": fresh, "message": message}, at)
                    if diff:
                        self._emit(conn, "ticket_updated", {"ticket": fresh, "changes": diff,
                                                            "actor_type": "agent", "actor": author}, at)
                    return {"ticket": fresh, "message": message}
            except Conflict:
                continue
        raise Conflict(f"{reference} kept changing; try again")

    def _insert_reply(self, conn, row, author, text, at) -> int:
        earlier = [m for m in conn.execute(select(messages.c.direction, messages.c.message_id)
                                           .where(messages.c.ticket_id == row.id).order_by(messages.c.id))
                   if m.message_id]
        customer_last = next((m.message_id for m in reversed(earlier) if m.direction == "in"), None)
        return conn.execute(insert(messages).values(
            ticket_id=row.id, direction="out", channel=row.follow_up_channel or row.channel,
            external_id=f"reply:{uuid.uuid4()}", message_id=make_msgid(domain=message_id_domain()),
            author=author, subject=domain.reply_subject(row.reference, row.subject), body=text,
            attachments=[], threaded_via=None, created_at=at,
            # What the notifier needs to thread an email answer under the customer's last mail.
            extras={"in_reply_to": customer_last,
                    "references": [m.message_id for m in earlier][-MAX_REFERENCES:]},
        )).inserted_primary_key[0]

    def record_survey(self, reference: str, rating, comment: str | None = None, source: str = "link",
                      actor: str | None = None) -> dict:
        """The customer's satisfaction answer (1..5 and a comment) on a resolved or
        closed ticket; a later answer replaces the earlier one, both stay in the audit."""
        for _ in range(5):
            at = now()
            try:
                with self.engine.begin() as conn:
                    row = self._require(conn, reference)
                    survey = domain.check_survey(row.status, rating, comment)
                    label = actor or row.customer_email or row.customer_phone or row.customer_whatsapp or "customer"
                    return self._save_survey(conn, row, survey, str(source)[:20], "customer", label, at)
            except Conflict:
                continue
        raise Conflict(f"{reference} kept changing; try again")

    def _save_survey(self, conn, row, survey, source, actor_type, actor, at, message=None) -> dict:
        rating, comment = survey
        self._update_ticket(conn, row, {"survey_rating": rating, "survey_comment": comment,
                                        "survey_answered_at": at}, at)
        before = {"rating": row.survey_rating, "comment": row.survey_comment,
                  "answered_at": iso(row.survey_answered_at)}
        self._audit(conn, row.id, at, actor_type, actor, "survey_answered", {
            "survey": {"before": before if row.survey_rating is not None else None,
                       "after": {"rating": rating, "comment": comment, "answered_at": iso(at)}},
            "source": source, **({"message_id": message["id"]} if message else {})})
        fresh = _ticket_dict(self._ticket_row(conn, row.id))
        self._emit(conn, "ticket_survey_answered", {"ticket": fresh, "survey": {**fresh["survey"], "source": source},
                                                    **({"message": message} if message else {})}, at)
        return fresh

    def set_follow_up(self, reference: str, channel: str, address: str, actor_type: str = "customer",
                      actor: str | None = None) -> dict:
        """The customer's chosen channel for our messages from now on (email, whatsapp, sms)."""
        domain.check_actor(actor_type, actor)
        channel, address = domain.check_follow_up(channel, address)
        return self._mutate(reference, actor_type, actor or "customer", "follow_up_set", lambda row: {
            k: v for k, v in (("follow_up_channel", channel), ("follow_up_address", address))
            if getattr(row, k) != v})

    def _mutate(self, reference, actor_type, actor, action, compute, retry=True) -> dict:
        for _ in range(5 if retry else 1):
            at = now()
            try:
                with self.engine.begin() as conn:
                    row = self._require(conn, reference)
                    values = compute(row)
                    if not values:
                        return _ticket_dict(row)
                    before = {k: getattr(row, k) for k in values}
                    diff = domain.changes_between(before, values)
                    self._update_ticket(conn, row, {**values, **_timestamps_for(values, at)}, at)
                    self._audit(conn, row.id, at, actor_type, actor, action, diff)
                    fresh = self._ticket_row(conn, row.id)
                    self._emit(conn, "ticket_updated", {"ticket": _ticket_dict(fresh), "changes": diff,
                                                        "actor_type": actor_type, "actor": actor}, at)
                    return _ticket_dict(fresh)
            except Conflict:
                if not retry:
                    raise
        raise Conflict(f"{reference} kept changing; try again")

    def _update_ticket(self, conn, row, values: dict, at) -> None:
        result = conn.execute(update(tickets).where(tickets.c.id == row.id, tickets.c.version == row.version)
                              .values(**values, version=row.version + 1, updated_at=at))
        if result.rowcount != 1:
            raise Conflict(f"{row.reference} changed concurrently")

    def _touch(self, conn, row, at) -> None:
        self._update_ticket(conn, row, {}, at)

    def _audit(self, conn, ticket_id, at, actor_type, actor, action, changes) -> None:
        conn.execute(insert(audit).values(ticket_id=ticket_id, at=at, actor_type=actor_type,
                                          actor=actor, action=action, changes=changes))

    def _emit(self, conn, event_type: str, payload: dict, at) -> None:
        emit(conn, outbox, event_type, payload, at)

    # --- outbox relay ---------------------------------------------------------

    def relay_outbox(self, publish, limit=100) -> int:
        return outbox_relay(self.engine, outbox, publish, limit)

    def outbox_pending(self) -> int:
        return outbox_pending(self.engine, outbox)

    def _delayed_view(self, reference: str) -> dict | None:
        canonical = normalize_reference(reference)
        with self.engine.connect() as conn:
            row = conn.execute(select(dead_letters.c.first_seen_at).where(
                dead_letters.c.reference == canonical).limit(1)).first() if canonical else None
        if row is None:
            return None
        return {"reference": canonical, "status": "delayed", "delayed_since": iso(row.first_seen_at),
                "messages": [], "can_rate": False}

    # --- dead letters, quarantine and health -----------------------------------

    def record_dead_letter(self, letter: DeadLetter, state: str) -> None:
        """One row per dead-lettered message (by intake id), updated each time the watcher sees it."""
        at = now()
        values = {"reference": letter.reference, "reason": letter.reason[:2000], "deaths": letter.deaths,
                  "state": state, "last_seen_at": at}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(dead_letters).values(key=letter.key, first_seen_at=at, **values))
        except IntegrityError:
            with self.engine.begin() as conn:
                conn.execute(update(dead_letters).where(dead_letters.c.key == letter.key).values(**values))

    def list_dead_letters(self, limit=100) -> list[dict]:
        """Recorded dead letters, newest first, each with whether its ticket exists by now."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(dead_letters, tickets.c.id.label("ticket_id"))
                                .outerjoin(messages, messages.c.intake_id == dead_letters.c.key)
                                .outerjoin(tickets, tickets.c.id == messages.c.ticket_id)
                                .order_by(dead_letters.c.last_seen_at.desc()).limit(limit))
            return [{"key": r.key, "reference": r.reference, "reason": r.reason, "deaths": r.deaths,
                     "state": r.state, "ticketed": r.ticket_id is not None,
                     "first_seen_at": iso(r.first_seen_at), "last_seen_at": iso(r.last_seen_at)} for r in rows]

    # --- quarantine and health ------------------------------------------------

    def quarantine(self, reason: str, raw: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(quarantine).values(at=now(), reason=reason, raw=raw)
                                ).inserted_primary_key[0]

    def list_quarantine(self, limit=100) -> list[dict]:
        with self.engine.connect() as conn:
            return [{"id": r.id, "at": iso(r.at), "reason": r.reason, "raw": r.raw} for r in conn.execute(
                select(quarantine).order_by(quarantine.c.id.desc()).limit(limit))]

    def open_counts(self) -> dict[tuple[str, str], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tickets.c.status, tickets.c.priority, func.count())
                                .where(tickets.c.status.in_(domain.OPEN_STATUSES))
                                .group_by(tickets.c.status, tickets.c.priority))
            return {(s, p): n for s, p, n in rows}

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))


def _validated_changes(row, fields: dict) -> dict:
    from services.common.contract.complaint import CATEGORIES

    values = {}
    if "status" in fields:
        values["status"] = domain.check_transition(row.status, fields["status"])
    if "priority" in fields:
        values["priority"] = domain.check_priority(fields["priority"])
    if "category" in fields:
        category = fields["category"]
        if category not in CATEGORIES:
            raise domain.TicketError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        values["category"] = category
        values["queue"] = domain.queue_for(category)
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def _timestamps_for(values: dict, at) -> dict:
    status = values.get("status")
    if status == domain.RESOLVED:
        return {"resolved_at": at}
    if status == domain.CLOSED:
        return {"closed_at": at}
    if status in domain.OPEN_STATUSES:
        return {"resolved_at": None}
    return {}


def _customer_label(c: ComplaintReceived) -> str:
    if c.customer.anonymous:
        return "anonymous"
    return c.customer.email or c.customer.phone or c.customer.whatsapp or c.customer.name or "unknown"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ticket_dict(row) -> dict:
    result = {k: getattr(row, k) for k in TICKET_FIELDS}
    result["customer"] = {"name": row.customer_name, "email": row.customer_email, "phone": row.customer_phone,
                          "whatsapp": row.customer_whatsapp, "anonymous": bool(row.customer_anonymous)}
    for k in ("created_at", "updated_at", "resolved_at", "closed_at", "first_response_at", "sla_breached_at"):
        result[k] = iso(getattr(row, k))
    result["follow_up"] = ({"channel": row.follow_up_channel, "address": row.follow_up_address}
                           if row.follow_up_channel else None)
    result["survey"] = ({"rating": row.survey_rating, "comment": row.survey_comment,
                         "answered_at": iso(row.survey_answered_at)} if row.survey_rating is not None else None)
    return result


def _public_message(m: dict) -> dict:
    """A message as its customer sees it: no internal ids; who answered, for our replies."""
    public = {k: m[k] for k in ("direction", "channel", "subject", "body", "created_at")}
    if m["direction"] == "out":
        public["author"] = m["author"]
    return public


def _message_dict(m) -> dict:
    return {"id": m.id, "direction": m.direction, "channel": m.channel, "external_id": m.external_id,
            "intake_reference": m.intake_reference, "message_id": m.message_id, "author": m.author,
            "subject": m.subject, "body": m.body, "attachments": m.attachments, "extras": m.extras,
            "threaded_via": m.threaded_via, "received_at": iso(m.received_at), "created_at": iso(m.created_at)}
