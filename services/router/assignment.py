"""The assignment transaction: turn a policy decision into an assignment, atomically.

A claim is one transaction of conditional updates (assignment_sql.py): the ticket
must still have the assignee the decision saw, and the agent must still be
available, off vacation and have room (`load + weight <= capacity`, and per
channel where a channel capacity is set). If any fails, nothing is written and
the ticket is decided again with fresh data. That is what keeps several router
replicas from over-assigning an agent or assigning a ticket twice.

The same transaction writes the decision row (explain.py) and the announcement
(announcements.py) to the outbox: one decision, one event. On PostgreSQL a new
ticket's claim, its decision row and its event are one statement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update

from services.common.contract.errors import NotFound
from services.common.contract.vocabulary import OPEN_STATUS_VALUES
from services.common.messaging.outbox import emit
from services.common.messaging.outbox_rows import event_row
from services.common.time.clock import now, utc

from . import announcements, explain, policy
from . import assignment_sql as sql
from .mirror import load_deltas, policy_ticket
from .ranked_roster import RankedRoster
from .roster_cache import RosterCache
from .schema import decisions, outbox, tickets


class Lost(RuntimeError):
    """Another replica or a person changed the ticket or the agent first."""


class Assignments:
    def __init__(self, engine, config: policy.PolicyConfig, cache: RosterCache):
        self.engine, self.config, self.cache = engine, config, cache
        # PostgreSQL: a new ticket's claim and its decision row in one statement (one
        # round trip instead of three); SQLite runs in-process, so statements are cheap.
        self._one_statement_claim = engine.dialect.name == "postgresql"

    def route(self, reference: str, at: datetime | None = None, kind="assign",
              exclude: str | None = None, context: str | None = None) -> policy.Decision | None:
        """Decide for one ticket and claim the winner atomically; re-decide on a lost race.
        One transaction: read the ticket, decide from the cached roster, claim."""
        for attempt in range(5):
            decided_at = at or now()
            ranked = self.cache.snapshot()  # a roster read, when one is due, before the transaction opens
            involved = ()
            try:
                with self.engine.begin() as conn:
                    row = conn.execute(sql.TICKET, {"b_ref": reference}).first()
                    if row is None:
                        raise NotFound(f"the router has not seen ticket {reference}")
                    if row.status not in OPEN_STATUS_VALUES or (kind == "assign" and row.assignee) or (
                            exclude and row.assignee != exclude):
                        return None  # closed meanwhile, or another router got there first: nothing to do
                    waited = (decided_at - utc(row.waiting_since)).total_seconds() if row.waiting_since else 0
                    step = policy.step_for(waited, self.config)
                    decision = self._decide(ranked, policy_ticket(row), step, decided_at, exclude)
                    if context:  # why this ticket is being routed again (a handover, a follow-up)
                        decision = replace(decision, rule=f"{context}; {decision.rule}")
                    involved = (decision.winner, row.assignee)
                    marks = self.cache.marks(*involved)
                    changes = self._commit(conn, row, decision, kind, decided_at)
            except Lost:  # our roster was out of date: re-read who was involved, then everyone
                self.cache.changed(*involved)
                if attempt >= 1:
                    self.cache.refresh()
                at = None
                continue
            for name, delta, last in changes:
                self.cache.claimed(name, delta, last, row.channel, marks)
            return decision
        raise Lost(f"{reference}: kept losing races; will retry from the waiting queue")

    def _decide(self, ranked: RankedRoster, ticket: policy.Ticket, step: str, at: datetime,
                exclude: str | None) -> policy.Decision:
        """A small roster: check everyone, so `explain` lists them all. A large one: only
        the available agents with the skill (and, until relaxed, the region and language),
        best-ranked first, stopping after the winner and a few runners-up; the rest are
        counted by the rule they fail, or as not checked."""
        with self.cache.lock:  # no database work in here: it runs while route() holds a connection
            if len(ranked) <= explain.EXPLAIN_ALL_UP_TO:
                agents_ = [a for a in ranked.agents.values() if a.name != exclude]
                return policy.decide(ticket, agents_, at, self.config, step)
            ordered, total, skipped = ranked.candidates(ticket, self.config, step, exclude)
            return policy.decide_ranked(ticket, ordered, total, at, self.config, step, skipped,
                                        runners_up=explain.EXPLAIN_RUNNERS_UP)

    def _commit(self, conn, row, decision: policy.Decision, kind: str, at: datetime) -> list:
        """Write the decision in the caller's transaction: the conditional updates, the
        decision row, the event. Returns the load changes (agent, delta, assigned at) for
        the cached roster, to apply once committed. Raises Lost when a condition failed."""
        if decision.winner is None:
            return self._wait(conn, row, decision, kind, at)
        weight = self.config.weight(row.priority)
        event = announcements.decided(row, decision, kind)
        if self._one_statement_claim and row.assignee is None and weight > 0:
            self._claim_and_record(conn, row, decision, kind, weight, at,
                                   event_row(event.event_type, event.to_payload(), at))
            return [(decision.winner, weight, at)]
        changes = self._claim(conn, row, decision, weight, at)
        explain.record(conn, decision, kind, previous=row.assignee)
        emit(conn, outbox, event.event_type, event.to_payload(), at)
        return changes

    def _wait(self, conn, row, decision: policy.Decision, kind: str, at: datetime) -> list:
        """Nobody can take it: the ticket waits (taken back from its assignee, announced),
        and goes to the fallback queue (escalated, once) after the last step."""
        since = row.waiting_since or at
        params = {"b_ref": row.reference, "b_prev": row.assignee, "b_step": decision.step, "b_since": since,
                  "b_at": at}
        if conn.execute(sql.TAKE_BACK if row.assignee else sql.STAY_WAITING, params).rowcount != 1:
            raise Lost(row.reference)
        changes = []
        for name, delta in load_deltas(row.assignee, row.weight, None, 0).items():
            conn.execute(sql.ADD_LOAD, {"b_name": name, "b_delta": delta})
            changes.append((name, delta, None))
        if row.assignee:
            event = announcements.taken_back(row.reference, row.assignee, decision.rule)
            emit(conn, outbox, event.event_type, event.to_payload(), at)
        fell_back = decision.to_fallback and row.step != policy.FALLBACK
        if self._record_wait(conn, row, decision, kind) and fell_back:
            event = announcements.escalated(row.reference, self.config.fallback_queue, decision.rule, since)
            emit(conn, outbox, event.event_type, event.to_payload(), at)
        return changes

    def _claim(self, conn, row, decision: policy.Decision, weight: float, at: datetime) -> list:
        """The conditional updates of a claim, one by one."""
        changes = []
        claimed = conn.execute(sql.CLAIM[row.assignee is None], {
            "b_ref": row.reference, "b_prev": row.assignee, "b_winner": decision.winner, "b_weight": weight,
            "b_at": at})
        if claimed.rowcount != 1:
            raise Lost(row.reference)
        for name, delta in sorted(load_deltas(row.assignee, row.weight, decision.winner, weight).items()):
            if name == decision.winner:  # still available, off vacation, with room: or nothing
                taken = conn.execute(sql.TAKE, {"b_name": name, "b_delta": delta, "b_at": at}).first()
                if taken is None:
                    raise Lost(f"{name} is no longer free")
                _check_channel_room(conn, name, row.channel, (taken.channel_capacity or {}).get(row.channel))
                changes.append((name, delta, at))
            else:  # the previous assignee's load
                if conn.execute(sql.ADD_LOAD, {"b_name": name, "b_delta": delta}).rowcount != 1:
                    raise Lost(f"{name} is no longer on the roster")
                changes.append((name, delta, None))
        return changes

    def _claim_and_record(self, conn, row, decision: policy.Decision, kind: str, weight: float,
                          at: datetime, event: dict) -> None:
        """_claim, the decision row and the event for a ticket nobody has, as one statement
        (sql.CLAIM_AND_RECORD); `event` is the outbox row (outbox_rows.event_row)."""
        taken = conn.execute(sql.CLAIM_AND_RECORD, {
            "b_ref": row.reference, "b_winner": decision.winner, "b_weight": weight, "b_at": at, "b_kind": kind,
            "b_name": decision.winner, "b_delta": weight,
            "b_step": decision.step, "b_rule": decision.rule, "b_candidates": explain.explained_candidates(decision),
            "b_event_id": event["event_id"], "b_event_type": event["event_type"], "b_payload": event["payload"],
            "b_created_at": event["created_at"]}).first()
        if taken is None:
            raise Lost(f"{row.reference} was taken, or {decision.winner} is no longer free")
        _check_channel_room(conn, decision.winner, row.channel, (taken[0] or {}).get(row.channel))

    def _record_wait(self, conn, row, decision, kind) -> bool:
        """Record a 'nobody' decision only when something changed (a new ticket, a new
        step, a handover), not on every sweep of the waiting queue."""
        last = conn.execute(sql.LAST_DECISION, {"b_ref": row.reference}).first()
        if last is not None and last.step == decision.step and last.kind in ("wait", "fallback") and kind == "assign":
            return False
        explain.record(conn, decision, "fallback" if decision.to_fallback else ("wait" if kind == "assign" else kind),
                       previous=row.assignee)
        return True

    def reannounce(self, row, shown: str | None, at: datetime | None = None) -> bool:
        """Announce the mirror's assignee again for a ticket the tickets service shows with
        `shown` (the decision was lost or parked on its way). Once per replica race: only
        the replica that moves announced_at writes the event."""
        at = at or now()
        with self.engine.begin() as conn:
            moved = conn.execute(update(tickets).where(
                tickets.c.reference == row.reference, _same(tickets.c.assignee, row.assignee),
                _same(tickets.c.announced_at, row.announced_at)).values(announced_at=at)).rowcount
            if moved != 1:
                return False
            if row.assignee is None:
                event = announcements.taken_back(row.reference, shown, "announced again: the tickets service "
                                                                       "still showed the previous assignee")
            else:
                last = _last_decision_for(conn, row.reference, row.assignee)
                event = announcements.assigned(row, row.assignee, shown, last.kind if last else "assign",
                                               last.step if last else None, last.rule if last else None)
            emit(conn, outbox, event.event_type, event.to_payload(), at)
        return True


def take_back(conn, name: str, reason: str, at: datetime) -> list[str]:
    """Every open ticket of `name` back to the waiting queue, decided and announced
    (the agent left the roster: their load goes with them)."""
    refs = [r.reference for r in conn.execute(select(tickets.c.reference).where(
        tickets.c.assignee == name, tickets.c.status.in_(OPEN_STATUS_VALUES)))]
    return _back_to_waiting(conn, name, refs, reason, at)


def take_back_cases(conn, name: str, groups, at: datetime) -> list[str]:
    """The open confidential cases of `name` whose group they are no longer in, back to
    the waiting queue (decided, announced, their weight off the agent's load): a case
    must not stay with someone who may not see it."""
    rows = conn.execute(select(tickets.c.reference, tickets.c.weight, tickets.c.confidential_group).where(
        tickets.c.assignee == name, tickets.c.status.in_(OPEN_STATUS_VALUES),
        tickets.c.confidential_group.is_not(None))).all()
    rows = [r for r in rows if r.confidential_group not in set(groups)]
    weight = sum(r.weight for r in rows)
    if weight:
        conn.execute(sql.ADD_LOAD, {"b_name": name, "b_delta": -weight})
    return _back_to_waiting(conn, name, [r.reference for r in rows],
                            f"{name} is no longer in the confidential case's group", at)


def _back_to_waiting(conn, name: str, refs: list[str], reason: str, at: datetime) -> list[str]:
    conn.execute(update(tickets).where(tickets.c.reference.in_(refs)).values(
        assignee=None, weight=0, waiting_since=at, step=policy.STRICT, announced_at=at, updated_at=at))
    for ref in refs:
        decision = policy.Decision(ref, at, policy.STRICT, None, f"{reason}: back to the waiting queue")
        explain.record(conn, decision, "reroute", previous=name)
        event = announcements.taken_back(ref, name, decision.rule)
        emit(conn, outbox, event.event_type, event.to_payload(), at)
    return refs


def _check_channel_room(conn, name: str, channel: str, capacity: float | None) -> None:
    """Per-channel capacity, enforced by the database like the total: the claim has
    locked the agent's row (a concurrent claim for them waits for this transaction or
    went first), so this fresh sum of their tickets on the channel, this ticket
    included, sees every claim committed before, from any replica."""
    if capacity is None:
        return
    used = conn.execute(sql.CHANNEL_LOAD, {"b_name": name, "b_channel": channel}).scalar_one()
    if used > capacity + 1e-9:
        raise Lost(f"{name} is full on {channel}")


def _last_decision_for(conn, reference: str, winner: str):
    return conn.execute(select(decisions.c.kind, decisions.c.step, decisions.c.rule).where(
        decisions.c.reference == reference, decisions.c.winner == winner).order_by(
        decisions.c.id.desc()).limit(1)).first()


def _same(column, value):
    return column.is_(None) if value is None else column == value
