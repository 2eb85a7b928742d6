"""Changes to a ticket by agents, the system and the router's decisions: status,
priority, category, assignee, follow-up channel, notes. Each is checked by the
rules in domain.py, audited and announced as TicketUpdated in one transaction.
"""

from __future__ import annotations

from services.common.contract.complaint import CATEGORIES
from services.common.contract.errors import Conflict, Forbidden
from services.common.contract.events import Assignment, TicketUpdated
from services.common.contract.storable_text import is_storable
from services.common.contract.vocabulary import OPEN_STATUSES, ActorType, Status
from services.common.time.clock import iso

from . import confidentiality, domain
from . import repository as repo
from .transactions import TRIES, attempt, emit

CHANGEABLE = ("status", "priority", "category", "confidential")
ROUTER = "router"  # the actor a router decision is recorded as


def change(engine, reference: str, fields: dict, actor_type: str, actor: str | None,
           viewer: confidentiality.Viewer | None = None,
           confidential: confidentiality.Settings = confidentiality.Settings()) -> dict:
    """Change status, priority, category and/or confidential (marking a case is for
    supervisors, and `viewer` says who asks: confidentiality.check_marking)."""
    domain.check_actor(actor_type, actor)
    unknown = set(fields) - set(CHANGEABLE)
    if unknown:
        raise domain.TicketError(f"cannot change {', '.join(sorted(unknown))}; "
                                 f"changeable: {', '.join(CHANGEABLE)}")
    viewer = viewer or confidentiality.viewer_of(None)
    return mutate(engine, reference, actor_type, actor, "changed",
                  lambda row: _validated(row, fields, viewer, confidential))


def assign(engine, reference: str, assignee: str | None, actor_type: str, actor: str | None,
           expected_assignee: str | None = "*") -> dict:
    """Set or clear the assignee (an agent, or a supervisor for them). With
    expected_assignee (None for 'unassigned'), the change happens only if the ticket
    is still as the caller saw it; assigning whom it already has is a quiet no-op."""
    domain.check_actor(actor_type, actor)
    for name in (assignee, expected_assignee):
        if isinstance(name, str) and not is_storable(name):
            raise domain.TicketError(f"no agent is called {name!r}")

    def values(row):
        if row.assignee == assignee:
            return {}  # already so (a repeated click, a retried call)
        if expected_assignee != "*" and row.assignee != expected_assignee:
            raise Conflict(f"{row.reference} is assigned to {row.assignee or 'nobody'}, "
                           f"not {expected_assignee or 'nobody'}")
        if row.status == Status.CLOSED:
            raise domain.TicketError(f"{row.reference} is closed; it cannot be assigned")
        return {"assignee": assignee}

    return mutate(engine, reference, actor_type, actor, "assigned" if assignee else "unassigned", values,
                  retry=expected_assignee == "*")


def apply_router_decision(engine, reference: str, assignee: str | None, previous: str | None,
                          assignment: Assignment | None = None) -> str:
    """A router decision (TicketAssigned, or TicketUnassigned as assignee None), applied
    only while the ticket is as the router saw it; returns the domain outcome
    (applied, no_op, superseded, skipped). Applied: TicketUpdated by system/router,
    carrying the decision's `assignment`."""
    def work(conn, at):
        row = repo.by_reference(conn, reference)
        outcome = domain.router_decision_outcome(row and row.status, row and row.assignee, assignee, previous)
        if outcome == domain.APPLIED:
            record(conn, row, {"assignee": assignee}, ActorType.SYSTEM, ROUTER,
                   "assigned" if assignee else "unassigned", at, assignment)
        return outcome

    return attempt(engine, work, reference)


def add_note(engine, reference: str, author: str, body: str) -> dict:
    if not author:
        raise domain.TicketError("a note needs an author")
    body = domain.check_text("note", body)

    def work(conn, at):
        row = repo.require(conn, reference)
        note_id = repo.insert_note(conn, row.id, "agent", author, body, at)
        repo.touch(conn, row, at)
        return {"id": note_id, "author": author, "body": body, "created_at": iso(at)}

    return attempt(engine, work, reference)


def set_follow_up(engine, reference: str, channel: str, address: str, actor_type: str = "customer",
                  actor: str | None = None) -> dict:
    """The customer's chosen channel for our messages from now on (email, whatsapp, sms)."""
    domain.check_actor(actor_type, actor)
    channel, address = domain.check_follow_up(channel, address)
    return mutate(engine, reference, actor_type, actor or "customer", "follow_up_set", lambda row: {
        k: v for k, v in (("follow_up_channel", channel), ("follow_up_address", address))
        if getattr(row, k) != v})


def mutate(engine, reference, actor_type, actor, action, compute, retry=True) -> dict:
    """compute(row) -> the values to set ({} for nothing to do), recorded by `record`."""
    def work(conn, at):
        row = repo.require(conn, reference)
        values = compute(row)
        if not values:
            return repo.view(repo.snapshot(row, repo.identities_of(conn, row.id)))
        return repo.view(record(conn, row, values, actor_type, actor, action, at))

    return attempt(engine, work, reference, tries=TRIES if retry else 1)


def record(conn, row, values: dict, actor_type, actor, action, at, assignment: Assignment | None = None):
    """Set `values` on the ticket, audit it and announce it; returns the new snapshot."""
    diff = domain.changes_between({k: getattr(row, k) for k in values}, values)
    repo.update_ticket(conn, row, {**values, **timestamps_for(values, at)}, at)
    audited = {**diff, "assignment": assignment.__dict__} if assignment else diff
    repo.add_audit(conn, row.id, at, actor_type, actor, action, audited)
    fresh = repo.snapshot_of(conn, row.id)
    emit(conn, TicketUpdated(ticket=fresh, changes=diff, actor_type=ActorType(actor_type), actor=actor,
                             assignment=assignment), at)
    return fresh


def timestamps_for(values: dict, at) -> dict:
    status = values.get("status")
    if status == Status.RESOLVED:
        return {"resolved_at": at}
    if status == Status.CLOSED:
        return {"closed_at": at}
    if status in OPEN_STATUSES:
        return {"resolved_at": None}
    return {}


def _validated(row, fields: dict, viewer: confidentiality.Viewer, confidential: confidentiality.Settings) -> dict:
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
        if category in confidential.categories:  # a confidential category makes a confidential case
            values.update(_marked(row, True, confidential))
    if "confidential" in fields:
        try:
            wanted = confidentiality.check_marking(viewer, row.confidential, row.confidential_group,
                                                   fields["confidential"])
        except confidentiality.Refused as exc:
            raise Forbidden(str(exc)) from None
        except ValueError as exc:
            raise domain.TicketError(str(exc)) from None
        if wanted is not None:
            values.update(_marked(row, wanted, confidential))
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def _marked(row, confidential: bool, settings: confidentiality.Settings) -> dict:
    group = confidentiality.group_on_marking(row.confidential_group, settings) if confidential else None
    return {"confidential": confidential, "confidential_group": group}
