"""The events the router publishes, built from its decisions (plain Python).

TicketAssigned (a new assignee, `previous` set on a reassignment) and
TicketUnassigned (back to the waiting queue) go to the tickets service through
the tickets.assignments queue; TicketEscalated (to the fallback queue) goes to
the notifier. The dataclasses live in the kernel (services/common/contract/events.py);
assignment.py writes them to the outbox in the decision's transaction.
"""

from __future__ import annotations

from datetime import datetime

from services.common.contract.events import Assignment, TicketAssigned, TicketEscalated, TicketUnassigned
from services.common.contract.vocabulary import OPEN_STATUS_VALUES, Priority
from services.common.time.clock import iso, utc

from . import policy


def assigned(row, winner: str, previous: str | None, kind: str, step: str | None, rule: str | None
             ) -> TicketAssigned:
    """The ticket (a mirror row) goes to `winner`, from `previous` (None if it was waiting)."""
    return TicketAssigned(reference=row.reference, assignee=winner, previous=previous,
                          assignment=Assignment(kind=kind, step=step, rule=rule), priority=Priority(row.priority),
                          channel=row.channel, ticket_created_at=iso(row.created_at))


def decided(row, decision: policy.Decision, kind: str) -> TicketAssigned:
    """A decision with a winner, for a ticket that was with row.assignee."""
    return assigned(row, decision.winner, row.assignee, kind, decision.step, decision.rule)


def taken_back(reference: str, previous: str, reason: str) -> TicketUnassigned:
    return TicketUnassigned(reference=reference, previous=previous, reason=reason)


def escalated(reference: str, queue: str, reason: str, waiting_since: datetime) -> TicketEscalated:
    return TicketEscalated(reference=reference, queue=queue, reason=reason, waiting_since=iso(waiting_since))


def needs_reannouncing(row, shown: str | None, shown_version: int, at: datetime, grace_seconds: float) -> bool:
    """Whether the router must announce its assignee for this ticket (a mirror row) again,
    the tickets service showing `shown` at `shown_version`: the router announced a
    different assignee at least `grace_seconds` ago, and the tickets service has not
    changed the ticket since the state the router last applied (else its event, on the
    way, explains the difference and decides)."""
    if shown == row.assignee or row.announced_at is None or row.status not in OPEN_STATUS_VALUES:
        return False
    if shown_version > row.version:
        return False
    return (at - utc(row.announced_at)).total_seconds() >= grace_seconds
