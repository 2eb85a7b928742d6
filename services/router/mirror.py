"""The router's mirror of the tickets service's open tickets, fed by its events
(validated in handling.py) and by reconcile (adopt): what each ticket needs
(category, region and where it came from, language, priority, channel, and a
confidential case's group), who has it, what it weighs in their load, and the
waiting queue (the rows with waiting_since set).

Each tickets event is applied once (its id is inserted in the same transaction),
and an older state arriving after a newer one is ignored (by version).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.common.contract.confidential import DEFAULT_GROUP
from services.common.contract.errors import NotFound
from services.common.contract.vocabulary import DEFAULT_PRIORITY, OPEN_STATUS_VALUES, Priority
from services.common.time.clock import iso, now, parse, utc

from . import explain, policy
from .roster_cache import RosterCache
from .schema import agents, processed_events, tickets

MIRRORED = ("category", "region", "region_source", "language", "priority", "channel", "status",
            "confidential_group")

# The waiting queue's order in SQL: policy.waiting_order (most urgent, then oldest).
_RANK = case({p.value: p.rank for p in Priority}, value=tickets.c.priority, else_=DEFAULT_PRIORITY.rank)
_WAITING = [tickets.c.waiting_since.is_not(None), tickets.c.status.in_(OPEN_STATUS_VALUES)]


class TicketMirror:
    def __init__(self, engine, config: policy.PolicyConfig, cache: RosterCache):
        self.engine, self.config, self.cache = engine, config, cache

    def apply_event(self, event_id: str, event_type: str, ticket: dict, changes: dict | None = None,
                    actor: str | None = None, direction: str | None = None, echo: bool = False) -> str | None:
        """Apply one tickets event once. Returns what should happen next: 'route' (the
        ticket needs an agent), 'follow_up' (a customer wrote), 'confidential' (an assigned
        ticket just became a confidential case, or a person assigned a case: the assignee
        may not be in its group), or
        None. `echo`: the event applies the router's own decision, so its assignee change
        is not news."""
        at = now()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(processed_events).values(event_id=event_id, at=at))
                return self._apply(conn, event_type, ticket, changes or {}, actor, direction, echo, at)
        except IntegrityError:
            with self.engine.connect() as conn:
                if conn.execute(select(processed_events.c.event_id).where(
                        processed_events.c.event_id == event_id)).first():
                    return None  # a redelivery: already applied
            raise

    def _apply(self, conn, event_type, t: dict, changes, actor, direction, echo, at) -> str | None:
        ref = t["reference"]
        row = conn.execute(select(tickets).where(tickets.c.reference == ref)).first()
        fields = mirrored(t)
        version = int(t.get("version") or 0)
        if row is None:
            return self._insert(conn, ref, t, fields, version, at)
        if version and version <= row.version:
            return None  # an older state than the one applied already
        assignee, announced_at = row.assignee, row.announced_at
        if "assignee" in changes and not echo:
            # A person assigned or unassigned it in the tickets service: that is the truth now.
            assignee, announced_at = changes["assignee"]["after"], None
            explain.record(conn, policy.Decision(ref, at, row.step or policy.STRICT, assignee,
                                                 f"assigned by {actor or 'someone'} in the tickets service"
                                                 if assignee else f"unassigned by {actor or 'someone'}"),
                           "manual", previous=row.assignee)
        open_now = fields["status"] in OPEN_STATUS_VALUES
        waiting = open_now and not assignee
        conn.execute(update(tickets).where(tickets.c.reference == ref).values(
            **fields, version=max(version, row.version), assignee=assignee, announced_at=announced_at,
            updated_at=at, waiting_since=(row.waiting_since or at) if waiting else None,
            step=(row.step or policy.STRICT) if waiting else None))
        self._set_weight(conn, ref, assignee, fields["priority"], fields["status"], old=row,
                         channel=fields["channel"])
        if waiting:
            return "route"
        if assignee and open_now and fields["confidential_group"] and (
                not row.confidential_group or ("assignee" in changes and not echo)):
            return "confidential"  # it just became a case, or a person gave a case to someone
        if event_type == "ticket_message_added" and direction == "in" and assignee and open_now:
            return "follow_up"
        return None

    def _insert(self, conn, ref, t: dict, fields: dict, version: int, at) -> str | None:
        waiting = t["status"] in OPEN_STATUS_VALUES and not t.get("assignee")
        conn.execute(insert(tickets).values(
            reference=ref, **fields, version=version, assignee=t.get("assignee"), weight=0,
            created_at=parse(t.get("created_at")) or at, waiting_since=at if waiting else None,
            step=policy.STRICT if waiting else None, updated_at=at))
        if t.get("assignee"):  # assigned elsewhere before we heard of it
            self._set_weight(conn, ref, t.get("assignee"), fields["priority"], fields["status"],
                             channel=fields["channel"])
        return "route" if waiting else None

    def _set_weight(self, conn, ref, assignee, priority, status, old=None, channel=None) -> None:
        """Move the ticket's weight between agents' loads by deltas (safe under concurrency)."""
        weight = self.config.weight(priority) if assignee and self.config.counts_toward_load(status) else 0
        old_assignee, old_weight = (old.assignee, old.weight) if old is not None else (None, 0)
        if (old_assignee, old_weight) == (assignee, weight):
            return
        conn.execute(update(tickets).where(tickets.c.reference == ref).values(weight=weight))
        for name, delta in sorted(load_deltas(old_assignee, old_weight, assignee, weight).items()):
            conn.execute(update(agents).where(agents.c.name == name).values(load=agents.c.load + delta))
            self.cache.claimed(name, delta, None, channel)

    def adopt(self, summary: dict) -> bool:
        """Take in an open ticket learnt from the tickets service directly (reconcile),
        unless the router knows it already. True when it was new."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(tickets.c.reference).where(
                        tickets.c.reference == summary["reference"])).first():
                    return False
                self._apply(conn, "ticket_created", summary, {}, None, None, False, now())
                return True
        except IntegrityError:  # an event inserted it meanwhile
            return False

    def forget_events(self, older_than: datetime) -> int:
        """Drop remembered event ids past any plausible redelivery, so the table stays small."""
        with self.engine.begin() as conn:
            return conn.execute(delete(processed_events).where(processed_events.c.at < older_than)).rowcount

    def ticket(self, reference: str):
        with self.engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.reference == reference)).first()
        if row is None:
            raise NotFound(f"the router has not seen ticket {reference}")
        return row

    def tickets(self, references: list[str]) -> dict:
        """reference -> row, for those the router knows."""
        with self.engine.connect() as conn:
            return {r.reference: r for r in conn.execute(select(tickets).where(tickets.c.reference.in_(references)))}

    def assigned_to(self, name: str) -> list:
        """The open tickets the mirror has with this agent."""
        with self.engine.connect() as conn:
            return conn.execute(select(tickets).where(tickets.c.assignee == name,
                                                      tickets.c.status.in_(OPEN_STATUS_VALUES))).all()

    def waiting(self, limit: int | None = 500) -> list:
        """The waiting queue in policy order (policy.waiting_order, done by the database)."""
        with self.engine.connect() as conn:
            return conn.execute(select(tickets).where(*_WAITING)
                                .order_by(_RANK.desc(), tickets.c.waiting_since, tickets.c.reference)
                                .limit(limit)).all()

    def waiting_as_dicts(self, viewer=None) -> list[dict]:
        """The waiting queue; for a `viewer` (services/common/contract/confidential.py) without
        the confidential cases they may not see."""
        return [{"reference": r.reference, "priority": r.priority, "category": r.category, "region": r.region,
                 "language": r.language, "waiting_since": iso(r.waiting_since), "step": r.step,
                 "confidential": r.confidential_group is not None}
                for r in self.waiting()
                if viewer is None or viewer.sees(r.confidential_group is not None, r.confidential_group)]

    def waiting_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(tickets).where(*_WAITING)).scalar_one()


def mirrored(t: dict) -> dict:
    """The MIRRORED fields of a ticket dict (an event's snapshot, a search result)."""
    fields = {k: t.get(k) for k in MIRRORED}
    fields["confidential_group"] = (t.get("confidential_group") or DEFAULT_GROUP) if t.get("confidential") else None
    return fields


def policy_ticket(row) -> policy.Ticket:
    """A mirror row as the policy sees a ticket."""
    return policy.Ticket(row.reference, row.category, row.region, row.language, row.priority, row.channel,
                         utc(row.created_at), row.confidential_group)


def load_deltas(old_agent, old_weight, new_agent, new_weight) -> dict[str, float]:
    """How a ticket moving from one agent (and weight) to another changes their loads."""
    out: dict[str, float] = {}
    if old_agent and old_weight:
        out[old_agent] = out.get(old_agent, 0) - old_weight
    if new_agent and new_weight:
        out[new_agent] = out.get(new_agent, 0) + new_weight
    return {k: v for k, v in out.items() if v}
