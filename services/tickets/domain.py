"""Ticket rules in plain Python: transitions, threading, replies, surveys, SLA clocks,
and how a router decision applies. The words (Status, Priority, ActorType) are the
kernel's (services/common/contract/vocabulary.py); the rules over them live here.

Nothing here touches a database, a broker or HTTP, so every rule is tested in
milliseconds (tests/test_tickets_domain.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.channels import catalogue
from services.common.contract.storable_text import is_storable, storable
from services.common.contract.vocabulary import OPEN_STATUSES, ActorType, Priority, Status, one_of

# What an agent (or the system) may do. A resolved ticket may be reopened; a
# closed one is final: a customer writing again gets a new, linked ticket.
# A customer's reply follows its own rule (status_after_customer_reply).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.PENDING_CUSTOMER, Status.RESOLVED}),
    Status.PENDING_CUSTOMER: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
DEFAULT_QUEUE = "general"


class TicketError(ValueError):
    """A request that breaks a ticket rule; the message says which and why.
    (At the RPC edge it travels as the kernel's Invalid, with this message.)"""


class IllegalTransition(TicketError):
    def __init__(self, current: str, target: str):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none (final)"
        super().__init__(f"cannot change status from {current} to {target}; allowed from {current}: {allowed}")
        self.current, self.target = current, target


def _member(kind, value, what: str):
    try:
        return kind(value)
    except ValueError:
        raise TicketError(f"unknown {what} {value!r}; expected one of {one_of(kind)}") from None


def check_transition(current: str, target: str) -> Status:
    current, target = _member(Status, current, "status"), _member(Status, target, "status")
    if target != current and target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def check_priority(priority: str) -> Priority:
    return _member(Priority, priority, "priority")


def check_actor(actor_type: str, actor: str | None) -> None:
    if _member(ActorType, actor_type, "actor type") == ActorType.AGENT and not (actor or "").strip():
        raise TicketError("an agent's change needs the agent's name in 'actor'")


def status_after_customer_reply(current: str, assigned: bool) -> str:
    """A customer writing again: pending -> back to work; resolved -> reopened."""
    if current in (Status.PENDING_CUSTOMER, Status.RESOLVED):
        return Status.IN_PROGRESS if assigned else Status.NEW
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
        if ticket.status == Status.CLOSED:
            return ThreadDecision(None, ticket, via + "_closed")
        return ThreadDecision(ticket, None, via)
    return ThreadDecision(None, None, "new")


# Identity kinds that are a phone number: one number reached on any of them is one customer.
NUMBER_KINDS = frozenset({"phone", "whatsapp", "sms"})


def identity_keys(identities: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Comparable identities from (kind, value) pairs: email case-folded; a phone,
    WhatsApp or SMS number is one number; any other kind compares as itself."""
    keys = set()
    for kind, value in identities:
        value = (value or "").strip()
        if not value:
            continue
        if kind == "email":
            keys.add("email:" + value.lower())
        elif kind in NUMBER_KINDS:
            keys.add("tel:" + value)
        else:
            keys.add(f"{kind}:{value}")
    return frozenset(keys)


# --- follow-up channel, replies and the satisfaction survey --------------------

SURVEY_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})
MAX_REPLY_CHARS = 20000
MAX_SURVEY_COMMENT_CHARS = 2000


def check_follow_up(channel: str, address: str) -> tuple[str, str]:
    """The customer's chosen channel (a registry channel open to follow-ups) and address,
    validated like the contract's fields: an email address, else a phone number."""
    from services.common.contract.complaint import EMAIL_RE, PHONE_RE

    if channel not in catalogue.FOLLOW_UP_CHANNELS:
        raise TicketError(f"unknown follow-up channel {channel!r}; "
                          f"expected one of {', '.join(catalogue.FOLLOW_UP_CHANNELS)}")
    address = (address or "").strip() if isinstance(address, str) else ""
    if catalogue.channel(channel).identity == "email":
        if not EMAIL_RE.fullmatch(address):
            raise TicketError(f"not an email address: {address!r}")
        return channel, address.lower()
    number = address.replace(" ", "").replace("-", "")
    if not PHONE_RE.fullmatch(number):
        raise TicketError(f"not an E.164 phone number like +351912345678: {address!r}")
    return channel, number


def check_reply(author: str | None, body: str | None) -> str:
    if not (author or "").strip():
        raise TicketError("a reply needs its author (the agent)")
    return check_text("reply", body)


def check_text(what: str, body) -> str:
    """An agent's text (a reply, a note): a non-empty string every database can store.
    A NUL or a lone surrogate is refused, naming it, rather than stored altered."""
    if body is not None and not isinstance(body, str):
        raise TicketError(f"a {what}'s body must be text, not {type(body).__name__}")
    text = (body or "").strip()
    if not text:
        raise TicketError(f"a {what} needs a body")
    if len(text) > MAX_REPLY_CHARS:
        raise TicketError(f"a {what} is at most {MAX_REPLY_CHARS} characters")
    bad = next((c for c in text if not is_storable(c)), None)
    if bad is not None:
        raise TicketError(f"the {what} contains U+{ord(bad):04X}, which cannot be stored; remove it")
    return text


def check_survey(status: str, rating, comment: str | None) -> tuple[int, str | None]:
    """A rating 1..5 (and an optional comment) on a resolved or closed ticket."""
    if status not in SURVEY_STATUSES:
        raise TicketError(f"the survey is for resolved or closed tickets; this one is {status}")
    if isinstance(rating, bool) or not isinstance(rating, int | str):
        raise TicketError("rating must be a whole number from 1 to 5")
    try:
        value = int(rating)
    except ValueError:
        raise TicketError("rating must be a whole number from 1 to 5") from None
    if not 1 <= value <= 5:
        raise TicketError("rating must be a whole number from 1 to 5")
    if comment is not None and not isinstance(comment, str):
        raise TicketError("comment must be text")
    comment = storable((comment or "").strip()[:MAX_SURVEY_COMMENT_CHARS]) or None
    return value, comment


# "4", "4/5", "5 stars", "4 - quick and kind", "3: slow but fine", "4\nquick". A
# comment needs a separator, so "4 days later still nothing" is not a rating.
_RATING_REPLY = re.compile(
    r"(?P<n>[1-5])(?:\s*(?P<scale>/\s*5|out of 5|stars?|estrelas?))?"
    r"(?:(?:\s*(?:[-–—:,;!)]|\.(?!\d))+|\s*\n|(?(scale)\s+|(?!)))\s*(?P<comment>.*))?",
    re.IGNORECASE | re.DOTALL)
_QUOTE_HEADER = re.compile(r"^(on|em|le|am|el)\b.*\b(wrote|escreveu|a écrit|schrieb|escribió):\s*$", re.IGNORECASE)


def parse_survey_reply(body: str | None) -> tuple[int, str | None] | None:
    """A customer's answer that is just a rating (and perhaps a comment): (rating, comment).

    Anything else (a new question, a sentence that merely contains a digit) is
    None: such a message reopens the ticket as usual. Quoted text below an
    email reply ("> ...", "On ... wrote:") is ignored.
    """
    lines = []
    for line in (body or "").splitlines():
        if _QUOTE_HEADER.match(line.strip()) or line.strip() in ("--", "-- "):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    text = "\n".join(lines).strip()
    if not text:
        return None
    stars = text.split()[0] if text else ""
    if stars and set(stars) == {"★"} and len(stars) <= 5:
        return len(stars), text[len(stars):].strip(" -–—:,.;") or None
    match = _RATING_REPLY.fullmatch(text)
    if not match:
        return None
    comment = (match.group("comment") or "").strip()
    return int(match.group("n")), comment[:MAX_SURVEY_COMMENT_CHARS] or None


def reply_subject(reference: str, subject: str | None) -> str:
    """'[C-7K3M9QX2AB] Re: Charged twice': the reference lets an answer find its ticket
    even when a mail client drops In-Reply-To."""
    subject = (subject or "").strip()
    while subject.lower().startswith(("re:", "aw:", "fw:", "fwd:")):
        subject = subject.split(":", 1)[1].strip()
    subject = subject.replace(f"[{reference}]", "").strip()
    return f"[{reference}] Re: {subject}" if subject else f"[{reference}] Your complaint"


# --- SLA: the first-response clock ---------------------------------------------------

# Minutes from a ticket's creation to the first agent reply, per priority.
DEFAULT_FIRST_RESPONSE_MINUTES = {Priority.URGENT: 60, Priority.HIGH: 240, Priority.MEDIUM: 480,
                                  Priority.LOW: 1440}


def parse_first_response_minutes(text: str | None) -> dict[str, float]:
    """'urgent=30,high=120' -> the defaults with those replaced; a clear error otherwise."""
    targets = dict(DEFAULT_FIRST_RESPONSE_MINUTES)
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        priority, _, minutes = part.partition("=")
        try:
            priority = Priority(priority.strip())
        except ValueError:
            raise ValueError(f"SLA target for unknown priority {priority.strip()!r}; "
                             f"expected {one_of(Priority)}") from None
        try:
            value = float(minutes)
        except ValueError:
            raise ValueError(f"SLA target {part!r}: minutes must be a number") from None
        if value <= 0:
            raise ValueError(f"SLA target {part!r}: minutes must be above zero")
        targets[priority] = value
    return targets


def first_response_breached(status: str, priority: str, created_at: datetime, first_response_at,
                            now: datetime, targets: dict[str, float]) -> bool:
    """An open ticket nobody has answered yet, past its priority's first-response target."""
    if status not in OPEN_STATUSES or first_response_at is not None:
        return False
    return now - created_at > timedelta(minutes=targets[priority])


# --- applying the router's decisions -----------------------------------------------------

APPLIED, NO_OP, SUPERSEDED, SKIPPED = "applied", "no_op", "superseded", "skipped"


def router_decision_outcome(status: str | None, current: str | None, assignee: str | None,
                            previous: str | None) -> str:
    """What a router decision (assign to `assignee`, or unassign: None) does to a ticket
    that is now `status` with `current` as its assignee, decided when it had `previous`.

    A decision is announced once but may be delivered again, or overtaken by an agent:
    - unknown ticket (status None) or not open: skipped;
    - already so (a redelivery, or a race already won): no-op;
    - the assignee is no longer the one the router saw (an agent changed it): superseded;
    - otherwise: applied.
    None of these is an error: they are the normal life of an at-least-once queue.
    """
    if status is None or status not in OPEN_STATUSES:
        return SKIPPED
    if current == assignee:
        return NO_OP
    if current != previous:
        return SUPERSEDED
    return APPLIED
