"""The routing policy in plain Python: who may take a ticket, who should, and why.

No I/O here. The router's store feeds in agents and tickets as they are now and
turns a Decision into an atomic claim in the database; a claim that loses a
race is simply decided again.

Defaults (all in PolicyConfig):
- eligible: for a confidential case, is in its group (never relaxed: a case
  nobody in the group can take waits, then goes to the fallback queue, where
  only the group's members see it); has the skill the ticket's category needs
  (at the required level),
  serves the ticket's region, speaks its language when known, is available, is
  not on vacation now, and has room: load + the ticket's weight <= capacity
  (and the same per channel when a channel capacity is set);
- load: the agent's tickets that are not resolved or closed (pending_customer
  counts unless count_pending_customer is off), each weighing 1, or its
  priority's weight when priority_weights is set;
- choice: the lowest load relative to capacity, then the longest since the
  last assignment (never assigned counts as longest), then the name;
- nobody eligible: wait; after each relax_after threshold the next step drops
  a rule: region, then language, then the ticket goes to the fallback queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from services.common.contract.vocabulary import DEFAULT_PRIORITY, OPEN_STATUS_VALUES, Priority, Status

# An agent's statuses (roster words, not ticket words).
STATUSES = ("available", "away", "offline")

# Policy steps, in the order a waiting ticket goes through them.
STRICT, ANY_REGION, ANY_LANGUAGE, FALLBACK = "strict", "any_region", "any_language", "fallback"
STEPS = (STRICT, ANY_REGION, ANY_LANGUAGE, FALLBACK)

# Rules a candidate can fail, in the order they are checked (the first failure is reported).
RULES = ("status", "vacation", "group", "skill", "region", "language", "capacity", "channel_capacity")


@dataclass(frozen=True)
class PolicyConfig:
    # category -> (skill, minimum level); a category not listed needs the skill of its own name.
    category_skills: dict[str, tuple[str, int]] = field(default_factory=dict)
    count_pending_customer: bool = True
    # e.g. {"low": 0.5, "medium": 1, "high": 1.5, "urgent": 2}; None: every ticket weighs 1.
    priority_weights: dict[str, float] | None = None
    # Seconds a ticket waits before each relaxation step (any_region, any_language, fallback).
    relax_after: tuple[float, float, float] = (300, 900, 1800)
    fallback_queue: str = "supervisors"
    # An agent offline this long has their open tickets handed over.
    offline_handover_after: float = 900

    def skill_for(self, category: str | None) -> tuple[str, int] | None:
        if not category:
            return None  # uncategorised: any skill will do
        return self.category_skills.get(category, (category, 0))

    def weight(self, priority: str) -> float:
        if not self.priority_weights:
            return 1.0
        return float(self.priority_weights.get(priority, 1.0))

    def counts_toward_load(self, status: str) -> bool:
        if status not in OPEN_STATUS_VALUES:
            return False
        return status != Status.PENDING_CUSTOMER or self.count_pending_customer


@dataclass(frozen=True)
class Vacation:
    starts_at: datetime
    ends_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Agent:
    name: str
    skills: dict[str, int] = field(default_factory=dict)  # skill -> level (0 when unlevelled)
    regions: frozenset[str] = frozenset()                  # empty: serves every region
    languages: frozenset[str] = frozenset()                # empty: no language constraint
    capacity: float = 5
    channel_capacity: dict[str, float] = field(default_factory=dict)
    status: str = "available"
    status_since: datetime | None = None
    vacations: tuple[Vacation, ...] = ()
    load: float = 0
    channel_load: dict[str, float] = field(default_factory=dict)
    last_assigned_at: datetime | None = None
    groups: frozenset[str] = frozenset()                   # e.g. the confidential cases' group

    def on_vacation(self, at: datetime) -> Vacation | None:
        if not self.vacations:
            return None
        return next((v for v in self.vacations if v.covers(at)), None)

    @cached_property
    def spoken(self) -> frozenset[str]:
        """Primary language subtags, computed once per agent (checked on every decision)."""
        return frozenset(primary_language(lang) for lang in self.languages)

    @cached_property
    def served(self) -> frozenset[str]:
        return frozenset(r.lower() for r in self.regions)


@dataclass(frozen=True)
class Ticket:
    reference: str
    category: str | None = None
    region: str | None = None
    language: str | None = None
    priority: str = DEFAULT_PRIORITY.value
    channel: str = "web"
    created_at: datetime | None = None
    # A confidential case: only members of this group may take it (None: anyone).
    group: str | None = None


@dataclass(frozen=True)
class Candidate:
    agent: str
    eligible: bool
    failed_rule: str | None = None   # one of RULES
    detail: str = ""                 # a sentence a supervisor understands
    load: float = 0
    capacity: float = 0


@dataclass(frozen=True)
class Decision:
    reference: str
    at: datetime
    step: str                        # one of STEPS
    winner: str | None
    rule: str                        # why the winner won, or why nobody did
    candidates: tuple[Candidate, ...] = ()
    # Agents ruled out before any check by a roster index, counted by the rule they fail.
    skipped: dict[str, int] = field(default_factory=dict)
    # Agents who passed the index (available, skill, region, language) but were ranked
    # after the winner and its runners-up, so never checked one by one (decide_ranked).
    unchecked: int = 0

    @property
    def to_fallback(self) -> bool:
        return self.step == FALLBACK and self.winner is None


def step_for(waited_seconds: float, config: PolicyConfig) -> str:
    """The relaxation step a ticket has reached after waiting this long."""
    step = STRICT
    for threshold, relaxed in zip(config.relax_after, STEPS[1:], strict=True):
        if waited_seconds >= threshold:
            step = relaxed
    return step


def check(agent: Agent, ticket: Ticket, at: datetime, config: PolicyConfig, step: str = STRICT) -> Candidate:
    """Whether one agent may take the ticket now; the first rule failed is named."""
    weight = config.weight(ticket.priority)

    def fail(rule, detail):
        return Candidate(agent.name, False, rule, detail, agent.load, agent.capacity)

    if agent.status != "available":
        return fail("status", f"{agent.name} is {agent.status}")
    vacation = agent.on_vacation(at)
    if vacation:
        return fail("vacation", f"{agent.name} is on vacation until {vacation.ends_at.isoformat()}")
    if ticket.group and ticket.group not in agent.groups:
        return fail("group", f"{agent.name} is not in the confidential group {ticket.group!r}")
    needed = config.skill_for(ticket.category)
    if needed:
        skill, level = needed
        if skill not in agent.skills:
            return fail("skill", f"{agent.name} lacks the skill {skill!r}")
        if agent.skills[skill] < level:
            return fail("skill", f"{agent.name} has {skill!r} at level {agent.skills[skill]}, {level} needed")
    relaxed = STEPS.index(step)
    if ticket.region and agent.regions and relaxed < 1 and ticket.region.lower() not in agent.served:
        return fail("region", f"{agent.name} does not serve region {ticket.region!r}")
    if ticket.language and agent.languages and relaxed < 2 and primary_language(ticket.language) not in agent.spoken:
        return fail("language", f"{agent.name} does not speak {ticket.language!r}")
    if agent.load + weight > agent.capacity:
        return fail("capacity", f"{agent.name} is full ({_n(agent.load)} of {_n(agent.capacity)})")
    channel_cap = agent.channel_capacity.get(ticket.channel)
    if channel_cap is not None and agent.channel_load.get(ticket.channel, 0) + weight > channel_cap:
        return fail("channel_capacity", f"{agent.name} is full on {ticket.channel} "
                                        f"({_n(agent.channel_load.get(ticket.channel, 0))} of {_n(channel_cap)})")
    return Candidate(agent.name, True, None, f"{agent.name} is eligible ({_n(agent.load)} of {_n(agent.capacity)})",
                     agent.load, agent.capacity)


def decide(ticket: Ticket, agents, at: datetime, config: PolicyConfig, step: str = STRICT,
           skipped: dict[str, int] | None = None) -> Decision:
    """Choose an agent for the ticket at this policy step, with every candidate's verdict.

    `agents` may be a pre-filtered subset (a large roster's index); `skipped` then
    counts, by rule, the agents left out, so the explanation still accounts for all."""
    skipped = dict(skipped or {})
    agents = list(agents)  # iterated twice below; a generator would be used up
    candidates = tuple(sorted((check(a, ticket, at, config, step) for a in agents), key=lambda c: c.agent))
    by_name = {a.name: a for a in agents}
    eligible = [by_name[c.agent] for c in candidates if c.eligible]
    if not eligible:
        if step == FALLBACK:
            return Decision(ticket.reference, at, step, None,
                            f"nobody eligible after relaxing region and language: sent to {config.fallback_queue}",
                            candidates, skipped)
        return Decision(ticket.reference, at, step, None, "nobody eligible: waiting", candidates, skipped)
    winner = min(eligible, key=lambda a: choice_key(a, at))
    return Decision(ticket.reference, at, step, winner.name, _why(winner, eligible, at), candidates, skipped)


def decide_ranked(ticket: Ticket, ranked, total: int, at: datetime, config: PolicyConfig, step: str = STRICT,
                  skipped: dict[str, int] | None = None, runners_up: int = 10) -> Decision:
    """decide() for agents already in choice order (rank_key), as a RankedRoster gives
    them: check them one by one, best first, and stop once the winner and `runners_up`
    more eligible agents are found (at least one, so "the only eligible agent" is only
    said after checking everyone). The winner and the rule are those decide() would give
    over the same agents; `total` is how many agents `ranked` holds, so the agents left
    unchecked are counted in Decision.unchecked instead of being passed over silently."""
    runners_up = max(1, runners_up)
    checked: list[Candidate] = []
    eligible: list[Agent] = []
    for agent in ranked:
        verdict = check(agent, ticket, at, config, step)
        checked.append(verdict)
        if verdict.eligible:
            eligible.append(agent)
            if len(eligible) > runners_up:
                break
    unchecked = max(0, total - len(checked)) if len(eligible) > runners_up else 0
    skipped = dict(skipped or {})
    if not eligible:
        decision = decide(ticket, (), at, config, step, skipped)
        return replace(decision, candidates=tuple(checked))
    winner = eligible[0]
    return Decision(ticket.reference, at, step, winner.name, _why(winner, eligible, at), tuple(checked), skipped,
                    unchecked)


def choice_key(agent: Agent, at: datetime):
    """Lowest relative load, then longest idle (never assigned first), then name."""
    relative = agent.load / agent.capacity if agent.capacity else float("inf")
    idle_since = agent.last_assigned_at or datetime.min.replace(tzinfo=at.tzinfo)
    return (relative, idle_since, agent.name)


def rank_key(agent: Agent):
    """choice_key for times in UTC (as the store keeps them): the order of a RankedRoster."""
    return choice_key(agent, _EPOCH)


def waiting_order(tickets, waiting_since: dict[str, datetime] | None = None):
    """Urgent first, then the longest waiting (by created_at unless given)."""
    since = waiting_since or {}

    def key(t):
        waited_from = since.get(t.reference) or t.created_at
        # An undated ticket goes after the dated ones of its priority instead of breaking the sort.
        return (-priority_rank(t.priority), waited_from is None, waited_from or _EPOCH, t.reference)

    return sorted(tickets, key=key)


def priority_rank(priority: str) -> int:
    """Priority.rank; an unknown word ranks as the default priority."""
    try:
        return Priority(priority).rank
    except ValueError:
        return DEFAULT_PRIORITY.rank


def needs_handover(agent: Agent, at: datetime, config: PolicyConfig) -> str | None:
    """Why this agent's open tickets must go to others now, or None."""
    vacation = agent.on_vacation(at)
    if vacation:
        return f"{agent.name} is on vacation until {vacation.ends_at.isoformat()}"
    if agent.status == "offline" and agent.status_since and \
            at - agent.status_since >= timedelta(seconds=config.offline_handover_after):
        return f"{agent.name} has been offline since {agent.status_since.isoformat()}"
    return None


def keeps_follow_up(agent: Agent | None, ticket: Ticket, at: datetime, config: PolicyConfig) -> bool:
    """A customer's follow-up stays with the current assignee while they may still work
    the ticket: capacity aside (the ticket is already part of their load), and region
    and language aside (it may have been given to them after those were relaxed)."""
    if agent is None:
        return False
    verdict = check(agent, ticket, at, config, ANY_LANGUAGE)
    return verdict.eligible or verdict.failed_rule in ("capacity", "channel_capacity")


def _why(winner: Agent, eligible: list[Agent], at: datetime) -> str:
    if len(eligible) == 1:
        return f"{winner.name} was the only eligible agent"
    relative = choice_key(winner, at)[0]
    tied = [a for a in eligible if choice_key(a, at)[0] == relative]
    if len(tied) == 1:
        return f"lowest load: {winner.name} at {_n(winner.load)} of {_n(winner.capacity)}"
    idle = [a for a in tied if a.last_assigned_at == winner.last_assigned_at]
    if len(idle) == 1:
        return f"equal load; {winner.name} waited longest since their last assignment"
    return f"equal load and idle time; {winner.name} first by name"


_EPOCH = datetime.min.replace(tzinfo=UTC)


def primary_language(language: str) -> str:
    return language.split("-")[0].lower()


def _n(number: float) -> str:
    return f"{number:g}"
