"""The router as it runs: its own processes (two replicas), the tickets service,
a real RabbitMQ vhost and a real database. Complaints go in through the
broker; assignments are read back through the tickets API and `explain`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import requests

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.messaging.publisher import ComplaintPublisher
from testkit.paths import ROOT
from testkit.waiting import wait_for

SAMPLE_ROSTER = ROOT / "samples" / "roster.json"


def complaint(category="billing", **extra) -> ComplaintReceived:
    intake_id = new_intake_id()
    return ComplaintReceived.from_dict({
        "schema_version": 1, "intake_id": intake_id, "channel": "web", "external_id": intake_id,
        "received_at": utc_now_iso(), "customer": {"email": f"{intake_id[:8]}@example.org"},
        "subject": "Help", "body": "Something went wrong.", "category": category, **extra})


def assignee(tickets, reference):
    resp = requests.get(f"{tickets.url}/tickets/{reference}", timeout=5)
    return resp.json().get("assignee") if resp.ok else None


def start_system(services, database_url, routers=1):
    env = {"DATABASE_URL": database_url, "ROUTER_SWEEP_SECONDS": "0.5"}
    tickets = services.start("tickets", **env)
    started = [services.start("router", **env) for _ in range(routers)]
    return tickets, started


def test_two_routers_under_a_burst_never_over_assign(postgres_url, rabbit, services):
    # Several router replicas share PostgreSQL; SQLite is the single-process default.
    tickets, (router_a, router_b) = start_system(services, postgres_url, routers=2)
    agents = [{"name": f"agent{i}", "skills": ["billing"], "capacity": 4} for i in range(5)]
    requests.post(f"{router_a.url}/roster", json=agents, timeout=30).raise_for_status()

    publisher = ComplaintPublisher(rabbit.amqp_uri)
    burst = [complaint() for _ in range(30)]  # 30 tickets for 20 places
    for c in burst:
        publisher.publish(c)
    refs = [c.reference for c in burst]

    def settled():
        assigned = [assignee(tickets, r) for r in refs]
        waiting = requests.get(f"{router_a.url}/waiting").json()["items"]
        return (assigned.count(None) == 10 and len(waiting) == 10) and assigned

    assigned = wait_for(settled, timeout=60, interval=0.5, message="20 assigned, 10 waiting")
    per_agent = {a["name"]: assigned.count(a["name"]) for a in agents}
    assert per_agent == {a["name"]: 4 for a in agents}  # full, never over
    roster = {a["name"]: a for a in requests.get(f"{router_b.url}/agents").json()["items"]}
    assert all(roster[name]["load"] == 4 for name in per_agent)
    for ref in refs:
        kinds = [d["kind"] for d in requests.get(f"{router_b.url}/tickets/{ref}/explain").json()["decisions"]]
        assert kinds.count("assign") == (1 if assignee(tickets, ref) else 0), (ref, kinds)

    # Capacity frees up: resolving one ticket lets a waiting one in, on either replica.
    done = next(r for r, a in zip(refs, assigned, strict=True) if a)
    requests.patch(f"{tickets.url}/tickets/{done}", json={"status": "resolved"},
                   headers={"X-Agent": "bob"}).raise_for_status()
    wait_for(lambda: [assignee(tickets, r) for r in refs].count(None) == 9, timeout=30,
             message="one waiting ticket assigned after a resolution")


def test_sample_roster_vacation_and_explain(tmp_path, rabbit, services):
    tickets, (router,) = start_system(services, f"sqlite:///{tmp_path / 'r.db'}")
    resp = requests.post(f"{router.url}/roster", json=json.loads(SAMPLE_ROSTER.read_text()), timeout=30)
    assert resp.status_code == 200, resp.text

    publisher = ComplaintPublisher(rabbit.amqp_uri)
    pt_delivery = complaint("delivery", region="pt", language="pt")
    publisher.publish(pt_delivery)
    first = wait_for(lambda: assignee(tickets, pt_delivery.reference), message="assignment")
    roster = {a["name"]: a for a in requests.get(f"{router.url}/agents").json()["items"]}
    assert "delivery" in roster[first]["skills"] and "pt" in roster[first]["regions"]

    explained = requests.get(f"{router.url}/tickets/{pt_delivery.reference}/explain").json()
    decision = explained["decisions"][0]
    assert decision["winner"] == first and decision["kind"] == "assign"
    assert {c["agent"] for c in decision["candidates"]} == set(roster)
    assert all(c["failed_rule"] for c in decision["candidates"] if c["agent"] != first and not c["eligible"])

    # The agent goes on vacation: their ticket moves to someone else, explained.
    now = datetime.now(UTC)
    resp = requests.post(f"{router.url}/agents/{first}/vacations", json={
        "starts_at": (now - timedelta(minutes=1)).isoformat(), "ends_at": (now + timedelta(days=3)).isoformat(),
        "note": "holiday"})
    assert resp.status_code == 201, resp.text
    second = wait_for(lambda: (a := assignee(tickets, pt_delivery.reference)) != first and a,
                      timeout=30, message="the handover")
    handover = requests.get(f"{router.url}/tickets/{pt_delivery.reference}/explain").json()["decisions"][0]
    assert handover["kind"] == "handover" and handover["winner"] == second
    assert f"{first} is on vacation" in handover["rule"]
    audit = requests.get(f"{tickets.url}/tickets/{pt_delivery.reference}").json()["audit"]
    assert [a["changes"]["assignee"]["after"] for a in audit if a["action"] == "assigned"] == [first, second]

    # Bad roster input is refused with every field named.
    bad = requests.put(f"{router.url}/agents/zed", json={"capacity": "lots", "status": "sleeping"})
    assert bad.status_code == 422 and "capacity" in bad.json()["detail"] and "status" in bad.json()["detail"]
    metrics = requests.get(f"{router.url}/metrics").text
    assert 'complaints_routing_decisions_total{kind="assign",outcome="assigned"}' in metrics
    assert f'complaints_agent_load{{agent="{second}"}} 1.0' in metrics


def test_tickets_created_before_the_router_started_are_adopted(tmp_path, rabbit, services):
    db = f"sqlite:///{tmp_path / 'late.db'}"
    tickets = services.start("tickets", DATABASE_URL=db)
    early = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(early)
    wait_for(lambda: requests.get(f"{tickets.url}/tickets/{early.reference}").ok, message="the ticket")
    router = services.start("router", DATABASE_URL=db, ROUTER_SWEEP_SECONDS="0.5", ROUTER_RECONCILE_SECONDS="1")
    requests.put(f"{router.url}/agents/alice", json={"skills": ["billing"], "capacity": 3}).raise_for_status()
    assert wait_for(lambda: assignee(tickets, early.reference), timeout=30, message="adoption") == "alice"
