"""What an agent works on first, and who may do what: plain Python rules."""

from __future__ import annotations

from services.common.contract.confidential import AGENT as AS_AGENT
from services.common.contract.confidential import Viewer
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


# --- confidential cases (the rule itself: services/common/contract/confidential.py) ---------

def viewer(user: dict) -> Viewer:
    """The signed-in user as the confidentiality rules see them (as their token says)."""
    return Viewer(user["name"], AS_AGENT, frozenset(user.get("groups") or ()), user.get("role"))


def confidential_actions(user: dict, ticket: dict) -> dict:
    """What the ticket page offers about confidentiality: mark (supervisors), unmark
    (supervisors in the case's group), and the access log (the same)."""
    who = viewer(user)
    case, group = bool(ticket.get("confidential")), ticket.get("confidential_group")
    return {"mark": who.supervises and not case,
            "unmark": case and who.may_read_access_log(group),
            "access_log": case and who.may_read_access_log(group)}


def assignable(agents: list[dict], ticket: dict) -> list[str]:
    """The names a ticket may be given to: for a confidential case, its group's members."""
    group = ticket.get("confidential_group") if ticket.get("confidential") else None
    return sorted(a["name"] for a in agents if group is None or group in (a.get("groups") or ()))
