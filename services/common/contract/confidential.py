"""Who sees a confidential case: the one rule every service applies to people.

A confidential case (TicketSnapshot.confidential, with its confidential_group) is
seen by people (agents through the console, operators with their own token) only
when its group is among the groups their credential carries; services acting as
themselves (the router, the notifier) see it, since their work needs it. The
tickets service decides which tickets are confidential and keeps the access log
(services/tickets/confidentiality.py); the router, the notifier and the console
apply this same rule to what they show. Plain Python: a caller is read by duck
typing (services/common/auth/tokens.Caller: agent, operator, role, groups, subject).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_GROUP = "confidential"
# A group's name (CONFIDENTIAL_GROUP, an agent's groups on the roster and in the console).
GROUP_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SUPERVISING_ROLES = ("supervisor", "admin")
# Who is looking: an agent (through the console), an operator (own token), a service.
AGENT, OPERATOR, SERVICE = "agent", "operator", "service"


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as the confidentiality rules see them."""
    actor: str
    actor_type: str                      # AGENT, OPERATOR or SERVICE
    groups: frozenset[str] = frozenset()
    role: str | None = None

    @property
    def person(self) -> bool:
        return self.actor_type != SERVICE

    @property
    def supervises(self) -> bool:
        return self.actor_type == OPERATOR or (self.actor_type == AGENT and self.role in SUPERVISING_ROLES)

    def sees(self, confidential: bool, group: str | None) -> bool:
        return not confidential or not self.person or (group or DEFAULT_GROUP) in self.groups

    @property
    def visible_groups(self) -> frozenset[str] | None:
        """The confidential groups whose cases this viewer sees; None: all of them."""
        return None if not self.person else self.groups

    def logged(self, confidential: bool) -> bool:
        """Whether this viewer's sight of a case goes to its access log."""
        return bool(confidential) and self.person

    def may_read_access_log(self, group: str | None) -> bool:
        return self.person and self.supervises and (group or DEFAULT_GROUP) in self.groups


def viewer_of(caller) -> Viewer:
    """The viewer a verified caller is. No caller at all sees no confidential case: a
    worker without a verified caller proves nothing."""
    if caller is None:
        return Viewer("unknown", AGENT)
    groups = frozenset(caller.groups or ())
    if caller.agent:
        return Viewer(caller.agent, AGENT, groups, caller.role)
    if caller.operator:
        return Viewer(caller.operator, OPERATOR, groups)
    return Viewer(caller.subject, SERVICE)
