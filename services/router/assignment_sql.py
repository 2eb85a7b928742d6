"""The statements of the assignment transaction (assignment.py), built once so
SQLAlchemy caches their compiled form: a decision runs them thousands of times.

Each is a conditional update: it changes nothing (rowcount 0, or no row back)
when the ticket or the agent is no longer as the decision saw it.
"""

from __future__ import annotations

from sqlalchemy import JSON, DateTime, Integer, String, bindparam, exists, func, insert, literal, select, update

from services.common.contract.vocabulary import OPEN_STATUS_VALUES

from .schema import agents, decisions, outbox, tickets, vacations

TICKET = select(tickets).where(tickets.c.reference == bindparam("b_ref"))


def _ticket_still(unassigned: bool):
    """The ticket has the assignee the decision saw (b_prev, or none)."""
    return [tickets.c.reference == bindparam("b_ref"),
            tickets.c.assignee.is_(None) if unassigned else tickets.c.assignee == bindparam("b_prev")]


# Literal values, not an "expanding" IN parameter SQLAlchemy would re-render at every execution.
STILL_OPEN = tickets.c.status.in_([literal(status) for status in OPEN_STATUS_VALUES])

# [unassigned before?] -> the claim of the ticket for the winner (announced now)
CLAIM = {unassigned: update(tickets).where(*_ticket_still(unassigned), STILL_OPEN).values(
    assignee=bindparam("b_winner"), weight=bindparam("b_weight"), waiting_since=None, step=None,
    announced_at=bindparam("b_at"), updated_at=bindparam("b_at")) for unassigned in (True, False)}

# The ticket staying in the waiting queue (a new step, perhaps)
STAY_WAITING = update(tickets).where(*_ticket_still(True)).values(
    step=bindparam("b_step"), waiting_since=bindparam("b_since"), weight=0, updated_at=bindparam("b_at"))

# The ticket taken back from b_prev into the waiting queue (announced now)
TAKE_BACK = update(tickets).where(*_ticket_still(False)).values(
    step=bindparam("b_step"), waiting_since=bindparam("b_since"), assignee=None, weight=0,
    announced_at=bindparam("b_at"), updated_at=bindparam("b_at"))

# The winner's load, only if they are still available, off vacation and have room;
# their channel capacities come back for the per-channel check (assignment._check_channel_room).
TAKE = update(agents).where(
    agents.c.name == bindparam("b_name"), agents.c.status == "available",
    agents.c.load + bindparam("b_delta") <= agents.c.capacity,
    ~exists().where(vacations.c.agent == bindparam("b_name"), vacations.c.starts_at <= bindparam("b_at"),
                    vacations.c.ends_at > bindparam("b_at"))).values(
    load=agents.c.load + bindparam("b_delta"), last_assigned_at=bindparam("b_at")).returning(
    agents.c.channel_capacity)

CHANNEL_LOAD = select(func.coalesce(func.sum(tickets.c.weight), 0)).where(
    tickets.c.assignee == bindparam("b_name"), tickets.c.channel == bindparam("b_channel"))

ADD_LOAD = update(agents).where(agents.c.name == bindparam("b_name")).values(load=agents.c.load + bindparam("b_delta"))

# The last decision of a ticket (the "nobody" decisions are recorded only when something changed).
LAST_DECISION = select(decisions.c.step, decisions.c.kind).where(
    decisions.c.reference == bindparam("b_ref")).order_by(decisions.c.id.desc()).limit(1)


def _claim_and_record_statement():
    """PostgreSQL: the claim of an unassigned ticket (CLAIM) and of its winner (TAKE),
    the decision row and the event's outbox row, in one statement of data-modifying
    CTEs. The winner is only updated if the ticket was, the rows only written if the
    winner was; it returns the winner's channel capacities, or no row (Lost: the
    caller rolls back)."""
    at_type = DateTime(timezone=True)
    claim = CLAIM[True].returning(tickets.c.reference).cte("claim")
    take = TAKE.where(exists(select(claim.c.reference))).cte("take")
    record = insert(decisions).from_select(
        ["reference", "at", "kind", "step", "winner", "previous", "rule", "candidates"],
        select(bindparam("b_ref", type_=String), bindparam("b_at", type_=at_type), bindparam("b_kind", type_=String),
               bindparam("b_step", type_=String), bindparam("b_winner", type_=String), literal(None, String),
               bindparam("b_rule", type_=String), bindparam("b_candidates", type_=JSON)).select_from(take),
    ).cte("record")
    return insert(outbox).from_select(
        ["event_id", "event_type", "payload", "created_at", "attempts"],
        select(bindparam("b_event_id", type_=String), bindparam("b_event_type", type_=String),
               bindparam("b_payload", type_=JSON), bindparam("b_created_at", type_=at_type),
               literal(0, Integer)).select_from(take),
    ).add_cte(record).returning(select(take.c.channel_capacity).scalar_subquery())


CLAIM_AND_RECORD = _claim_and_record_statement()
