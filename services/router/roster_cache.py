"""The roster a router process decides from: a RankedRoster read whole once,
kept current with this process's own claims and roster edits, and refreshed
incrementally from the database every ROUTER_ROSTER_TTL_SECONDS and at each sweep.

What other replicas did shows up at the next refresh, or as a lost claim (the
database re-checks everything, see assignment.py), which re-reads the agents
involved. Reading agents as the policy sees them (load_agents) lives here too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select

from services.common.time.clock import utc

from . import policy, settings
from .ranked_roster import RankedRoster
from .schema import agents, tickets, vacations

# How long a router process decides from its in-memory roster before refreshing it.
ROSTER_TTL_SECONDS = settings.roster_ttl_seconds()

# The columns of an agent that change without an edit (refresh compares them).
_DYNAMIC = select(agents.c.name, agents.c.status, agents.c.status_since, agents.c.load, agents.c.last_assigned_at,
                  agents.c.updated_at)


class RosterCache:
    def __init__(self, engine):
        self.engine = engine
        self.ranked: RankedRoster | None = None   # the roster for deciding, see snapshot
        self._seen: dict[str, tuple] = {}               # name -> its _DYNAMIC columns as last read
        self._stale: set[str] = set()                    # agents to re-read before the next decision
        # How many times each agent was re-read from the database (and the whole roster):
        # a claim applies its delta to the cache only if its agent was not re-read since
        # the decision (the re-read may already include it), see claimed.
        self._reads: dict[str, int] = {}
        self._roster_reads = 0
        self._roster_read_at = 0.0
        # Decisions and cache updates from several threads (or green threads) of one process.
        self.lock = threading.RLock()

    def snapshot(self) -> RankedRoster:
        """The roster for deciding, refreshed first when due. The database is read without
        holding the lock (a worker holding the only pooled connection may be waiting for
        it); only applying the result takes it."""
        with self.lock:
            ranked, stale = self.ranked, bool(self._stale)
            due = time.monotonic() - self._roster_read_at > ROSTER_TTL_SECONDS
        if ranked is None:
            self._rebuild()
        elif due:
            self.refresh()
        elif stale:
            self._reread()
        return self.ranked

    def changed(self, *names: str) -> None:
        """These agents were edited or lost a claim: re-read them before the next decision."""
        with self.lock:
            self._stale.update(name for name in names if name)

    def forget(self) -> None:
        """The whole roster changed (an import): read it whole again."""
        with self.lock:
            self.ranked = None

    def refresh(self) -> None:
        """Bring the cached roster up to date without rebuilding it: read every agent's
        changing columns (status, load, last assignment, updated_at) and the vacations,
        apply what differs from the last read, and re-read whole only the agents edited
        since (updated_at moved), added or removed, or whose per-channel loads matter."""
        if self.ranked is None:
            self._rebuild()
            return
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(_DYNAMIC)]
            trips = vacations_by_agent(conn)
        with self.lock:
            ranked = self.ranked
            if ranked is None:
                return
            reread = set(ranked.agents) - {r[0] for r in rows}
            for r in rows:
                if self._apply_dynamic(ranked, r):
                    reread.add(r[0])
            for name in {n for n, a in ranked.agents.items() if a.vacations} | set(trips):
                cached = ranked.agents.get(name)
                if cached is not None and name not in reread and cached.vacations != trips.get(name, ()):
                    self._reads[name] = self._reads.get(name, 0) + 1
                    ranked.update(replace(cached, vacations=trips.get(name, ())))
            self._stale |= reread
            self._roster_read_at = time.monotonic()
        if self._stale:
            self._reread()

    def _apply_dynamic(self, ranked: RankedRoster, r: tuple) -> bool:
        """Apply one agent's changing columns; True when the agent must be re-read whole."""
        name = r[0]
        before = self._seen.get(name)
        if before == r:
            return False
        cached = ranked.agents.get(name)
        if cached is None or before is None or before[-1] != r[-1]:  # new, or edited: updated_at moved
            return True
        self._seen[name] = r
        _, status, status_since, load, last, _ = r
        if cached.channel_capacity and cached.load != load:
            return True  # its per-channel loads moved too
        self._reads[name] = self._reads.get(name, 0) + 1
        ranked.update(replace(cached, status=status, status_since=utc(status_since), load=load,
                              last_assigned_at=utc(last)))
        return False

    def marks(self, *names) -> dict:
        """Where the cache stands for these agents (for claimed), taken when deciding."""
        with self.lock:
            return {name: (self._roster_reads, self._reads.get(name, 0)) for name in names if name}

    def claimed(self, winner: str, weight: float, at: datetime | None, channel: str | None = None,
                marks: dict | None = None) -> None:
        """Reflect a claim (or a load change) in the cached roster, per channel too. With
        `marks` (taken at decision time): if the agent was re-read since, that read may
        or may not include this claim, so the agent is re-read again instead."""
        with self.lock:
            if marks is not None and marks.get(winner) != (self._roster_reads, self._reads.get(winner, 0)):
                self._stale.add(winner)
                return
            ranked = self.ranked
            a = ranked.agents.get(winner) if ranked is not None else None
            if a is None:
                return
            channel_load = dict(a.channel_load)
            if channel and a.channel_capacity:  # as load_agents reads them: only where a limit applies
                channel_load[channel] = channel_load.get(channel, 0) + weight
            ranked.update(replace(a, load=a.load + weight, last_assigned_at=at or a.last_assigned_at,
                                  channel_load=channel_load))

    def _rebuild(self) -> None:
        with self.lock:
            self._stale.clear()  # everything is read now; edits from here on are read again later
        with self.engine.connect() as conn:
            roster, rows = load_agents(conn)
        ranked = RankedRoster(roster)
        with self.lock:
            self.ranked = ranked
            self._roster_reads += 1
            self._reads.clear()
            self._seen = {r.name: _dynamic(r) for r in rows}
            self._roster_read_at = time.monotonic()

    def _reread(self) -> None:
        """Re-read the stale agents whole (or drop those no longer on the roster)."""
        with self.lock:
            names = sorted(self._stale)
            self._stale.clear()
        read = []
        with self.engine.connect() as conn:
            for start in range(0, len(names), 500):
                read.append(load_agents(conn, names[start:start + 500]))
        with self.lock:
            if self.ranked is None:
                return
            found = set()
            for roster, rows in read:
                for agent, row in zip(roster, rows, strict=True):
                    self.ranked.update(agent)
                    self._reads[agent.name] = self._reads.get(agent.name, 0) + 1
                    self._seen[row.name] = _dynamic(row)
                    found.add(agent.name)
            for name in set(names) - found:
                self.ranked.remove(name)
                self._seen.pop(name, None)


def load_agents(conn, names=None) -> tuple[list[policy.Agent], list]:
    """Every agent (or those named) as the policy sees it, with vacations and
    per-channel loads; and their rows."""
    query = select(agents).order_by(agents.c.name)
    if names is not None:
        query = query.where(agents.c.name.in_(names))
    rows = conn.execute(query).all()
    by_agent = vacations_by_agent(conn, names)
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
        groups=frozenset(r.groups or ()),
    ) for r in rows]
    return result, rows


def vacations_by_agent(conn, names=None) -> dict[str, tuple]:
    query = select(vacations.c.agent, vacations.c.starts_at, vacations.c.ends_at).order_by(vacations.c.agent,
                                                                                          vacations.c.id)
    if names is not None:
        query = query.where(vacations.c.agent.in_(names))
    out: dict[str, list] = {}
    for v in conn.execute(query):
        out.setdefault(v.agent, []).append(policy.Vacation(utc(v.starts_at), utc(v.ends_at)))
    return {name: tuple(trips) for name, trips in out.items()}


def _dynamic(row) -> tuple:
    """An agent row's _DYNAMIC columns, as refresh compares them."""
    return (row.name, row.status, row.status_since, row.load, row.last_assigned_at, row.updated_at)
