"""Ticket rules in plain Python: statuses, transitions, priorities, threading.

Nothing here touches a database, a broker or HTTP, so every rule is tested in
milliseconds (tests/test_tickets_domain.py).
"""

from __future__ import annotations

from dataclasses import dataclass

NEW, IN_PROGRESS, PENDING_CUSTOMER, RESOLVED, CLOSED = (
    "new", "in_progress", "pending_customer", "resolved", "closed")
STATUSES = (NEW, IN_PROGRESS, PENDING_CUSTOMER, RESOLVED, CLOSED)
OPEN_STATUSES = (NEW, IN_PROGRESS, PENDING_CUSTOMER)

# What an agent (or the system) may do. A resolved ticket may be reopened; a
# closed one is final: a customer writing again gets a new, linked ticket.
# A customer's reply follows its own rule (status_after_customer_reply).
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({IN_PROGRESS, PENDING_CUSTOMER, RESOLVED}),
    IN_PROGRESS: frozenset({PENDING_CUSTOMER, RESOLVED}),
    PENDING_CUSTOMER: frozenset({IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
}

PRIORITIES = ("low", "medium", "high", "urgent")
DEFAULT_PRIORITY = "medium"
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}

ACTOR_TYPES = ("agent", "system", "customer")
DEFAULT_QUEUE = "general"


class TicketError(ValueError):
    """A request that breaks a ticket rule; the message says which and why."""


class IllegalTransition(TicketError):
    def __init__(self, current: str, target: str):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none (final)"
        super().__init__(f"cannot change status from {current} to {target}; allowed from {current}: {allowed}")
        self.current, self.target = current, target


def check_transition(current: str, target: str) -> str:
    for status in (current, target):
        if status not in STATUSES:
            raise TicketError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    if target != current and target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise TicketError(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}")
    return priority


def check_actor(actor_type: str, actor: str | None) -> None:
    if actor_type not in ACTOR_TYPES:
        raise TicketError(f"unknown actor type {actor_type!r}; expected one of {', '.join(ACTOR_TYPES)}")
    if actor_type == "agent" and not (actor or "").strip():
        raise TicketError("an agent's change needs the agent's name in 'actor'")


def status_after_customer_reply(current: str, assigned: bool) -> str:
    """A customer writing again: pending -> back to work; resolved -> reopened."""
    if current in (PENDING_CUSTOMER, RESOLVED):
        return IN_PROGRESS if assigned else NEW
    return current


def queue_for(category: str | None) -> str:
    """Each category has a queue of its own name; uncategorised mail goes to 'general'."""
    return category or DEFAULT_QUEUE


def changes_between(before: dict, after: dict) -> dict[str, dict]:
    """{"status": {"before": "new", "after": "in_progress"}} for every field that differs."""
    return {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}


@dataclass(frozen=True)
class TicketRef:
    """What threading needs to know about a candidate ticket."""
    id: int
    reference: str
    status: str
    identities: frozenset[str]


@dataclass(frozen=True)
class ThreadDecision:
    ticket: TicketRef | None      # append to this ticket, or None: open a new one
    related: TicketRef | None     # a ticket the new one continues (e.g. a closed one)
    via: str                      # why: for the audit trail


def decide_thread(*, verified: TicketRef | None, by_message_id: TicketRef | None,
                  mentioned: list[TicketRef], sender: frozenset[str]) -> ThreadDecision:
    """Choose where a message belongs.

    Order of trust: a reference the intake verified itself (tracking token,
    IVR), then an email reply to a message we stored, then a reference typed
    in the subject or body, which counts only when the sender is the ticket's
    customer (anyone can type a reference; nobody should slip a message into a
    stranger's ticket). A match on a closed ticket opens a new linked ticket.
    """
    candidates = [(verified, "verified_reference"), (by_message_id, "in_reply_to")]
    candidates += [(t, "reference_in_text") for t in mentioned if sender & t.identities]
    for ticket, via in candidates:
        if ticket is None:
            continue
        if ticket.status == CLOSED:
            return ThreadDecision(None, ticket, via + "_closed")
        return ThreadDecision(ticket, None, via)
    return ThreadDecision(None, None, "new")


def identity_keys(email: str | None = None, phone: str | None = None,
                  whatsapp: str | None = None) -> frozenset[str]:
    """Comparable identities: email case-folded; phone and WhatsApp are one number."""
    keys = set()
    if email:
        keys.add("email:" + email.strip().lower())
    for number in (phone, whatsapp):
        if number:
            keys.add("tel:" + number.strip())
    return frozenset(keys)
