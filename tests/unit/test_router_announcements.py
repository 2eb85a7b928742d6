"""The router's pure parts around a decision: the events it announces (valid for
their consumers), when a decision is announced again, how a ticket moving
between agents changes their loads, and how explain lists a large roster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from services.common.contract.events import TicketAssigned, TicketEscalated, TicketUnassigned, received
from services.common.contract.vocabulary import Priority
from services.router import announcements, policy
from services.router.explain import EXPLAIN_EXAMPLES_PER_RULE, explained_candidates
from services.router.mirror import load_deltas

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def row(**fields):
    """A mirror row as the router keeps it."""
    values = {"reference": "C-ABC", "assignee": "ana", "priority": "high", "channel": "chat", "status": "new",
              "version": 3, "created_at": AT - timedelta(hours=1), "announced_at": AT - timedelta(minutes=5)}
    return SimpleNamespace(**{**values, **fields})


def delivered(event) -> dict:
    return {"event_id": "e-1", "event_type": event.event_type, **event.to_payload()}


def test_every_announcement_is_read_back_by_its_consumer_as_sent():
    decision = policy.Decision("C-ABC", AT, policy.ANY_REGION, "bo", "lowest load: bo at 0 of 3")
    assigned = announcements.decided(row(), decision, "handover")
    back = received(TicketAssigned, delivered(assigned)).event
    assert back == assigned and back.previous == "ana" and back.priority is Priority.HIGH
    assert (back.assignment.kind, back.assignment.step) == ("handover", "any_region")
    taken = announcements.taken_back("C-ABC", "ana", "ana is on vacation")
    assert received(TicketUnassigned, delivered(taken)).event == taken
    escalated = announcements.escalated("C-ABC", "supervisors", "nobody", AT)
    assert received(TicketEscalated, delivered(escalated)).event == escalated and escalated.waiting_since


def test_a_decision_is_announced_again_only_when_tickets_still_shows_an_older_state_after_the_grace():
    grace = 120
    later = AT + timedelta(minutes=10)
    assert announcements.needs_reannouncing(row(), None, 3, later, grace)
    assert announcements.needs_reannouncing(row(), "bo", 2, later, grace)  # an older state than ours
    assert not announcements.needs_reannouncing(row(), "ana", 3, later, grace)  # it shows ours
    assert not announcements.needs_reannouncing(row(), None, 4, later, grace)  # changed since: its event decides
    assert not announcements.needs_reannouncing(row(), None, 3, AT - timedelta(minutes=4), grace)  # in the grace
    assert not announcements.needs_reannouncing(row(announced_at=None), None, 3, later, grace)  # not our decision
    assert not announcements.needs_reannouncing(row(status="resolved"), None, 3, later, grace)
    assert announcements.needs_reannouncing(row(assignee=None), "ana", 3, later, grace)  # taken back


def test_a_ticket_moving_between_agents_moves_its_weight_between_their_loads():
    assert load_deltas(None, 0, "ana", 1.5) == {"ana": 1.5}
    assert load_deltas("ana", 1.5, "bo", 1) == {"ana": -1.5, "bo": 1}
    assert load_deltas("ana", 1, "ana", 2) == {"ana": 1}
    assert load_deltas("ana", 1, "ana", 1) == {} and load_deltas("ana", 1, None, 0) == {"ana": -1}


def test_the_waiting_order_ranks_priorities_as_the_kernel_does_and_unknown_words_as_the_default():
    assert [policy.priority_rank(p.value) for p in Priority] == list(range(len(Priority)))
    assert policy.priority_rank("whatever") == Priority.MEDIUM.rank
    tickets = [policy.Ticket(f"C-{p}", priority=p, created_at=AT) for p in ("low", "urgent", "medium", "high")]
    assert [t.priority for t in policy.waiting_order(tickets)] == ["urgent", "high", "medium", "low"]


def test_explain_lists_a_large_roster_by_winner_runners_up_and_examples_and_counts_everyone():
    eligible = [policy.Candidate(f"a{i:02d}", True, load=i, capacity=10) for i in range(20)]
    full = [policy.Candidate(f"f{i:02d}", False, "capacity", "full", 10, 10) for i in range(40)]
    decision = policy.Decision("C-ABC", AT, policy.STRICT, "a00", "lowest load", tuple(eligible + full),
                               skipped={"skill": 100}, unchecked=7)
    entries = explained_candidates(decision)
    summary = entries[-1]
    assert summary["considered"] == 20 + 40 + 100 + 7
    assert summary["by_rule"] == {"eligible": 20, "capacity": 40, "skill": 100, "not_checked": 7}
    listed = [e["agent"] for e in entries[:-1]]
    assert listed[0] == "a00" and len([a for a in listed if a.startswith("f")]) == EXPLAIN_EXAMPLES_PER_RULE
