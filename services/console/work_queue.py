"""What an agent works on first, and who may do what: plain Python rules."""

from __future__ import annotations

from services.common.contract.vocabulary import OPEN_STATUS_VALUES, PRIORITIES

# Urgent first: the higher a priority's index, the earlier it comes.
_RANK = {p: i for i, p in enumerate(PRIORITIES)}

AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"
SUPERVISOR_ONLY = frozenset({"roster", "waiting", "live_chats", "reassign_anyone"})
ADMIN_ONLY = frozenset({"audit"})


def most_urgent_then_oldest(tickets: list[dict]) -> list[dict]:
    return sorted(tickets, key=lambda t: (-_RANK.get(t.get("priority"), -1), t.get("created_at") or "",
                                          t.get("reference") or ""))


def open_statuses() -> list[str]:
    return list(OPEN_STATUS_VALUES)


def allowed(role: str, action: str) -> bool:
    """Agents work tickets; supervisors also see the roster, the waiting queue and
    live chats, and reassign any ticket; administrators also read the sign-in
    audit. An unknown role may do nothing."""
    if role == ADMIN:
        return True
    if role == SUPERVISOR:
        return action not in ADMIN_ONLY
    if role == AGENT:
        return action not in SUPERVISOR_ONLY | ADMIN_ONLY
    return False


def may_reassign(role: str, user: str, current_assignee: str | None, new_assignee: str | None) -> bool:
    """An agent may take an unassigned ticket or hand on one of their own; only a
    supervisor moves tickets between other agents."""
    if allowed(role, "reassign_anyone"):
        return True
    return role == AGENT and current_assignee in (None, user)
