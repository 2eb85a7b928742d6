"""After a run: did every accepted complaint become exactly one message on
exactly one ticket, and was every ticket assigned exactly once?

Reads the tickets service's tables directly. Only this test tool does that;
services never read each other's tables.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import create_engine, func, select

from services.tickets.schema import audit, messages, tickets

from .drivers import REFERENCE, Outcome


@dataclass
class Counts:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0          # 5xx or no answer: the customer was told to try again
    refused: int = 0           # 4xx: bad input (should be 0 in these runs)
    ticketed: int = 0          # accepted and found exactly once
    lost: int = 0              # accepted, not found
    duplicated: int = 0        # found more than once
    stored_anyway: int = 0     # rejected, yet stored whole (the answer was lost, not the complaint)
    tickets: int = 0
    assigned: int = 0
    assigned_twice: int = 0
    unassigned: int = 0
    incomplete_tickets: int = 0  # a ticket without any message: half-stored
    acknowledged: int = 0      # accepted complaints whose customer got an acknowledgement
    acks_sent_twice: int = 0   # customers who got two different acknowledgements
    acks_resent: int = 0       # the same email (same Message-ID) delivered again after a crash
    alerts_sent_twice: int = 0  # agents alerted twice for one assignment
    examples: dict = field(default_factory=dict)
    exited: dict = field(default_factory=dict)  # service -> times it died on its own (restarted)

    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.assigned_twice or self.incomplete_tickets
                    or self.acks_sent_twice or self.alerts_sent_twice)

    def table(self) -> str:
        rows = [("sent", self.sent), ("accepted (2xx)", self.accepted), ("rejected (5xx / no answer)", self.rejected),
                ("refused (4xx)", self.refused), ("ticketed", self.ticketed), ("lost", self.lost),
                ("duplicated", self.duplicated), ("rejected but stored whole", self.stored_anyway),
                ("tickets", self.tickets), ("assigned", self.assigned), ("assigned twice", self.assigned_twice),
                ("still unassigned", self.unassigned), ("tickets without a message", self.incomplete_tickets),
                ("acknowledged", self.acknowledged), ("acknowledgements sent twice", self.acks_sent_twice),
                ("same email delivered again", self.acks_resent),
                ("agent alerts sent twice", self.alerts_sent_twice)]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def message_counts(tickets_url: str) -> Counter:
    """(channel, external_id) -> how many messages carry it."""
    engine = create_engine(tickets_url)
    try:
        with engine.connect() as conn:
            return Counter({(r.channel, r.external_id): r.n for r in conn.execute(
                select(messages.c.channel, messages.c.external_id, func.count().label("n"))
                .group_by(messages.c.channel, messages.c.external_id))})
    finally:
        engine.dispose()


def verify(tickets_url: str, outcomes: list[Outcome]) -> Counts:
    counts = Counts(sent=len(outcomes))
    found = message_counts(tickets_url)
    for o in outcomes:
        n = found.get((o.channel, o.key), 0)
        if o.status == "accepted":
            counts.accepted += 1
            if n == 0:
                counts.lost += 1
                counts.examples.setdefault("lost", o.key)
            elif n > 1:
                counts.duplicated += 1
                counts.examples.setdefault("duplicated", o.key)
            else:
                counts.ticketed += 1
        elif o.status == "refused":
            counts.refused += 1
        else:
            counts.rejected += 1
            counts.stored_anyway += n == 1
            if n > 1:
                counts.duplicated += 1
    engine = create_engine(tickets_url)
    try:
        with engine.connect() as conn:
            counts.tickets = conn.execute(select(func.count()).select_from(tickets)).scalar_one()
            counts.assigned = conn.execute(select(func.count()).select_from(tickets)
                                           .where(tickets.c.assignee.is_not(None))).scalar_one()
            counts.unassigned = counts.tickets - counts.assigned
            assignments = conn.execute(select(audit.c.ticket_id, func.count().label("n"))
                                       .where(audit.c.action == "assigned").group_by(audit.c.ticket_id))
            counts.assigned_twice = sum(1 for r in assignments if r.n > 1)
            with_message = select(messages.c.ticket_id).distinct().subquery()
            counts.incomplete_tickets = conn.execute(
                select(func.count()).select_from(tickets)
                .where(tickets.c.id.not_in(select(with_message.c.ticket_id)))).scalar_one()
    finally:
        engine.dispose()
    return counts


def assignment_times(tickets_url: str) -> dict[tuple[str, str], float]:
    """(channel, external id) of each message -> when its ticket was first assigned
    (epoch seconds), from the audit trail."""
    engine = create_engine(tickets_url)
    try:
        with engine.connect() as conn:
            first = (select(audit.c.ticket_id, func.min(audit.c.at).label("at"))
                     .where(audit.c.action == "assigned").group_by(audit.c.ticket_id).subquery())
            rows = conn.execute(select(messages.c.channel, messages.c.external_id, first.c.at)
                                .join(first, first.c.ticket_id == messages.c.ticket_id))
            return {(r.channel, r.external_id): r.at.timestamp() for r in rows}
    finally:
        engine.dispose()


def count_notifications(counts: Counts, outcomes: list[Outcome], mails: list, texts: list) -> Counts:
    """Acknowledgements per customer (emails by Message-ID, Twilio messages by request,
    a WhatsApp webhook's TwiML reply)
    and agent alerts per (agent, reference), from what the stand-in servers received."""
    customer_mail: dict[str, list[str]] = {}
    alerts: Counter = Counter()
    for m in mails:
        to = str(m["To"] or "").lower()
        if to.startswith("agent"):
            ref = REFERENCE.search(str(m["Subject"] or ""))
            alerts[(to, ref and ref.group(0))] += 1
        else:
            customer_mail.setdefault(to, []).append(str(m["Message-ID"]))
    customer_texts = Counter(r.form.get("To", "") for r in texts)
    for o in outcomes:
        if o.status != "accepted" or not o.address:
            continue
        ids = customer_mail.get(o.address.lower(), [])
        sent = len(set(ids)) + customer_texts.get(o.address, 0) + int(o.acknowledged_in_answer)
        counts.acknowledged += sent > 0
        if sent > 1:
            counts.acks_sent_twice += 1
            counts.examples.setdefault("ack sent twice", o.address)
        counts.acks_resent += len(ids) - len(set(ids))
    counts.alerts_sent_twice = sum(1 for n in alerts.values() if n > 1)
    return counts
