"""The notifier's privacy parts: its share of an export, its erasure, its retention.

What it holds about a person: the outbox rows of messages to them or about their
tickets (recipient, idempotency key, subject, body, headers, the last error) and its
copy of each ticket (the customer's name and addresses, the subject, a callback
number). On erasure:
- notifications: a row to one of their addresses or about one of their tickets loses
  its subject, body, headers and payload ("[erased]"); their address becomes its
  pseudonym in the recipient and the key; a message not sent yet is cancelled, so
  nothing new reaches them. Agents' addresses stay. Mail already delivered is in the
  recipients' mailboxes, outside this system.
- notifier_tickets: the copy keeps what scheduling needs (status, version, assignee,
  timestamps) and loses the customer (addresses become pseudonyms, the name goes),
  the subject, the follow-up address, survey comment and a pending callback request.
Rows of tickets on legal hold are kept.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Text, cast, func, or_, select, update

from services.common.contract.events import ErasureEntry, SubjectErasureRequested
from services.common.contract.vocabulary import Status
from services.common.privacy.archive import rows as json_rows
from services.common.privacy.parts import ERASED, KEPT, PSEUDONYMISED, counted, entry
from services.common.privacy.pseudonym import is_pseudonym, pseudonym
from services.common.privacy.retention import Retention
from services.common.privacy.subject import ERASED as ERASED_TEXT
from services.common.privacy.subject import Subject
from services.common.time.clock import now

from .schema import notifications, ticket_state

SERVICE = "notifier"
UNSENT = ("pending", "sending")
DONE = ("sent", "failed", "cancelled")
BATCH = 500


class NotifierPrivacy:
    service = SERVICE

    def __init__(self, engine):
        self.engine = engine

    # --- export ------------------------------------------------------------------------------

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        with self.engine.connect() as conn:
            sent = json_rows(conn.execute(select(notifications).where(_notifications_of(subject, references))
                                          .order_by(notifications.c.id)))
            copies = json_rows(conn.execute(select(ticket_state).where(_tickets_of(subject, references))))
        sent = [r for r in sent if r["reference"] in references or subject.owns(r["recipient"])]
        return {"tables": {"notifications": sent, "notifier_tickets": copies}}

    # --- erasure -----------------------------------------------------------------------------

    def erase(self, request: SubjectErasureRequested) -> list[ErasureEntry]:
        subject = Subject.of(request.identifiers)
        references, held = tuple(request.references), set(request.held_references)
        done: Counter = Counter()
        at = now()
        with self.engine.begin() as conn:
            for row in conn.execute(select(notifications).where(_notifications_of(subject, references))).all():
                if row.reference in held:
                    done[("notifications", KEPT)] += 1
                elif row.reference in references or subject.owns(row.recipient):
                    if _erase_notification(conn, row, subject, at):
                        done[("notifications", ERASED)] += 1
            for row in conn.execute(select(ticket_state).where(_tickets_of(subject, references))).all():
                if row.reference in held:
                    done[("notifier_tickets", KEPT)] += 1
                elif _erase_copy(conn, row, subject, at):
                    done[("notifier_tickets", PSEUDONYMISED)] += 1
        reason = "legal hold on the ticket" if held else None
        return [entry("notifications", ERASED, done[("notifications", ERASED)]),
                entry("notifier_tickets", PSEUDONYMISED, done[("notifier_tickets", PSEUDONYMISED)]),
                *[entry(t, KEPT, done[(t, KEPT)], reason) for t in ("notifications", "notifier_tickets")
                  if done[(t, KEPT)]]]

    # --- retention ---------------------------------------------------------------------------

    def retain(self, at: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        done: Counter = Counter()
        cutoff = rules.message_cutoff(at)
        if cutoff is not None:
            done[("notifications", ERASED)] = _drain(lambda: self._expired_messages(cutoff, at))
        cutoff = rules.contact_cutoff(at)
        if cutoff is not None:
            done[("notifier_tickets", PSEUDONYMISED)] = _drain(lambda: self._expired_copies(cutoff, at))
        return counted(done)

    def _expired_messages(self, cutoff, at) -> int:
        """Messages sent (or given up) before the cut-off: bodies erased, recipients pseudonymised."""
        erased = 0
        with self.engine.begin() as conn:
            for row in conn.execute(select(notifications).where(
                    notifications.c.status.in_(DONE), notifications.c.updated_at < cutoff,
                    notifications.c.body != ERASED_TEXT).order_by(notifications.c.id).limit(BATCH)).all():
                owner = Subject.given(**_address_of(row.recipient))
                erased += _erase_notification(conn, row, owner, at, force=True)
        return erased

    def _expired_copies(self, cutoff, at) -> int:
        """Copies of tickets resolved or closed before the cut-off lose their customer."""
        erased = 0
        with self.engine.begin() as conn:
            for row in conn.execute(select(ticket_state).where(
                    ticket_state.c.status.in_([Status.RESOLVED.value, Status.CLOSED.value]),
                    ticket_state.c.updated_at < cutoff, ticket_state.c.erased_at.is_(None))
                    .order_by(ticket_state.c.reference).limit(BATCH)).all():
                erased += _erase_copy(conn, row, _customer_of(row.ticket), at, force=True)
        return erased


def _drain(step) -> int:
    """Run a batch step until it finds less than a batch."""
    total = 0
    while True:
        found = step()
        total += found
        if found < BATCH:
            return total


# --- what belongs to the person --------------------------------------------------------------

def _addresses(subject: Subject) -> list[str]:
    return [*subject.emails, *subject.phones, *(f"whatsapp:{p}" for p in subject.phones)]


def _notifications_of(subject: Subject, references):
    found = [notifications.c.recipient.in_(_addresses(subject))]
    found += [func.lower(notifications.c.recipient) == e for e in subject.emails]
    if references:
        found.append(notifications.c.reference.in_(list(references)))
    return or_(*found)


def _tickets_of(subject: Subject, references):
    text = cast(ticket_state.c.ticket, Text)
    found = [text.contains(a, autoescape=True) for a in _addresses(subject)] or [ticket_state.c.reference.is_(None)]
    if references:
        found.append(ticket_state.c.reference.in_(list(references)))
    return or_(*found)


def _address_of(recipient: str) -> dict:
    if "@" in recipient:
        return {"email": recipient}
    try:
        return {"phone": Subject.given(phone=recipient).phones[0]}
    except ValueError:
        return {}


def _customer_of(ticket: dict) -> Subject:
    customer = (ticket or {}).get("customer") or {}
    values = [i.get("value") for i in customer.get("identities") or () if isinstance(i, dict)]
    follow_up = ((ticket or {}).get("follow_up") or {}).get("address")
    addresses = [v for v in [*values, follow_up] if isinstance(v, str) and v and not is_pseudonym(v)]
    name = customer.get("name") if isinstance(customer.get("name"), str) else None
    return Subject().plus(emails=[a for a in addresses if "@" in a], phones=[a for a in addresses if "@" not in a],
                          names=[name] if name else [])


# --- erasing a row ------------------------------------------------------------------------------

def _erase_notification(conn, row, subject: Subject, at, force: bool = False) -> int:
    """1 when the row changed (or `force`: retention must not pick the same row again)."""
    owned = subject.owns(row.recipient)
    recipient = pseudonym(row.recipient) if owned else row.recipient
    key = row.key.replace(row.recipient, recipient) if owned else row.key
    values = {"recipient": recipient, "key": subject.scrub(key, recipient), "subject": ERASED_TEXT,
              "body": ERASED_TEXT, "headers": {}, "payload": {},
              "last_error": subject.scrub(row.last_error) if row.last_error else None,
              "status": "cancelled" if row.status in UNSENT else row.status, "updated_at": at}
    if not force and all(getattr(row, k) == v for k, v in values.items() if k != "updated_at"):
        return 0
    conn.execute(update(notifications).where(notifications.c.id == row.id).values(**values))
    return 1


def _erase_copy(conn, row, subject: Subject, at, force: bool = False) -> int:
    ticket = dict(row.ticket or {})
    customer = _customer_of(ticket)
    person = subject.plus(customer.emails, customer.phones, customer.names)
    old = ticket.get("customer") or {}
    kept = [i for i in old.get("identities") or () if isinstance(i, dict) and i.get("value")]
    ticket["customer"] = {"name": None, "anonymous": bool(old.get("anonymous")),
                          "identities": [{"kind": i.get("kind"), "value": pseudonym(i["value"])} for i in kept]}
    if ticket.get("subject"):
        ticket["subject"] = ERASED_TEXT
    if isinstance(ticket.get("follow_up"), dict) and ticket["follow_up"].get("address"):
        ticket["follow_up"] = {**ticket["follow_up"], "address": pseudonym(ticket["follow_up"]["address"])}
    if isinstance(ticket.get("survey"), dict) and ticket["survey"].get("comment"):
        ticket["survey"] = {**ticket["survey"], "comment": ERASED_TEXT}
    ticket = person.scrub_deep(ticket)
    if not force and ticket == row.ticket and row.callback is None and row.erased_at is not None:
        return 0
    conn.execute(update(ticket_state).where(ticket_state.c.reference == row.reference).values(
        ticket=ticket, callback=None, erased_at=row.erased_at or at))
    return 1
