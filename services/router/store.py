"""SQL for the router: the roster, its view of tickets, decisions, and the
atomic claim that turns a policy decision into an assignment.

A claim is one transaction of conditional updates: the ticket must still have
the assignee the decision saw, and the agent must still be available, off
vacation and have room (`load + weight <= capacity`, and per channel where a
channel capacity is set). If any fails, nothing is written and the ticket is
decided again with fresh data. That is what keeps several router replicas from
over-assigning an agent or assigning a ticket twice.

Decisions come from a cached roster (policy.RankedRoster): read whole once, kept
current with this process's own claims and roster edits, refreshed incrementally
from the database every ROUTER_ROSTER_TTL_SECONDS and at each sweep.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from services.common.messaging.outbox import emit
from services.common.messaging.outbox import pending as outbox_pending
from services.common.messaging.outbox import relay as outbox_relay
from services.common.messaging.outbox_rows import event_row
from services.common.time.clock import iso, now, parse, utc

from . import policy, settings
from .schema import agents, decisions, outbox, processed_events, tickets, vacations

OPEN_STATUSES = ("new", "in_progress", "pending_customer")


class NotFound(LookupError):
    pass


class Lost(RuntimeError):
    """Another replica or a person changed the ticket or the agent first."""


# How long a router process decides from its in-memory roster before refreshing it.
# Its own claims and roster changes are applied to it as they happen; what other
# replicas did shows up at the next refresh (each sweep refreshes too) or as a lost
# claim (the database re-checks everything), which re-reads the agents involved.
ROSTER_TTL_SECONDS = settings.roster_ttl_seconds()


class RouterStore:
    def __init__(self, engine, config: policy.PolicyConfig):
        self.engine = engine
        self.config = config
        self._ranked: policy.RankedRoster | None = None   # the roster for deciding, see _snapshot
        self._seen: dict[str, tuple] = {}               # name -> its _DYNAMIC columns as last read
        self._stale: set[str] = set()                    # agents to re-read before the next decision
        # How many times each agent was re-read from the database (and the whole roster):
        # a claim applies its delta to the cache only if its agent was not re-read since
        # the decision (the re-read may already include it), see _claimed.
        self._reads: dict[str, int] = {}
        self._roster_reads = 0
        self._roster_read_at = 0.0
        # Decisions and cache updates from several threads (or green threads) of one process.
        self._lock = threading.RLock()
        self._sqlite = engine.dialect.name == "sqlite"
        # PostgreSQL: a new ticket's claim and its decision row in one statement (one
        # round trip instead of three); SQLite runs in-process, so statements are cheap.
        self._one_statement_claim = engine.dialect.name == "postgresql"
        if self._sqlite:
            _sqlite_pragmas(engine, settings.sqlite_synchronous())

    # --- roster -----------------------------------------------------------------

    def put_agent(self, data: dict, at: datetime | None = None) -> dict:
        """Create or replace an agent (load and history are kept on replace)."""
        self._stale.add(data["name"])  # decisions must see the change at once
        at = at or now()
        with self.engine.begin() as conn:
            self._put_agent(conn, data, at)
        return self.agent(data["name"])

    def import_roster(self, items: list[dict]) -> dict:
        self._forget_roster()  # decisions must see the new roster at once
        at = now()
        with self.engine.begin() as conn:
            for data in items:
                self._put_agent(conn, data, at)
            if not self._sqlite and len(items) >= ANALYZE_AFTER_IMPORT_OF:
                # Fresh planner statistics now rather than at autovacuum's next round: with
                # a table it still believes tiny, PostgreSQL claims agents by scanning the
                # status index (every available agent) instead of the primary key.
                conn.exec_driver_sql(f"ANALYZE {agents.name}")
        return {"imported": len(items)}

    def _put_agent(self, conn, data: dict, at: datetime) -> None:
        values = {k: data[k] for k in ("display_name", "email", "phone", "whatsapp", "skills", "regions",
                                       "languages", "capacity", "channel_capacity") if k in data}
        values.setdefault("channel_capacity", {})
        existing = conn.execute(select(agents.c.status).where(agents.c.name == data["name"])).first()
        status = data.get("status", "available")
        if existing is None:
            conn.execute(insert(agents).values(name=data["name"], status=status, status_since=at, load=0,
                                               updated_at=at, **values))
        else:
            if existing.status != status:
                values.update(status=status, status_since=at)
            conn.execute(update(agents).where(agents.c.name == data["name"]).values(updated_at=at, **values))
        if "vacations" in data:
            conn.execute(delete(vacations).where(vacations.c.agent == data["name"]))
            for v in data["vacations"]:
                conn.execute(insert(vacations).values(agent=data["name"], **v))

    def patch_agent(self, name: str, data: dict) -> dict:
        self._stale.add(name)  # decisions must see the change at once
        at = now()
        with self.engine.begin() as conn:
            row = conn.execute(select(agents).where(agents.c.name == name)).first()
            if row is None:
                raise NotFound(f"no agent {name}")
            self._put_agent(conn, {"name": name, "status": row.status, **data}, at)
        return self.agent(name)

    def remove_agent(self, name: str) -> list[str]:
        """Remove an agent; their open tickets go back to the waiting queue."""
        self._stale.add(name)  # decisions must see the change at once
        at = now()
        with self.engine.begin() as conn:
            if conn.execute(delete(agents).where(agents.c.name == name)).rowcount != 1:
                raise NotFound(f"no agent {name}")
            refs = [r.reference for r in conn.execute(select(tickets.c.reference).where(
                tickets.c.assignee == name, tickets.c.status.in_(OPEN_STATUSES)))]
            conn.execute(update(tickets).where(tickets.c.reference.in_(refs)).values(
                assignee=None, weight=0, waiting_since=at, step=policy.STRICT, push_pending=1, updated_at=at))
            for ref in refs:
                self._record(conn, policy.Decision(ref, at, policy.STRICT, None,
                                                   f"{name} was removed from the roster: back to the waiting queue"),
                             "reroute", previous=name)
        return refs

    def add_vacation(self, name: str, data: dict) -> dict:
        self._stale.add(name)  # decisions must see the change at once
        with self.engine.begin() as conn:
            if not conn.execute(select(agents.c.name).where(agents.c.name == name)).first():
                raise NotFound(f"no agent {name}")
            vid = conn.execute(insert(vacations).values(agent=name, **data)).inserted_primary_key[0]
        return {"id": vid, "agent": name, "starts_at": iso(data["starts_at"]), "ends_at": iso(data["ends_at"]),
                "note": data.get("note")}

    def remove_vacation(self, name: str, vacation_id: int) -> None:
        self._stale.add(name)  # decisions must see the change at once
        with self.engine.begin() as conn:
            if conn.execute(delete(vacations).where(vacations.c.agent == name, vacations.c.id == vacation_id)
                            ).rowcount != 1:
                raise NotFound(f"no vacation {vacation_id} for {name}")

    def agent(self, name: str) -> dict:
        found = self.agents_as_dicts([name])  # one agent's rows, not the whole roster's
        if not found:
            raise NotFound(f"no agent {name}")
        return found[0]

    def agents_as_dicts(self, names: list[str] | None = None) -> list[dict]:
        at = now()
        with self.engine.connect() as conn:
            roster, rows = self._load_agents(conn, names)
            planned: dict[str, list[dict]] = {}
            query = select(vacations).order_by(vacations.c.starts_at)
            if names is not None:
                query = query.where(vacations.c.agent.in_(names))
            for v in conn.execute(query):
                planned.setdefault(v.agent, []).append({"id": v.id, "starts_at": iso(v.starts_at),
                                                        "ends_at": iso(v.ends_at), "note": v.note})
        return [{
            "name": a.name, "display_name": row.display_name, "email": row.email, "phone": row.phone,
            "whatsapp": row.whatsapp, "skills": a.skills,
            "regions": sorted(a.regions), "languages": sorted(a.languages), "capacity": a.capacity,
            "channel_capacity": a.channel_capacity, "status": a.status, "status_since": iso(a.status_since),
            "load": a.load, "last_assigned_at": iso(a.last_assigned_at),
            "on_vacation": bool(a.on_vacation(at)), "vacations": planned.get(a.name, []),
        } for a, row in zip(roster, rows, strict=True)]

    def _snapshot(self) -> policy.RankedRoster:
        """The roster for deciding: read whole once, then kept current with this process's
        own claims and roster changes, and refreshed incrementally every ROSTER_TTL_SECONDS.
        The database is read without holding self._lock (a worker holding the only pooled
        connection may be waiting for that lock); only applying the result takes it."""
        with self._lock:
            ranked, stale = self._ranked, bool(self._stale)
            due = time.monotonic() - self._roster_read_at > ROSTER_TTL_SECONDS
        if ranked is None:
            self._rebuild()
        elif due:
            self.refresh_roster()
        elif stale:
            self._reread()
        return self._ranked

    def _forget_roster(self) -> None:
        with self._lock:
            self._ranked = None

    def _rebuild(self) -> None:
        with self._lock:
            self._stale.clear()  # everything is read now; edits from here on are read again later
        with self.engine.connect() as conn:
            roster, rows = self._load_agents(conn)
        ranked = policy.RankedRoster(roster)
        with self._lock:
            self._ranked = ranked
            self._roster_reads += 1
            self._reads.clear()
            self._seen = {r.name: _dynamic(r) for r in rows}
            self._roster_read_at = time.monotonic()

    def refresh_roster(self) -> None:
        """Bring the cached roster up to date without rebuilding it: read every agent's
        changing columns (status, load, last assignment, updated_at) and the vacations,
        apply what differs from the last read, and re-read whole only the agents edited
        since (updated_at moved), added or removed, or whose per-channel loads matter."""
        if self._ranked is None:
            self._rebuild()
            return
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(_DYNAMIC)]
            trips = _vacations_by_agent(conn)
        with self._lock:
            ranked = self._ranked
            if ranked is None:
                return
            names = {r[0] for r in rows}
            reread = set(ranked.agents) - names
            seen = self._seen
            for r in rows:
                name = r[0]
                before = seen.get(name)
                if before == r:
                    continue
                cached = ranked.agents.get(name)
                if cached is None or before is None or before[-1] != r[-1]:  # new, or edited: updated_at moved
                    reread.add(name)
                    continue
                seen[name] = r
                _, status, status_since, load, last, _ = r
                if cached.channel_capacity and cached.load != load:
                    reread.add(name)  # its per-channel loads moved too
                    continue
                self._reads[name] = self._reads.get(name, 0) + 1
                ranked.update(replace(cached, status=status, status_since=utc(status_since), load=load,
                                      last_assigned_at=utc(last)))
            for name in {n for n, a in ranked.agents.items() if a.vacations} | set(trips):
                cached = ranked.agents.get(name)
                if cached is not None and name not in reread and cached.vacations != trips.get(name, ()):
                    self._reads[name] = self._reads.get(name, 0) + 1
                    ranked.update(replace(cached, vacations=trips.get(name, ())))
            self._stale |= reread
            self._roster_read_at = time.monotonic()
        if self._stale:
            self._reread()

    def _reread(self) -> None:
        """Re-read the stale agents whole (or drop those no longer on the roster)."""
        with self._lock:
            names = sorted(self._stale)
            self._stale.clear()
        read = []
        with self.engine.connect() as conn:
            for start in range(0, len(names), 500):
                read.append(self._load_agents(conn, names[start:start + 500]))
        with self._lock:
            if self._ranked is None:
                return
            found = set()
            for roster, rows in read:
                for agent, row in zip(roster, rows, strict=True):
                    self._ranked.update(agent)
                    self._reads[agent.name] = self._reads.get(agent.name, 0) + 1
                    self._seen[row.name] = _dynamic(row)
                    found.add(agent.name)
            for name in set(names) - found:
                self._ranked.remove(name)
                self._seen.pop(name, None)

    def _read_marks(self, *names) -> dict:
        """Where the cache stands for these agents (for _claimed), taken when deciding."""
        with self._lock:
            return {name: (self._roster_reads, self._reads.get(name, 0)) for name in names if name}

    def _claimed(self, winner: str, weight: float, at: datetime | None, channel: str | None = None,
                 marks: dict | None = None) -> None:
        """Reflect a claim (or a load change) in the cached roster, per channel too. With
        `marks` (_read_marks at decision time): if the agent was re-read since, that read
        may or may not include this claim, so the agent is re-read again instead."""
        with self._lock:
            if marks is not None and marks.get(winner) != (self._roster_reads, self._reads.get(winner, 0)):
                self._stale.add(winner)
                return
            ranked = self._ranked
            a = ranked.agents.get(winner) if ranked is not None else None
            if a is None:
                return
            channel_load = dict(a.channel_load)
            if channel and a.channel_capacity:  # as _load_agents reads them: only where a limit applies
                channel_load[channel] = channel_load.get(channel, 0) + weight
            ranked.update(replace(a, load=a.load + weight, last_assigned_at=at or a.last_assigned_at,
                                  channel_load=channel_load))

    def _decide(self, ranked: policy.RankedRoster, ticket: policy.Ticket, step: str, at: datetime,
                exclude: str | None) -> policy.Decision:
        """A small roster: check everyone, so `explain` lists them all. A large one: only
        the available agents with the skill (and, until relaxed, the region and language),
        best-ranked first, stopping after the winner and a few runners-up; the rest are
        counted by the rule they fail, or as not checked."""
        with self._lock:  # no database work in here: it runs while route() holds a connection
            if len(ranked) <= EXPLAIN_ALL_UP_TO:
                agents_ = [a for a in ranked.agents.values() if a.name != exclude]
                return policy.decide(ticket, agents_, at, self.config, step)
            ordered, total, skipped = ranked.candidates(ticket, self.config, step, exclude)
            return policy.decide_ranked(ticket, ordered, total, at, self.config, step, skipped,
                                        runners_up=EXPLAIN_RUNNERS_UP)

    def _load_agents(self, conn=None, names=None):
        """Every agent (or those named) as the policy sees it, with vacations and
        per-channel loads; and their rows."""
        if conn is None:
            with self.engine.connect() as conn:
                return self._load_agents(conn, names)
        query = select(agents).order_by(agents.c.name)
        if names is not None:
            query = query.where(agents.c.name.in_(names))
        rows = conn.execute(query).all()
        by_agent = _vacations_by_agent(conn, names)
        channel_load: dict[str, dict[str, float]] = {}
        per_channel = [r.name for r in rows if r.channel_capacity]
        # Only agents with a per-channel capacity need per-channel loads (a grouped scan
        # of every open ticket would dominate each roster read otherwise).
        for start in range(0, len(per_channel), 500):
            for r in conn.execute(select(tickets.c.assignee, tickets.c.channel, func.sum(tickets.c.weight))
                                  .where(tickets.c.assignee.in_(per_channel[start:start + 500]))
                                  .group_by(tickets.c.assignee, tickets.c.channel)):
                channel_load.setdefault(r[0], {})[r[1]] = float(r[2] or 0)
        result = [policy.Agent(
            name=r.name, skills=dict(r.skills or {}), regions=frozenset(r.regions or ()),
            languages=frozenset(r.languages or ()), capacity=r.capacity,
            channel_capacity=dict(r.channel_capacity or {}),
            status=r.status, status_since=utc(r.status_since), vacations=by_agent.get(r.name, ()),
            load=r.load, channel_load=channel_load.get(r.name, {}), last_assigned_at=utc(r.last_assigned_at),
        ) for r in rows]
        return result, rows

    # --- the router's view of tickets, from the tickets service's events ----------

    def apply_event(self, event_id: str, event_type: str, summary: dict, changes: dict | None = None,
                    actor: str | None = None, direction: str | None = None) -> str | None:
        """Apply one tickets event once. Returns what should happen next:
        'route' (the ticket needs an agent), 'follow_up' (a customer wrote), or None."""
        at = now()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(processed_events).values(event_id=event_id, at=at))
                return self._apply(conn, event_type, summary, changes or {}, actor, direction, at)
        except IntegrityError:
            with self.engine.connect() as conn:
                if conn.execute(select(processed_events.c.event_id).where(
                        processed_events.c.event_id == event_id)).first():
                    return None  # a redelivery: already applied
            raise

    def _apply(self, conn, event_type, t: dict, changes, actor, direction, at) -> str | None:
        ref = t["reference"]
        row = conn.execute(select(tickets).where(tickets.c.reference == ref)).first()
        fields = {k: t.get(k) for k in ("category", "region", "language", "priority", "channel", "status")}
        version = int(t.get("version") or 0)
        if row is None:
            waiting = t["status"] in OPEN_STATUSES and not t.get("assignee")
            conn.execute(insert(tickets).values(
                reference=ref, **fields, version=version, assignee=t.get("assignee"), weight=0,
                created_at=parse(t.get("created_at")) or at, waiting_since=at if waiting else None,
                step=policy.STRICT if waiting else None, pushed_assignee=t.get("assignee"), push_pending=0,
                updated_at=at))
            if t.get("assignee"):  # assigned elsewhere before we heard of it
                self._set_weight(conn, ref, t.get("assignee"), fields["priority"], fields["status"],
                                 channel=fields["channel"])
            return "route" if waiting else None

        if version and version <= row.version:
            return None  # an older state than the one applied already
        assignee = row.assignee
        if "assignee" in changes and actor != "router":
            # A person assigned or unassigned it in the tickets service: that is the truth now.
            assignee = changes["assignee"]["after"]
            self._record(conn, policy.Decision(ref, at, row.step or policy.STRICT, assignee,
                                               f"assigned by {actor or 'someone'} in the tickets service"
                                               if assignee else f"unassigned by {actor or 'someone'}"),
                         "manual", previous=row.assignee)
            conn.execute(update(tickets).where(tickets.c.reference == ref).values(
                pushed_assignee=assignee, push_pending=0))
        open_now = fields["status"] in OPEN_STATUSES
        waiting = open_now and not assignee
        conn.execute(update(tickets).where(tickets.c.reference == ref).values(
            **fields, version=max(version, row.version), assignee=assignee, updated_at=at,
            waiting_since=(row.waiting_since or at) if waiting else None,
            step=(row.step or policy.STRICT) if waiting else None))
        self._set_weight(conn, ref, assignee, fields["priority"], fields["status"], old=row,
                         channel=fields["channel"])
        if waiting:
            return "route"
        if event_type == "ticket_message_added" and direction == "in" and assignee and open_now:
            return "follow_up"
        return None

    def _set_weight(self, conn, ref, assignee, priority, status, old=None, channel=None) -> None:
        """Move the ticket's weight between agents' loads by deltas (safe under concurrency)."""
        weight = self.config.weight(priority) if assignee and self.config.counts_toward_load(status) else 0
        old_assignee, old_weight = (old.assignee, old.weight) if old is not None else (None, 0)
        if (old_assignee, old_weight) == (assignee, weight):
            return
        conn.execute(update(tickets).where(tickets.c.reference == ref).values(weight=weight))
        for name, delta in sorted(_deltas(old_assignee, old_weight, assignee, weight).items()):
            conn.execute(update(agents).where(agents.c.name == name).values(load=agents.c.load + delta))
            self._claimed(name, delta, None, channel)

    def adopt(self, summary: dict) -> bool:
        """Take in an open ticket learnt from the tickets service directly (reconcile),
        unless the router knows it already. True when it was new."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(tickets.c.reference).where(
                        tickets.c.reference == summary["reference"])).first():
                    return False
                self._apply(conn, "ticket_created", summary, {}, None, None, now())
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

    def as_policy_ticket(self, row) -> policy.Ticket:
        return policy.Ticket(row.reference, row.category, row.region, row.language, row.priority, row.channel,
                             utc(row.created_at))

    # --- deciding and claiming ------------------------------------------------------

    def route(self, reference: str, at: datetime | None = None, kind="assign",
              exclude: str | None = None, context: str | None = None) -> policy.Decision | None:
        """Decide for one ticket and claim the winner atomically; re-decide on a lost race.
        One transaction: read the ticket, decide from the cached roster, claim."""
        for attempt in range(5):
            decided_at = at or now()
            ranked = self._snapshot()  # a roster read, when one is due, before the transaction opens
            involved = ()
            try:
                with self.engine.begin() as conn:
                    row = conn.execute(_TICKET, {"b_ref": reference}).first()
                    if row is None:
                        raise NotFound(f"the router has not seen ticket {reference}")
                    if row.status not in OPEN_STATUSES or (kind == "assign" and row.assignee) or (
                            exclude and row.assignee != exclude):
                        return None  # closed meanwhile, or another router got there first: nothing to do
                    waited = (decided_at - utc(row.waiting_since)).total_seconds() if row.waiting_since else 0
                    step = policy.step_for(waited, self.config)
                    decision = self._decide(ranked, self.as_policy_ticket(row), step, decided_at, exclude)
                    if context:  # why this ticket is being routed again (a handover, a follow-up)
                        decision = replace(decision, rule=f"{context}; {decision.rule}")
                    involved = (decision.winner, row.assignee)
                    marks = self._read_marks(*involved)
                    changes = self._commit(conn, row, decision, kind, decided_at)
            except Lost:  # our roster was out of date: re-read who was involved, then everyone
                self._stale.update(name for name in involved if name)
                if attempt >= 1:
                    self.refresh_roster()
                at = None
                continue
            for name, delta, last in changes:
                self._claimed(name, delta, last, row.channel, marks)
            return decision
        raise Lost(f"{reference}: kept losing races; will retry from the waiting queue")

    def _commit(self, conn, row, decision: policy.Decision, kind: str, at: datetime) -> list:
        """Write the decision in the caller's transaction: the conditional updates, the
        decision row, the event. Returns the load changes (agent, delta, assigned at) for
        the cached roster, to apply once committed. Raises Lost when a condition failed."""
        changes = []
        if decision.winner is None:
            waiting = conn.execute(_WAIT[row.assignee is None], {
                "b_ref": row.reference, "b_prev": row.assignee, "b_step": decision.step,
                "b_since": row.waiting_since or at, "b_push": 1 if row.assignee else row.push_pending, "b_at": at})
            if waiting.rowcount != 1:
                raise Lost(row.reference)
            for name, delta in _deltas(row.assignee, row.weight, None, 0).items():
                conn.execute(_ADD_LOAD, {"b_name": name, "b_delta": delta})
                changes.append((name, delta, None))
            fell_back = decision.to_fallback and row.step != policy.FALLBACK
            if self._record_wait(conn, row, decision, kind) and fell_back:
                emit(conn, outbox, "ticket_escalated", {
                    "reference": row.reference, "queue": self.config.fallback_queue, "reason": decision.rule,
                    "waiting_since": iso(row.waiting_since or at)}, at)
            return changes
        weight = self.config.weight(row.priority)
        event = "ticket_reassigned" if row.assignee else "ticket_assigned"
        payload = {"reference": row.reference, "assignee": decision.winner, "previous": row.assignee, "kind": kind,
                   "step": decision.step, "rule": decision.rule, "priority": row.priority, "channel": row.channel,
                   "ticket_created_at": iso(row.created_at)}
        if self._one_statement_claim and row.assignee is None and weight > 0:
            self._claim_and_record(conn, row, decision, kind, weight, at, event_row(event, payload, at))
            return [(decision.winner, weight, at)]
        changes = self._claim(conn, row, decision, weight, at)
        self._record(conn, decision, kind, previous=row.assignee)
        emit(conn, outbox, event, payload, at)
        return changes

    def _claim(self, conn, row, decision: policy.Decision, weight: float, at: datetime) -> list:
        """The conditional updates of a claim, one by one."""
        changes = []
        claimed = conn.execute(_CLAIM[row.assignee is None], {
            "b_ref": row.reference, "b_prev": row.assignee, "b_winner": decision.winner, "b_weight": weight,
            "b_at": at})
        if claimed.rowcount != 1:
            raise Lost(row.reference)
        for name, delta in sorted(_deltas(row.assignee, row.weight, decision.winner, weight).items()):
            if name == decision.winner:  # still available, off vacation, with room: or nothing
                taken = conn.execute(_TAKE, {"b_name": name, "b_delta": delta, "b_at": at}).first()
                if taken is None:
                    raise Lost(f"{name} is no longer free")
                self._check_channel_room(conn, name, row.channel, (taken.channel_capacity or {}).get(row.channel))
                changes.append((name, delta, at))
            else:  # the previous assignee's load
                if conn.execute(_ADD_LOAD, {"b_name": name, "b_delta": delta}).rowcount != 1:
                    raise Lost(f"{name} is no longer on the roster")
                changes.append((name, delta, None))
        return changes

    def _claim_and_record(self, conn, row, decision: policy.Decision, kind: str, weight: float,
                          at: datetime, event: dict) -> None:
        """_claim, _record and the event for a ticket nobody has, as one statement
        (_CLAIM_AND_RECORD); `event` is the outbox row (outbox_rows.event_row)."""
        taken = conn.execute(_CLAIM_AND_RECORD, {
            "b_ref": row.reference, "b_winner": decision.winner, "b_weight": weight, "b_at": at, "b_kind": kind,
            "b_name": decision.winner, "b_delta": weight,
            "b_step": decision.step, "b_rule": decision.rule, "b_candidates": explained_candidates(decision),
            "b_event_id": event["event_id"], "b_event_type": event["event_type"], "b_payload": event["payload"],
            "b_created_at": event["created_at"]}).first()
        if taken is None:
            raise Lost(f"{row.reference} was taken, or {decision.winner} is no longer free")
        self._check_channel_room(conn, decision.winner, row.channel, (taken[0] or {}).get(row.channel))

    @staticmethod
    def _check_channel_room(conn, name: str, channel: str, capacity: float | None) -> None:
        """Per-channel capacity, enforced by the database like the total: the claim above
        has locked the agent's row (a concurrent claim for them waits for this transaction
        or went first), so this fresh sum of their tickets on the channel, this ticket
        included, sees every claim committed before, from any replica."""
        if capacity is None:
            return
        used = conn.execute(_CHANNEL_LOAD, {"b_name": name, "b_channel": channel}).scalar_one()
        if used > capacity + 1e-9:
            raise Lost(f"{name} is full on {channel}")

    def _record_wait(self, conn, row, decision, kind) -> bool:
        """Record a 'nobody' decision only when something changed (a new ticket, a new
        step, a handover), not on every sweep of the waiting queue."""
        last = conn.execute(select(decisions.c.step, decisions.c.kind).where(
            decisions.c.reference == row.reference).order_by(decisions.c.id.desc()).limit(1)).first()
        if last is not None and last.step == decision.step and last.kind in ("wait", "fallback") and kind == "assign":
            return False
        self._record(conn, decision, "fallback" if decision.to_fallback else ("wait" if kind == "assign" else kind),
                     previous=row.assignee)
        return True

    def _record(self, conn, decision: policy.Decision, kind: str, previous: str | None = None) -> None:
        conn.execute(_INSERT_DECISION, {
            "reference": decision.reference, "at": decision.at, "kind": kind, "step": decision.step,
            "winner": decision.winner, "previous": previous, "rule": decision.rule,
            "candidates": explained_candidates(decision)})

    # --- the waiting queue, handovers and follow-ups --------------------------------------

    def waiting(self, limit: int | None = 500) -> list:
        """The waiting queue in policy order (policy.waiting_order, done by the database)."""
        rank = case(policy.PRIORITY_RANK, value=tickets.c.priority, else_=1)
        with self.engine.connect() as conn:
            return conn.execute(select(tickets).where(tickets.c.waiting_since.is_not(None),
                                                      tickets.c.status.in_(OPEN_STATUSES))
                                .order_by(rank.desc(), tickets.c.waiting_since, tickets.c.reference)
                                .limit(limit)).all()

    def drain_waiting(self, at: datetime | None = None) -> list[policy.Decision]:
        """Try every waiting ticket, most urgent then oldest first, against one roster snapshot
        kept current in memory (claims still check the database, so a stale snapshot
        only costs a retry)."""
        at = at or now()
        self.refresh_roster()  # each sweep sees what other replicas changed
        out = []
        # Every waiting ticket, not a first page: a page of tickets nobody can take
        # must not starve the ones behind it.
        for row in self.waiting(limit=None):
            decision = self.route(row.reference, at)
            if decision is not None:
                out.append(decision)
        self.checkpoint()
        return out

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database now (PASSIVE: never waits
        for readers), here in the sweep rather than in some decision's commit."""
        if self._sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def handovers(self, at: datetime | None = None) -> list[policy.Decision]:
        """Agents on vacation, or offline too long, give their open tickets to others
        by the same policy, most urgent first. Nobody else free: the ticket waits."""
        at = at or now()
        out = []
        for agent in list(self._snapshot().agents.values()):
            reason = policy.needs_handover(agent, at, self.config)
            if not reason:
                continue
            with self.engine.connect() as conn:
                rows = conn.execute(select(tickets).where(tickets.c.assignee == agent.name,
                                                          tickets.c.status.in_(OPEN_STATUSES))).all()
            for t in policy.waiting_order([self.as_policy_ticket(r) for r in rows]):
                decision = self.route(t.reference, at, kind="handover", exclude=agent.name, context=reason)
                if decision is not None:
                    out.append(decision)
        return out

    def follow_up(self, reference: str, at: datetime | None = None) -> policy.Decision | None:
        """A customer wrote again: stay with the assignee if they may still work it, else re-route."""
        at = at or now()
        row = self.ticket(reference)
        assignee = None
        if row.assignee:  # as the database has them now, not as cached
            assignee = next(iter(self._load_agents(names=[row.assignee])[0]), None)
        if policy.keeps_follow_up(assignee, self.as_policy_ticket(row), at, self.config):
            return None
        return self.route(reference, at, kind="follow_up", exclude=row.assignee,
                          context=f"the customer wrote again and {row.assignee} can no longer take it")

    # --- pushing assignments to the tickets service ----------------------------------

    def pending_pushes(self, limit=100) -> list:
        with self.engine.connect() as conn:
            return conn.execute(select(tickets.c.reference, tickets.c.assignee, tickets.c.pushed_assignee)
                                .where(tickets.c.push_pending == 1).limit(limit)).all()

    def pushed(self, reference: str, assignee: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(tickets).where(tickets.c.reference == reference,
                                               _same_assignee(assignee)).values(
                pushed_assignee=assignee, push_pending=0))

    # --- reading ----------------------------------------------------------------

    def explain(self, reference: str) -> dict:
        with self.engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.reference == reference)).first()
            rows = conn.execute(select(decisions).where(decisions.c.reference == reference)
                                .order_by(decisions.c.id.desc())).all()
        if row is None and not rows:
            raise NotFound(f"the router has not seen ticket {reference}")
        return {
            "reference": reference,
            "assignee": row.assignee if row else None,
            "waiting_since": iso(row.waiting_since) if row else None,
            "decisions": [{"at": iso(d.at), "kind": d.kind, "step": d.step, "winner": d.winner,
                           "previous": d.previous, "rule": d.rule, "candidates": d.candidates} for d in rows],
        }

    def waiting_as_dicts(self) -> list[dict]:
        return [{"reference": r.reference, "priority": r.priority, "category": r.category, "region": r.region,
                 "language": r.language, "waiting_since": iso(r.waiting_since), "step": r.step}
                for r in self.waiting()]

    def counts(self) -> dict:
        with self.engine.connect() as conn:
            waiting = conn.execute(select(func.count()).select_from(tickets).where(
                tickets.c.waiting_since.is_not(None), tickets.c.status.in_(OPEN_STATUSES))).scalar_one()
            loads = conn.execute(select(agents.c.name, agents.c.load, agents.c.capacity)).all()
        return {"waiting": waiting, "loads": [(r.name, r.load, r.capacity) for r in loads]}

    def relay_outbox(self, publish) -> int:
        return outbox_relay(self.engine, outbox, publish)

    def outbox_pending(self) -> int:
        return outbox_pending(self.engine, outbox)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))


# PostgreSQL: an import of at least this many agents refreshes the table's statistics.
ANALYZE_AFTER_IMPORT_OF = 100

# A decision lists every candidate up to this many agents; beyond, the winner, the
# best-ranked runners-up and a few examples of each failed rule, plus a count per
# rule of everyone, so explanations stay readable and decisions stay fast with
# thousands of agents.
EXPLAIN_ALL_UP_TO = 50
EXPLAIN_RUNNERS_UP = 10
EXPLAIN_EXAMPLES_PER_RULE = 3


def explained_candidates(decision: policy.Decision) -> list[dict]:
    def entry(c):
        return {"agent": c.agent, "eligible": c.eligible, "failed_rule": c.failed_rule, "detail": c.detail,
                "load": c.load, "capacity": c.capacity}

    candidates = decision.candidates
    if len(candidates) <= EXPLAIN_ALL_UP_TO and not decision.skipped and not decision.unchecked:
        return [entry(c) for c in candidates]
    # A stable sort by relative load: ties keep the order they were checked in (choice
    # order for a ranked roster, names for a full scan).
    eligible = sorted((c for c in candidates if c.eligible),
                      key=lambda c: c.load / c.capacity if c.capacity else float("inf"))
    listed = [c for c in eligible if c.agent == decision.winner]
    listed += [c for c in eligible if c.agent != decision.winner][:EXPLAIN_RUNNERS_UP]
    counts: dict[str, int] = {"eligible": len(eligible)}
    for c in candidates:
        if not c.eligible:
            counts[c.failed_rule] = counts.get(c.failed_rule, 0) + 1
            if counts[c.failed_rule] <= EXPLAIN_EXAMPLES_PER_RULE:
                listed.append(c)
    for rule, n in decision.skipped.items():
        counts[rule] = counts.get(rule, 0) + n
    detail = "the rest counted by rule"
    if decision.unchecked:
        counts["not_checked"] = decision.unchecked
        detail += (f"; not_checked: {decision.unchecked} more agents, available and matching the skill, "
                   f"region and language this step requires, were ranked after the winner and the "
                   f"{len(eligible) - 1} runners-up (by load relative to capacity, then time since their last "
                   f"assignment, then name), so they were not checked for vacation and capacity")
    total = len(candidates) + sum(decision.skipped.values()) + decision.unchecked
    summary = {"summary": True, "considered": total, "by_rule": counts,
               "detail": f"{total} agents considered; {len(listed)} listed, {detail}"}
    return [entry(c) for c in listed] + [summary]


# The statements of a decision, built once (SQLAlchemy caches their compiled form).
_TICKET = select(tickets).where(tickets.c.reference == bindparam("b_ref"))
_DYNAMIC = select(agents.c.name, agents.c.status, agents.c.status_since, agents.c.load, agents.c.last_assigned_at,
                  agents.c.updated_at)
_INSERT_DECISION = insert(decisions)


def _ticket_still(unassigned: bool):
    """The ticket has the assignee the decision saw (b_prev, or none)."""
    return [tickets.c.reference == bindparam("b_ref"),
            tickets.c.assignee.is_(None) if unassigned else tickets.c.assignee == bindparam("b_prev")]


# Literal values, not an "expanding" IN parameter SQLAlchemy would re-render at every execution.
_STILL_OPEN = tickets.c.status.in_([literal(status) for status in OPEN_STATUSES])
# [unassigned before?] -> the claim of the ticket for the winner
_CLAIM = {unassigned: update(tickets).where(*_ticket_still(unassigned), _STILL_OPEN).values(
    assignee=bindparam("b_winner"), weight=bindparam("b_weight"), waiting_since=None, step=None, push_pending=1,
    updated_at=bindparam("b_at")) for unassigned in (True, False)}
# [unassigned before?] -> the ticket back to (or staying in) the waiting queue
_WAIT = {unassigned: update(tickets).where(*_ticket_still(unassigned)).values(
    step=bindparam("b_step"), waiting_since=bindparam("b_since"), assignee=None, weight=0,
    push_pending=bindparam("b_push"), updated_at=bindparam("b_at")) for unassigned in (True, False)}
# The winner's load, only if they are still available, off vacation and have room;
# their channel capacities come back for the per-channel check (_check_channel_room).
_TAKE = update(agents).where(
    agents.c.name == bindparam("b_name"), agents.c.status == "available",
    agents.c.load + bindparam("b_delta") <= agents.c.capacity,
    ~exists().where(vacations.c.agent == bindparam("b_name"), vacations.c.starts_at <= bindparam("b_at"),
                    vacations.c.ends_at > bindparam("b_at"))).values(
    load=agents.c.load + bindparam("b_delta"), last_assigned_at=bindparam("b_at")).returning(
    agents.c.channel_capacity)


def _claim_and_record_statement():
    """PostgreSQL: the claim of an unassigned ticket (_CLAIM) and of its winner (_TAKE),
    the decision row and the event's outbox row, in one statement of data-modifying
    CTEs. The winner is only updated if the ticket was, the rows only written if the
    winner was; it returns the winner's channel capacities, or no row (Lost: the
    caller rolls back)."""
    at_type = DateTime(timezone=True)
    claim = _CLAIM[True].returning(tickets.c.reference).cte("claim")
    take = _TAKE.where(exists(select(claim.c.reference))).cte("take")
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


_CHANNEL_LOAD = select(func.coalesce(func.sum(tickets.c.weight), 0)).where(
    tickets.c.assignee == bindparam("b_name"), tickets.c.channel == bindparam("b_channel"))
_ADD_LOAD = update(agents).where(agents.c.name == bindparam("b_name")).values(load=agents.c.load + bindparam("b_delta"))


_CLAIM_AND_RECORD = _claim_and_record_statement()


def _dynamic(row) -> tuple:
    """An agent row's _DYNAMIC columns, as refresh_roster compares them."""
    return (row.name, row.status, row.status_since, row.load, row.last_assigned_at, row.updated_at)


def _vacations_by_agent(conn, names=None) -> dict[str, tuple]:
    query = select(vacations.c.agent, vacations.c.starts_at, vacations.c.ends_at).order_by(vacations.c.agent,
                                                                                          vacations.c.id)
    if names is not None:
        query = query.where(vacations.c.agent.in_(names))
    out: dict[str, list] = {}
    for v in conn.execute(query):
        out.setdefault(v.agent, []).append(policy.Vacation(utc(v.starts_at), utc(v.ends_at)))
    return {name: tuple(trips) for name, trips in out.items()}


# SQLite copies its write-ahead log back into the database (a checkpoint, with fsyncs)
# in whichever commit makes the log pass this many pages. The sweep checkpoints every
# few seconds instead (RouterStore.checkpoint), so decisions do not pay for it; this
# larger threshold (SQLite's default is 1000) is the safety net if sweeps stop.
SQLITE_AUTOCHECKPOINT_PAGES = 10000


def _sqlite_pragmas(engine, synchronous: str) -> None:
    """The router's SQLite connections: PRAGMA synchronous (settings.sqlite_synchronous)
    and the checkpoint threshold."""
    @event.listens_for(engine, "connect")
    def _set(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.close()


def _same_assignee(name):
    return tickets.c.assignee.is_(None) if name is None else tickets.c.assignee == name


def _deltas(old_agent, old_weight, new_agent, new_weight) -> dict[str, float]:
    out: dict[str, float] = {}
    if old_agent and old_weight:
        out[old_agent] = out.get(old_agent, 0) - old_weight
    if new_agent and new_weight:
        out[new_agent] = out.get(new_agent, 0) + new_weight
    return {k: v for k, v in out.items() if v}



