"""The router's store on real databases (SQLite and PostgreSQL): events in,
atomic claims, the waiting queue, handovers and explanations."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contract.errors import NotFound
from services.common.contract.events import TicketAssigned, TicketUnassigned, received
from services.common.messaging import outbox
from services.common.storage.db import make_engine
from services.router import policy, roster
from services.router.handling import Router
from services.router.migrate import upgrade
from services.router.mirror import policy_ticket
from services.router.roster_cache import load_agents
from services.router.schema import outbox as router_outbox


def created(store, reference=None, **fields):
    """Feed a ticket_created event as the tickets service publishes it."""
    ticket = {"reference": reference or f"C-{uuid.uuid4().hex[:10].upper()}", "status": "new",
              "priority": "medium", "category": "billing", "channel": "web", "region": None, "language": None,
              "assignee": None, "created_at": datetime.now(UTC).isoformat()}
    ticket.update(fields)
    action = store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", ticket)
    if action == "route":
        store.route(ticket["reference"])
    return ticket["reference"]


def updated(store, reference, changes, actor="bob", **fields):
    row = store.mirror.ticket(reference)
    ticket = {"reference": reference, "status": row.status, "priority": row.priority, "category": row.category,
              "channel": row.channel, "region": row.region, "language": row.language, "assignee": row.assignee,
              "version": row.version + 1}
    ticket.update(fields)
    return store.mirror.apply_event(str(uuid.uuid4()), "ticket_updated", ticket, changes, actor)


def agents_now(store):
    """The roster as the database has it now, as the policy sees it."""
    with store.engine.connect() as conn:
        return load_agents(conn)[0]


def relay(store, publish) -> int:
    """Publish the router's outbox as its relay does."""
    return outbox.relay(store.engine, router_outbox, publish)


def loads(store):
    return {a["name"]: a["load"] for a in store.roster.agents_as_dicts()}


def test_tickets_go_to_the_least_loaded_eligible_agent(store):
    store.import_roster(roster.parse_json([
        {"name": "alice", "skills": {"billing": 1}, "capacity": 2},
        {"name": "bob", "skills": ["billing"], "capacity": 2},
        {"name": "carol", "skills": ["delivery"], "capacity": 5},
    ]))
    refs = [created(store) for _ in range(4)]
    assignees = [store.mirror.ticket(r).assignee for r in refs]
    assert sorted(assignees) == ["alice", "alice", "bob", "bob"]
    assert loads(store) == {"alice": 2, "bob": 2, "carol": 0}
    # Full: the fifth waits, and says why.
    waiting = created(store)
    assert store.mirror.ticket(waiting).assignee is None
    explained = store.explain(waiting)["decisions"][0]
    assert explained["kind"] == "wait" and explained["winner"] is None
    rules = {c["agent"]: c["failed_rule"] for c in explained["candidates"]}
    assert rules == {"alice": "capacity", "bob": "capacity", "carol": "skill"}
    # A resolved ticket frees capacity and the waiting one is assigned on the next sweep.
    updated(store, refs[0], {"status": {"before": "new", "after": "resolved"}}, status="resolved")
    assert store.drain_waiting()[0].winner == assignees[0]
    assert store.mirror.ticket(waiting).assignee == assignees[0]


def test_a_redelivered_event_is_applied_once(store):
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 3}]))
    ref = created(store)
    ticket = {"reference": ref, "status": "resolved", "priority": "medium", "category": "billing",
              "channel": "web", "assignee": "alice"}
    event_id = str(uuid.uuid4())
    for _ in range(3):
        store.mirror.apply_event(event_id, "ticket_updated", ticket, {"status": {"before": "new", "after": "resolved"}})
    assert loads(store) == {"alice": 0}


def test_an_older_state_arriving_late_is_ignored(store):
    """Events come on one queue per type: a ticket_updated may overtake another."""
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 3}]))
    ref = created(store, version=1)
    updated(store, ref, {"status": {"before": "new", "after": "resolved"}}, status="resolved", version=5)
    assert updated(store, ref, {"priority": {"before": "medium", "after": "high"}}, priority="high",
                   version=3) is None
    row = store.mirror.ticket(ref)
    assert (row.status, row.priority, row.version) == ("resolved", "medium", 5)
    assert loads(store) == {"alice": 0}


def test_waiting_queue_drains_urgent_first_then_oldest(store):
    refs = {p: created(store, priority=p) for p in ("low", "medium", "urgent", "high")}
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 2}]))
    decisions = store.drain_waiting()
    assert [d.reference for d in decisions] == [refs["urgent"], refs["high"], refs["medium"], refs["low"]]
    assert [d.winner for d in decisions] == ["alice", "alice", None, None]


def test_relaxation_drops_region_then_language_then_falls_back(store):
    store.import_roster(roster.parse_json([
        {"name": "ines", "skills": ["billing"], "regions": ["pt"], "languages": ["pt"], "capacity": 5}]))
    ref = created(store, region="us", language="en")
    assert store.mirror.ticket(ref).assignee is None
    start = datetime.now(UTC)
    assert store.route(ref, start + timedelta(seconds=70)).winner is None  # region relaxed, language still not
    decision = store.route(ref, start + timedelta(seconds=130))
    assert (decision.step, decision.winner) == (policy.ANY_LANGUAGE, "ines")
    steps = [d["step"] for d in store.explain(ref)["decisions"]]
    assert steps == ["any_language", "any_region", "strict"]


def test_a_ticket_nobody_can_take_falls_back_and_is_escalated_once(store):
    ref = created(store, category="technical")
    start = datetime.now(UTC)
    for seconds in (190, 200, 210):
        decision = store.route(ref, start + timedelta(seconds=seconds))
    assert decision.to_fallback and "supervisors" in decision.rule
    kinds = [d["kind"] for d in store.explain(ref)["decisions"]]
    assert kinds == ["fallback", "wait"]


def test_vacation_hands_tickets_over_most_urgent_first_and_nothing_comes_back(store):
    store.import_roster(roster.parse_json([
        {"name": "alice", "skills": ["billing"], "capacity": 5},
        {"name": "bob", "skills": ["billing"], "capacity": 5, "status": "away"},
    ]))
    urgent, low = created(store, priority="urgent"), created(store, priority="low")
    assert {store.mirror.ticket(urgent).assignee, store.mirror.ticket(low).assignee} == {"alice"}
    now = datetime.now(UTC)
    store.roster.add_vacation("alice", {"starts_at": now - timedelta(minutes=1), "ends_at": now + timedelta(days=7)})
    # Nobody else is available yet: the tickets wait rather than stay with someone on leave.
    handed = store.handovers()
    assert [d.reference for d in handed] == [urgent, low] and all(d.winner is None for d in handed)
    store.roster.patch_agent("bob", {"status": "available"})
    assert [d.winner for d in store.drain_waiting()] == ["bob", "bob"]
    explained = store.explain(urgent)["decisions"]
    assert explained[1]["kind"] == "handover" and "alice is on vacation" in explained[1]["rule"]
    assert loads(store) == {"alice": 0, "bob": 2}
    # Alice comes back: nothing is taken back from bob silently.
    store.roster.patch_agent("alice", {"vacations": []})
    store.handovers()
    store.drain_waiting()
    assert store.mirror.ticket(urgent).assignee == "bob"


def test_a_manual_assignment_in_the_tickets_service_is_respected(store):
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 1},
                                           {"name": "bob", "skills": ["billing"], "capacity": 1}]))
    ref = created(store)
    first = store.mirror.ticket(ref).assignee
    other = "bob" if first == "alice" else "alice"
    updated(store, ref, {"assignee": {"before": first, "after": other}}, actor="supervisor", assignee=other)
    assert store.mirror.ticket(ref).assignee == other
    assert loads(store) == {first: 0, other: 1}
    assert store.explain(ref)["decisions"][0]["kind"] == "manual"


def test_a_follow_up_stays_with_an_eligible_assignee_and_moves_otherwise(store):
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 1},
                                           {"name": "bob", "skills": ["billing"], "capacity": 1}]))
    ref = created(store)
    first = store.mirror.ticket(ref).assignee
    assert store.follow_up(ref) is None  # full (capacity 1) but still theirs
    store.roster.patch_agent(first, {"status": "offline"})
    decision = store.follow_up(ref)
    assert decision.winner and decision.winner != first
    assert store.mirror.ticket(ref).assignee == decision.winner


def test_concurrent_routers_never_over_assign(store):
    """Many routers (threads here, processes in the service test) race for two agents."""
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 3},
                                           {"name": "bob", "skills": ["billing"], "capacity": 3}]))
    refs = waiting_tickets(store, 12, channel="web")
    race([store] * 4, refs)
    assigned = [store.mirror.ticket(r).assignee for r in refs]
    assert assigned.count("alice") == 3 and assigned.count("bob") == 3
    assert loads(store) == {"alice": 3, "bob": 3}
    assert_assigned_once(store, refs)


def waiting_tickets(store, n, channel):
    """n billing tickets the router has heard of but not routed yet."""
    refs = []
    for _ in range(n):
        ticket = {"reference": f"C-{uuid.uuid4().hex[:10].upper()}", "status": "new", "priority": "medium",
                  "category": "billing", "channel": channel, "assignee": None}
        store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", ticket)
        refs.append(ticket["reference"])
    return refs


def race(routers, refs):
    """Each router (a store) in its own thread routes every ticket, all at once."""
    def run(router):
        for ref in refs:
            try:
                router.route(ref)
            except Exception:  # a lost race after retries: the sweep would pick it up
                pass

    threads = [threading.Thread(target=run, args=(router,)) for router in routers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def assert_assigned_once(store, refs):
    """Each assigned ticket has exactly one assignment decision."""
    for ref in refs:
        kinds = [d["kind"] for d in store.explain(ref)["decisions"]]
        assert kinds.count("assign") == (1 if store.mirror.ticket(ref).assignee else 0)


def test_a_large_roster_index_picks_the_same_agent_as_checking_everyone(store):
    """Above 50 agents the router walks a ranked index best-first and stops early; it must
    choose exactly the agent (and give the reason) a full scan of the database's roster
    would, uncategorised tickets included, and the explanation must still count everyone."""
    import random

    rng = random.Random(7)
    at = datetime.now(UTC)
    skills, regions, languages = ["billing", "delivery", "technical"], ["pt", "de", "us"], ["pt", "de", "en"]
    agents = [{"name": f"a{i:03d}", "skills": rng.sample(skills, rng.randint(1, 2)),
               "regions": rng.sample(regions, rng.randint(0, 2)), "languages": rng.sample(languages, rng.randint(0, 2)),
               "capacity": rng.randint(1, 3), "status": rng.choice(["available", "available", "away"])}
              for i in range(80)]
    for a in agents[::9]:
        a["vacations"] = [{"starts_at": (at - timedelta(days=1)).isoformat(),
                           "ends_at": (at + timedelta(days=1)).isoformat()}]
    store.import_roster(roster.parse_json(agents))
    winners = set()
    for i in range(130):  # more than the roster's room: the last ones wait
        ref = f"C-LARGE{i:04d}"
        assert store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", {
            "reference": ref, "status": "new", "priority": "medium", "channel": "web", "assignee": None,
            "category": rng.choice([*skills, None]), "region": rng.choice([*regions, None]),
            "language": rng.choice([*languages, "pt-BR", None])}) == "route"
        full_scan = policy.decide(policy_ticket(store.mirror.ticket(ref)), agents_now(store), at,
                                  store.config)
        decision = store.route(ref, at)
        assert (decision.winner, decision.rule) == (full_scan.winner, full_scan.rule), ref
        assert store.mirror.ticket(ref).assignee == full_scan.winner
        winners.add(decision.winner)
        summary = store.explain(ref)["decisions"][0]["candidates"][-1]
        assert summary.get("summary") and summary["considered"] == 80
        assert sum(summary["by_rule"].values()) == 80
    assert len(winners - {None}) > 10 and None in winners  # the run covered both outcomes
    for row in store.mirror.waiting():  # whatever waits, nobody could take
        assert policy.decide(policy_ticket(row), agents_now(store), at, store.config).winner is None


def test_explain_counts_the_agents_ranked_after_the_winner_as_not_checked(store):
    store.import_roster(roster.parse_json([{"name": f"a{i:02d}", "skills": ["billing"], "capacity": 5}
                                           for i in range(60)]))
    ref = created(store)
    entries = store.explain(ref)["decisions"][0]["candidates"]
    summary = entries[-1]
    assert summary["considered"] == 60
    assert summary["by_rule"] == {"eligible": 11, "not_checked": 49}
    assert "49 more agents" in summary["detail"] and "not checked" in summary["detail"]
    assert [e["agent"] for e in entries[:-1]] == [f"a{i:02d}" for i in range(11)]  # winner, then runners-up
    assert store.mirror.ticket(ref).assignee == "a00"


def test_another_replicas_changes_reach_the_cached_roster_at_the_next_refresh(store):
    """Two routers on one database: what one does to the roster and loads, the other's
    cached roster shows after a refresh (a sweep), exactly as a fresh read would."""
    other = Router(store.engine, store.config)
    store.import_roster(roster.parse_json([{"name": f"a{i:02d}", "skills": ["billing", "delivery"],
                                            "regions": ["pt"] if i % 3 else [], "capacity": 3}
                                           for i in range(60)]))
    created(store)  # builds this router's cached roster
    for _ in range(5):
        created(other, category="delivery")
    other.roster.patch_agent("a10", {"status": "offline"})
    other.roster.put_agent({"name": "a11", "skills": {"technical": 2}, "capacity": 9})
    other.roster.add_vacation("a12", {"starts_at": datetime.now(UTC) - timedelta(hours=1),
                               "ends_at": datetime.now(UTC) + timedelta(hours=1)})
    other.roster.remove_agent("a13")
    other.roster.put_agent({"name": "new", "skills": {"billing": 0}, "capacity": 2})
    store.cache.refresh()
    fresh = {a.name: a for a in agents_now(store)}
    assert store.cache.snapshot().agents == fresh
    assert len(fresh) == 60 and "a13" not in fresh and fresh["new"].skills == {"billing": 0}
    assert sum(a.load for a in fresh.values()) == 6
    # One agent's entry, as GET /agents/<name> and get_agent give it, matches the listing.
    listing = {a["name"]: a for a in store.roster.agents_as_dicts()}
    assert store.roster.agent("a12") == listing["a12"] and store.roster.agent("a12")["on_vacation"] is True
    assert len(store.roster.agent("a12")["vacations"]) == 1
    with pytest.raises(NotFound):
        store.roster.agent("a13")


def test_a_claim_lost_to_another_replica_is_decided_again_with_the_agent_re_read(store):
    other = Router(store.engine, store.config)
    staff = [{"name": f"z{i:02d}", "skills": ["technical"], "capacity": 1} for i in range(58)]
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 1},
                                           {"name": "bob", "skills": ["billing"], "capacity": 5}, *staff]))
    store.cache.snapshot()  # this router now believes alice is free
    assert store.mirror.ticket(created(other)).assignee == "alice"  # the other router fills her
    ref = created(store)
    assert store.mirror.ticket(ref).assignee == "bob"
    assert [d["kind"] for d in store.explain(ref)["decisions"]] == ["assign"]
    assert loads(store)["alice"] == 1 and loads(store)["bob"] == 1


def test_the_routers_sqlite_commits_do_not_wait_for_the_disk_unless_configured(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'router.db'}"
    upgrade(url)
    for configured, expected in ((None, 1), ("full", 2)):  # PRAGMA synchronous: 1 NORMAL, 2 FULL
        if configured:
            monkeypatch.setenv("ROUTER_SQLITE_SYNCHRONOUS", configured)
        engine = make_engine(url)
        try:
            Router(engine, policy.PolicyConfig())
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            engine.dispose()
    monkeypatch.setenv("ROUTER_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValueError, match="ROUTER_SQLITE_SYNCHRONOUS"):
        Router(make_engine(url), policy.PolicyConfig())


def test_channel_capacity_holds_across_consecutive_assignments(store):
    store.import_roster(roster.parse_json([
        {"name": "farid", "skills": ["billing"], "capacity": 5, "channel_capacity": {"chat": 1}}]))
    chats = [created(store, channel="chat") for _ in range(3)]
    assert [store.mirror.ticket(r).assignee for r in chats] == ["farid", None, None]
    web = created(store, channel="web")
    assert store.mirror.ticket(web).assignee == "farid"
    assert store.drain_waiting()[0].candidates[0].failed_rule == "channel_capacity"


def test_a_channel_capacity_holds_when_another_replica_filled_it_first(store):
    """Two routers each believe farid still has room on chat: the database, not their
    caches, must refuse the second chat ticket (the total capacity alone would allow it)."""
    other = Router(store.engine, store.config)
    store.import_roster(roster.parse_json([
        {"name": "farid", "skills": ["billing"], "capacity": 5, "channel_capacity": {"chat": 1}},
        {"name": "gina", "skills": ["billing"], "capacity": 5}]))
    created(store, channel="web", category="delivery")  # nobody's: both caches are built now
    created(other, channel="web", category="delivery")
    first = created(other, channel="chat")
    second = created(store, channel="chat")  # this router's cache still shows farid free on chat
    assert store.mirror.ticket(first).assignee == "farid"
    assert store.mirror.ticket(second).assignee == "gina"
    assert [d["kind"] for d in store.explain(second)["decisions"]] == ["assign"]
    farid = {a.name: a for a in agents_now(store)}["farid"]
    assert farid.channel_load == {"chat": 1.0} and farid.load == 1


def test_racing_replicas_never_exceed_a_channel_capacity(store):
    """Routers in threads, two replicas, race for chat tickets: per-channel and total
    capacity hold, and every ticket is assigned at most once."""
    replicas = [store, Router(store.engine, store.config)]
    store.import_roster(roster.parse_json(
        [{"name": f"c{i}", "skills": ["billing"], "capacity": 4, "channel_capacity": {"chat": 2}} for i in range(3)]))
    refs = waiting_tickets(store, 10, channel="chat")
    for replica in replicas:
        replica.cache.snapshot()  # both start from the same, soon stale, roster
    race(replicas * 2, refs)
    assigned = [store.mirror.ticket(r).assignee for r in refs]
    assert sorted(a for a in assigned if a) == ["c0", "c0", "c1", "c1", "c2", "c2"]
    assert loads(store) == {"c0": 2, "c1": 2, "c2": 2}
    assert_assigned_once(store, refs)


def test_each_assignment_publishes_one_event_and_a_lost_claim_none(store):
    """The outbox as the relay publishes it: one TicketAssigned per ticket claimed
    (written in the claim's own statement on PostgreSQL), one with `previous` per
    handover, and nothing from a claim that lost its race."""
    other = Router(store.engine, store.config)
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 1},
                                           {"name": "bob", "skills": ["billing"], "capacity": 2}]))
    store.cache.snapshot()  # this router will believe alice is free
    first = created(other)  # alice takes it
    second = created(store, priority="high")  # alice is full: lost claim, then bob
    store.roster.add_vacation("bob", {"starts_at": datetime.now(UTC) - timedelta(hours=1),
                                      "ends_at": datetime.now(UTC) + timedelta(hours=1)})
    store.roster.put_agent({"name": "cleo", "skills": {"billing": 0}, "capacity": 3})
    store.handovers()
    published = []
    assert relay(store, lambda event_type, payload: published.append((event_type, payload))) == 3
    events = [received(TicketAssigned, payload).event for _, payload in published]
    assert [(t, e.reference, e.assignee, e.previous, e.assignment.kind) for t, e in
            zip((t for t, _ in published), events, strict=True)] == [
        ("ticket_assigned", first, "alice", None, "assign"),
        ("ticket_assigned", second, "bob", None, "assign"),
        ("ticket_assigned", second, "cleo", "bob", "handover")]
    for (event_type, payload), event in zip(published, events, strict=True):
        assert payload["event_type"] == event_type and uuid.UUID(payload["event_id"])
        assert event.assignment.step == "strict" and event.assignment.rule and payload["occurred_at"]
    assert events[1].priority == "high" and events[1].channel == "web"
    assert len({p["event_id"] for _, p in published}) == 3
    assert [d["winner"] for d in store.explain(second)["decisions"]] == ["cleo", "bob"]
    assert outbox.pending(store.engine, router_outbox) == 0


def test_a_ticket_taken_back_to_the_waiting_queue_is_announced_unassigned(store):
    store.import_roster(roster.parse_json([{"name": "alice", "skills": ["billing"], "capacity": 2}]))
    ref = created(store)
    store.roster.add_vacation("alice", {"starts_at": datetime.now(UTC) - timedelta(hours=1),
                                        "ends_at": datetime.now(UTC) + timedelta(hours=1)})
    assert [d.winner for d in store.handovers()] == [None]
    published = []
    relay(store, lambda event_type, payload: published.append((event_type, payload)))
    assert [t for t, _ in published] == ["ticket_assigned", "ticket_unassigned"]
    taken_back = received(TicketUnassigned, published[1][1]).event
    assert (taken_back.reference, taken_back.previous) == (ref, "alice") and "vacation" in taken_back.reason
    assert store.mirror.ticket(ref).assignee is None and loads(store) == {"alice": 0}


def test_tickets_nobody_can_take_do_not_starve_the_rest_of_the_queue(store):
    """More urgent tickets than one page of the queue wait for a skill nobody has;
    a low-priority ticket behind them is still assigned by the sweep."""
    for _ in range(501):
        store.mirror.apply_event(str(uuid.uuid4()), "ticket_created", {
            "reference": f"C-{uuid.uuid4().hex[:10].upper()}", "status": "new", "priority": "urgent",
            "category": "technical", "channel": "web", "assignee": None})
    low = created(store, priority="low", category="billing")
    store.import_roster(roster.parse_json([{"name": "ana", "skills": ["billing"], "capacity": 1}]))
    store.drain_waiting()
    assert store.mirror.ticket(low).assignee == "ana"
