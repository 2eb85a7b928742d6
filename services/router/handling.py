"""What the router does, one use case per method, between the nameko entrypoints
(service.py) and the modules that keep state: a tickets event (validated here),
a sweep of the waiting queue and of absent agents' tickets, a follow-up, a
reconcile page from the tickets service, the roster API and `explain`.

Rules live in policy.py; the mirror of tickets in mirror.py; the roster in
roster_store.py and its cache in roster_cache.py; the claim in assignment.py;
the decision log in explain.py. Publishing (the outbox relay) stays in service.py.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from services.common.contract.errors import NotFound
from services.common.contract.events import received_or_reported
from services.common.time.clock import now, utc

from . import announcements, database, explain, metrics, policy, roster, settings
from .assignment import Assignments, Lost
from .mirror import TicketMirror, policy_ticket
from .roster_cache import RosterCache, load_agents
from .roster_store import RosterStore

log = logging.getLogger("router")


class Router:
    def __init__(self, engine, config: policy.PolicyConfig):
        database.prepare(engine)
        self.engine, self.config = engine, config
        self.cache = RosterCache(engine)
        self.roster = RosterStore(engine, self.cache)
        self.mirror = TicketMirror(engine, config, self.cache)
        self.assignments = Assignments(engine, config, self.cache)

    # --- the tickets service's events ------------------------------------------------------

    def ticket_event(self, cls, payload) -> policy.Decision | None:
        """Apply a TicketCreated, TicketUpdated or TicketMessageAdded, then route the ticket
        if it needs an agent. A malformed event is counted and logged once, never retried."""
        got = received_or_reported(cls, payload, log, metrics.BAD_EVENTS)
        if got is None:
            return None
        event = got.event
        ticket = event.plain("ticket")
        message = getattr(event, "message", None)
        action = self.mirror.apply_event(
            got.event_id, cls.event_type, ticket, getattr(event, "changes", None), getattr(event, "actor", None),
            message.direction if message else None, echo=getattr(event, "assignment", None) is not None)
        if action == "route":
            return self._timed("assign", lambda: self.route(ticket["reference"]))
        if action == "follow_up":
            return self._timed("follow_up", lambda: self.follow_up(ticket["reference"]))
        if action == "confidential":
            return self._timed("reroute", lambda: self.confidential_case(ticket["reference"]))
        return None

    def _timed(self, kind, decide) -> policy.Decision | None:
        started = time.monotonic()
        try:
            decision = decide()
        except Lost as exc:  # the sweep picks it up again
            log.info("routing deferred: %s", exc)
            return None
        metrics.DECISION_SECONDS.observe(time.monotonic() - started)
        if decision is not None:
            self._count(kind, decision)
        return decision

    def _count(self, kind, decision) -> None:
        outcome = "assigned" if decision.winner else ("fallback" if decision.to_fallback else "waiting")
        metrics.DECISIONS.labels(kind, outcome).inc()
        if decision.winner:
            log.info("ticket assigned", extra={"reference": decision.reference, "assignee": decision.winner,
                                               "kind": kind, "step": decision.step, "rule": decision.rule})
            if kind == "assign":
                row = self.mirror.ticket(decision.reference)
                metrics.INTAKE_TO_ASSIGNMENT.observe(max(0.0, (decision.at - utc(row.created_at)).total_seconds()))

    # --- deciding ---------------------------------------------------------------------------

    def route(self, reference: str, at: datetime | None = None, **how) -> policy.Decision | None:
        return self.assignments.route(reference, at, **how)

    def follow_up(self, reference: str, at: datetime | None = None) -> policy.Decision | None:
        """A customer wrote again: stay with the assignee if they may still work it, else re-route."""
        at = at or now()
        row = self.mirror.ticket(reference)
        assignee = None
        if row.assignee:  # as the database has them now, not as cached
            with self.engine.connect() as conn:
                assignee = next(iter(load_agents(conn, [row.assignee])[0]), None)
        if policy.keeps_follow_up(assignee, policy_ticket(row), at, self.config):
            return None
        return self.route(reference, at, kind="follow_up", exclude=row.assignee,
                          context=f"the customer wrote again and {row.assignee} can no longer take it")

    def confidential_case(self, reference: str, at: datetime | None = None) -> policy.Decision | None:
        """A ticket became a confidential case while assigned, or a person gave a case to
        someone: an assignee outside its group hands it to a member, or it waits for one
        (taken back from them)."""
        at = at or now()
        row = self.mirror.ticket(reference)
        if not row.assignee:
            return None
        with self.engine.connect() as conn:
            assignee = next(iter(load_agents(conn, [row.assignee])[0]), None)
        if assignee is not None and row.confidential_group in assignee.groups:
            return None
        return self.route(reference, at, kind="reroute", exclude=row.assignee,
                          context=f"a confidential case stays in its group and {row.assignee} is not in the "
                                  f"{row.confidential_group} group")

    def sweep(self) -> None:
        """Hand over absent agents' tickets, then drain the waiting queue (it also moves
        waiting tickets through the relaxation steps)."""
        for decision in self.handovers():
            self._count("handover", decision)
        for decision in self.drain_waiting():
            self._count("assign", decision)

    def drain_waiting(self, at: datetime | None = None) -> list[policy.Decision]:
        """Try every waiting ticket, most urgent then oldest first, against one roster snapshot
        kept current in memory (claims still check the database, so a stale snapshot
        only costs a retry)."""
        at = at or now()
        self.cache.refresh()  # each sweep sees what other replicas changed
        out = []
        # Every waiting ticket, not a first page: a page of tickets nobody can take
        # must not starve the ones behind it.
        for row in self.mirror.waiting(limit=None):
            decision = self.route(row.reference, at)
            if decision is not None:
                out.append(decision)
        database.checkpoint(self.engine)
        return out

    def handovers(self, at: datetime | None = None) -> list[policy.Decision]:
        """Agents on vacation, or offline too long, give their open tickets to others
        by the same policy, most urgent first. Nobody else free: the ticket waits."""
        at = at or now()
        out = []
        for agent in list(self.cache.snapshot().agents.values()):
            reason = policy.needs_handover(agent, at, self.config)
            if not reason:
                continue
            rows = self.mirror.assigned_to(agent.name)
            for t in policy.waiting_order([policy_ticket(r) for r in rows]):
                decision = self.route(t.reference, at, kind="handover", exclude=agent.name, context=reason)
                if decision is not None:
                    out.append(decision)
        return out

    # --- reconciling with the tickets service ------------------------------------------------

    def reconcile(self, search, at: datetime | None = None) -> int:
        """Page through the tickets service's open tickets (`search(page)` -> its search
        result) and reconcile each page; returns how many decisions were announced again."""
        at = at or now()
        self.mirror.forget_events(at - timedelta(days=settings.event_memory_days()))
        page, announced = 1, 0
        while True:
            result = search(page)
            announced += self.reconcile_page(result["items"], at)
            if page * result["per_page"] >= result["total"]:
                return announced
            page += 1

    def reconcile_page(self, summaries: list[dict], at: datetime | None = None) -> int:
        """Adopt the open tickets the router never heard of (events published before it first
        started reach no queue), and announce again a decision the tickets service still
        does not show after ROUTER_REANNOUNCE_SECONDS (lost or parked on its way)."""
        at = at or now()
        known = self.mirror.tickets([s["reference"] for s in summaries])
        announced = 0
        for summary in summaries:
            row = known.get(summary["reference"])
            if row is None:
                self.mirror.adopt(summary)
                continue
            shown = summary.get("assignee")
            if announcements.needs_reannouncing(row, shown, int(summary.get("version") or 0), at,
                                                settings.reannounce_seconds()) \
                    and self.assignments.reannounce(row, shown, at):
                log.info("assignment announced again", extra={"reference": row.reference, "assignee": row.assignee,
                                                              "shown": shown})
                announced += 1
        return announced

    # --- the roster ---------------------------------------------------------------------------

    def put_agent(self, data: dict) -> dict:
        return self.roster.put_agent(_valid(roster.agent, data))

    def patch_agent(self, name: str, data: dict) -> dict:
        fields = _valid(roster.agent, data, partial=True)
        fields.pop("name", None)
        return self.roster.patch_agent(name, fields)

    def add_vacation(self, name: str, data: dict) -> dict:
        return self.roster.add_vacation(name, _valid(roster.vacation, data))

    def import_roster(self, items: list[dict]) -> dict:
        """Store agents already parsed (roster.parse_json / parse_csv)."""
        return self.roster.import_roster(items)

    # --- reading -------------------------------------------------------------------------------

    def explain(self, reference: str, viewer=None) -> dict:
        """Why the ticket went where it did; NotFound, as for a ticket never seen, for a
        `viewer` (services/common/contract/confidential.py) outside a confidential case's group."""
        found = explain.explain(self.engine, reference)
        if viewer is not None and not viewer.sees(found["confidential_group"] is not None,
                                                  found["confidential_group"]):
            raise NotFound(f"the router has not seen ticket {reference}")
        return found

    def counts(self) -> dict:
        return {"waiting": self.mirror.waiting_count(), "loads": self.roster.loads()}

    def ping(self) -> None:
        database.ping(self.engine)


def _valid(parse, data, **how) -> dict:
    errors: dict[str, str] = {}
    value = parse(data, errors, **how)
    if errors:
        raise roster.RosterError(errors)
    return value
