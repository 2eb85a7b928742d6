"""The ticket vocabulary every service speaks: statuses, priorities, who acts.

Defined once here (the tickets service owns the rules that move a ticket
between statuses, in services/tickets/domain.py; everybody else only needs the
words and their order). A consumer that handles statuses or priorities one by
one declares which it handles and a unit test checks it against these enums,
so a state added here fails the consumer that forgot it.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open: somebody still owes the customer something (counts towards an agent's load)."""
        return self in OPEN_STATUSES


OPEN_STATUSES: frozenset[Status] = frozenset({Status.NEW, Status.IN_PROGRESS, Status.PENDING_CUSTOMER})
# In declaration order, for pages and filters.
STATUSES: tuple[Status, ...] = tuple(Status)
OPEN_STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in Status if s in OPEN_STATUSES)


class Priority(StrEnum):
    """Declared lowest first: the order is the rank (Priority.rank)."""
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return PRIORITIES.index(self)


PRIORITIES: tuple[Priority, ...] = tuple(Priority)
DEFAULT_PRIORITY = Priority.MEDIUM


class ActorType(StrEnum):
    AGENT = "agent"
    SYSTEM = "system"
    CUSTOMER = "customer"


def one_of(kind: type[StrEnum]) -> str:
    """'new, in_progress, …' for error messages."""
    return ", ".join(member.value for member in kind)
