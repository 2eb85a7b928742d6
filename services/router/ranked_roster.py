"""The roster for deciding at scale (plain Python, no I/O): the available agents
listed by skill, region and language in the order policy.py chooses them, so a
decision walks only the agents who could qualify, best first (policy.decide_ranked).
The router keeps one in memory per process (roster_cache.py)."""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort

from .policy import STEPS, STRICT, Agent, PolicyConfig, Ticket, primary_language, rank_key

ANY_SKILL = None   # the index's "skill" for uncategorised tickets: every available agent
ALL = "*"          # every region (or language) together: for tickets without one, or relaxed


class RankedRoster:
    """The roster for deciding at scale: every agent by name, and the available ones
    listed by (skill, region, language) in choice order (rank_key), so that a decision
    walks only the agents who could qualify, best-ranked first, and stops soon after
    the first eligible one (decide_ranked) instead of checking hundreds.

    Keys: a skill (or ANY_SKILL), a region the agent serves (None: an agent with no
    regions, who serves all; ALL: everyone), a language they speak (primary subtag;
    None and ALL likewise). The lists a ticket needs are disjoint, so merging them
    gives each candidate once. update() keeps the order when a load changes.

    A confidential case (a ticket with a group) is walked from the group's available
    members instead, kept by name: groups are small, and keying every list by group
    too would multiply the index for the few tickets that need it."""

    def __init__(self, agents=()):
        self.agents: dict[str, Agent] = {}
        self.available = 0
        self._lists: dict[tuple, list] = {}
        self._listed: dict[str, tuple] = {}   # name -> (its rank key, the set of keys it is listed under)
        self._members: dict[str, set[str]] = {}   # group -> its available members' names
        for agent in agents:
            self.agents[agent.name] = agent
            if agent.status == "available":
                entry = (rank_key(agent), _index_keys(agent))
                self._listed[agent.name] = entry
                for key in entry[1]:
                    self._lists.setdefault(key, []).append(entry[0])
                for group in agent.groups:
                    self._members.setdefault(group, set()).add(agent.name)
        self.available = len(self._listed)
        for listed in self._lists.values():
            listed.sort()

    def __len__(self) -> int:
        return len(self.agents)

    def update(self, agent: Agent) -> None:
        """Add or replace one agent, keeping every list in choice order."""
        before = self.agents.get(agent.name)
        keys = self._listed.get(agent.name, (None, None))[1]
        if before is None or keys is None or (before.skills, before.regions, before.languages) != (
                agent.skills, agent.regions, agent.languages):
            keys = None  # index keys computed again only when what they depend on changed
        self._unlist(agent.name)
        self.agents[agent.name] = agent  # a replaced agent keeps its place in the dict
        if agent.status == "available":
            entry = (rank_key(agent), keys or _index_keys(agent))
            self._listed[agent.name] = entry
            for key in entry[1]:
                insort(self._lists.setdefault(key, []), entry[0])
            for group in agent.groups:
                self._members.setdefault(group, set()).add(agent.name)
            self.available += 1

    def remove(self, name: str) -> None:
        self._unlist(name)
        self.agents.pop(name, None)

    def _unlist(self, name: str) -> None:
        entry = self._listed.pop(name, None)
        if entry is None:
            return
        self.available -= 1
        for key in entry[1]:
            listed = self._lists[key]
            del listed[bisect_left(listed, entry[0])]
        for group in self.agents[name].groups:
            self._members[group].discard(name)

    def candidates(self, ticket: Ticket, config: PolicyConfig, step: str = STRICT, exclude: str | None = None):
        """(the agents worth checking, in choice order; how many; the others counted by
        the rule they fail, in RULES order). `exclude` is left out altogether."""
        needed = config.skill_for(ticket.category)
        skill = needed[0] if needed else ANY_SKILL
        relaxed = STEPS.index(step)
        regions = [ticket.region.lower(), None] if ticket.region and relaxed < 1 else [ALL]
        languages = [primary_language(ticket.language), None] if ticket.language and relaxed < 2 else [ALL]
        if ticket.group:
            return self._members_of(ticket.group, skill, regions, languages, exclude)
        excluded = self._listed.get(exclude, (None, ()))[1] if exclude else ()

        def count(*keys):
            return sum(len(self._lists.get(k, ())) - (k in excluded) for k in keys)

        keys = [(skill, r, lang) for r in regions for lang in languages]
        total = count(*keys)
        everyone = len(self.agents) - (exclude in self.agents)
        available = self.available - (exclude in self._listed)
        with_skill = count((skill, ALL, ALL))
        in_region = count(*[(skill, r, ALL) for r in regions])
        skipped = {"status": everyone - available, "skill": available - with_skill,
                   "region": with_skill - in_region, "language": in_region - total}
        agents = self.agents
        ordered = (agents[key[2]] for key in heapq.merge(*(self._lists.get(k, ()) for k in keys))
                   if key[2] != exclude)
        return ordered, total, {k: v for k, v in skipped.items() if v > 0}

    def _members_of(self, group: str, skill, regions: list, languages: list, exclude: str | None):
        """candidates() for a confidential case: the group's available members who pass the
        index (skill, then region, then language, as the lists would rule them out), in
        choice order; everyone else counted by the rule they fail, "group" after status."""
        everyone = len(self.agents) - (exclude in self.agents)
        available = self.available - (exclude in self._listed)
        members = [name for name in self._members.get(group, ()) if name != exclude]
        skipped = {"status": everyone - available, "group": available - len(members),
                   "skill": 0, "region": 0, "language": 0}
        walked = []
        for name in members:
            rank, listed = self._listed[name]
            if (skill, ALL, ALL) not in listed:
                skipped["skill"] += 1
            elif not any((skill, r, ALL) in listed for r in regions):
                skipped["region"] += 1
            elif not any((skill, r, lang) in listed for r in regions for lang in languages):
                skipped["language"] += 1
            else:
                walked.append(rank)
        walked.sort()
        agents = self.agents
        return ((agents[key[2]] for key in walked), len(walked),
                {k: v for k, v in skipped.items() if v > 0})


def _index_keys(agent: Agent) -> frozenset:
    regions = [*(agent.served or [None]), ALL]
    languages = [*(agent.spoken or [None]), ALL]
    return frozenset((skill, region, language) for skill in (*agent.skills, ANY_SKILL)
                     for region in regions for language in languages)
