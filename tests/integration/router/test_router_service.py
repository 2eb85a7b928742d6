"""The router as it runs: its own processes (two replicas), the tickets service,
a real RabbitMQ vhost and a real database. Complaints go in through the broker
(or tickets events straight onto tickets.events); the router's decisions are read
where it announces them (router.events: a spy queue, and the tickets.assignments
queue it declares) and through `explain`."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kombu import Connection, Exchange, Queue, binding

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.contract.events import (
    CustomerView,
    MessageSnapshot,
    TicketAssigned,
    TicketCreated,
    TicketSnapshot,
    received,
)
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.paths import ROOT
from testkit.waiting import wait_for

SAMPLE_ROSTER = ROOT / "samples" / "roster.json"
SPY = "test.spy.router.events"


def complaint(category="billing", **extra) -> ComplaintReceived:
    intake_id = new_intake_id()
    return ComplaintReceived.from_dict({
        "schema_version": 1, "intake_id": intake_id, "channel": "web", "external_id": intake_id,
        "received_at": utc_now_iso(), "customer": {"email": f"{intake_id[:8]}@example.org"},
        "subject": "Help", "body": "Something went wrong.", "category": category, **extra})


def spy_on_router_events(rabbit):
    """A queue of our own bound to everything the router publishes, declared before it starts."""
    router = Exchange(topology.ROUTER_EVENTS_EXCHANGE, type="topic", durable=True)
    with Connection(rabbit.amqp_uri) as conn:
        Queue(SPY, bindings=[binding(router, routing_key="#")], durable=True)(conn.default_channel).declare()


def published(rabbit, queue=SPY, event_type="ticket_assigned") -> list[TicketAssigned]:
    """The router's events of one type in a queue (read and put back), validated."""
    messages = rabbit.get_messages(queue, count=10_000)
    return [received(TicketAssigned, json.loads(m["payload"])).event for m in messages
            if m["properties"].get("type", m["routing_key"]) == event_type]


def assignments(rabbit) -> dict[str, list[str]]:
    """reference -> the assignees the router announced for it, in order."""
    out: dict[str, list[str]] = {}
    for event in published(rabbit):
        out.setdefault(event.reference, []).append(event.assignee)
    return out


def explained(router, reference):
    return api.get(f"{router.url}/tickets/{reference}/explain", timeout=5).json()


def no_errors(*processes):
    for proc in processes:
        assert " ERROR " not in proc.log() and "Traceback" not in proc.log(), proc.log()[-3000:]


def start_system(services, rabbit, database_url, routers=1):
    spy_on_router_events(rabbit)
    env = {"DATABASE_URL": database_url, "ROUTER_SWEEP_SECONDS": "0.5"}
    tickets = services.start("tickets", **env)
    started = [services.start("router", **env) for _ in range(routers)]
    return tickets, started


def test_two_routers_under_a_burst_never_over_assign_and_announce_each_decision_once(postgres_url, rabbit,
                                                                                       services):
    # Several router replicas share PostgreSQL; SQLite is the single-process default.
    tickets, (router_a, router_b) = start_system(services, rabbit, postgres_url, routers=2)
    agents = [{"name": f"agent{i}", "skills": ["billing"], "capacity": 4} for i in range(5)]
    api.post(f"{router_a.url}/roster", json=agents, timeout=30).raise_for_status()

    publisher = ComplaintPublisher(rabbit.amqp_uri)
    burst = [complaint() for _ in range(30)]  # 30 tickets for 20 places
    for c in burst:
        publisher.publish(c)
    refs = [c.reference for c in burst]

    def settled():
        announced = assignments(rabbit)
        waiting = api.get(f"{router_a.url}/waiting").json()["items"]
        return (len(announced) == 20 and len(waiting) == 10) and announced

    announced = wait_for(settled, timeout=60, interval=0.5, message="20 assigned, 10 waiting")
    assert all(len(names) == 1 for names in announced.values()), announced  # one event per decision
    per_agent = Counter(names[0] for names in announced.values())
    assert per_agent == {a["name"]: 4 for a in agents}  # full, never over
    roster = {a["name"]: a for a in api.get(f"{router_b.url}/agents").json()["items"]}
    assert all(roster[name]["load"] == 4 for name in per_agent)
    for ref in refs:
        kinds = [d["kind"] for d in explained(router_b, ref)["decisions"]]
        assert kinds.count("assign") == (1 if ref in announced else 0), (ref, kinds)

    # Capacity frees up: resolving one ticket lets a waiting one in, on either replica.
    done = next(iter(announced))
    api.patch(f"{tickets.url}/tickets/{done}", json={"status": "resolved"},
                   agent="bob").raise_for_status()
    wait_for(lambda: len(assignments(rabbit)) == 21, timeout=30, message="one waiting ticket assigned")
    no_errors(router_a, router_b)


def test_sample_roster_vacation_and_explain(tmp_path, rabbit, services):
    tickets, (router,) = start_system(services, rabbit, f"sqlite:///{tmp_path / 'r.db'}")
    resp = api.post(f"{router.url}/roster", json=json.loads(SAMPLE_ROSTER.read_text()), timeout=30)
    assert resp.status_code == 200, resp.text

    publisher = ComplaintPublisher(rabbit.amqp_uri)
    pt_delivery = complaint("delivery", region="pt", language="pt")
    publisher.publish(pt_delivery)
    [first] = wait_for(lambda: assignments(rabbit).get(pt_delivery.reference), message="assignment")
    roster = {a["name"]: a for a in api.get(f"{router.url}/agents").json()["items"]}
    assert "delivery" in roster[first]["skills"] and "pt" in roster[first]["regions"]

    decision = explained(router, pt_delivery.reference)["decisions"][0]
    assert decision["winner"] == first and decision["kind"] == "assign"
    assert {c["agent"] for c in decision["candidates"]} == set(roster)
    assert all(c["failed_rule"] for c in decision["candidates"] if c["agent"] != first and not c["eligible"])

    # The agent goes on vacation: their ticket moves to someone else, explained and announced.
    now = datetime.now(UTC)
    resp = api.post(f"{router.url}/agents/{first}/vacations", json={
        "starts_at": (now - timedelta(minutes=1)).isoformat(), "ends_at": (now + timedelta(days=3)).isoformat(),
        "note": "holiday"})
    assert resp.status_code == 201, resp.text
    first_, second = wait_for(lambda: len(a := assignments(rabbit)[pt_delivery.reference]) == 2 and a,
                              timeout=30, message="the handover")
    handover = explained(router, pt_delivery.reference)["decisions"][0]
    assert handover["kind"] == "handover" and handover["winner"] == second != first
    assert f"{first} is on vacation" in handover["rule"]
    event = published(rabbit)[-1]
    assert (event.previous, event.assignment.kind) == (first, "handover")

    # Bad roster input is refused with every field named.
    bad = api.put(f"{router.url}/agents/zed", json={"capacity": "lots", "status": "sleeping"})
    assert bad.status_code == 422 and "capacity" in bad.json()["detail"] and "status" in bad.json()["detail"]
    metrics = api.get(f"{router.url}/metrics").text
    assert 'complaints_routing_decisions_total{kind="assign",outcome="assigned"}' in metrics
    assert f'complaints_agent_load{{agent="{second}"}} 1.0' in metrics
    no_errors(router)


def test_tickets_created_before_the_router_started_are_adopted(tmp_path, rabbit, services):
    spy_on_router_events(rabbit)
    db = f"sqlite:///{tmp_path / 'late.db'}"
    tickets = services.start("tickets", DATABASE_URL=db)
    early = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(early)
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{early.reference}").ok, message="the ticket")
    router = services.start("router", DATABASE_URL=db, ROUTER_SWEEP_SECONDS="0.5", ROUTER_RECONCILE_SECONDS="1")
    api.put(f"{router.url}/agents/alice", json={"skills": ["billing"], "capacity": 3}).raise_for_status()
    assert wait_for(lambda: assignments(rabbit).get(early.reference), timeout=30, message="adoption") == ["alice"]


def tickets_event(rabbit, payload: dict) -> None:
    """Publish a tickets event as the tickets service's relay does."""
    exchange = Exchange("tickets.events", type="topic", durable=True)
    with Connection(rabbit.amqp_uri) as conn:
        conn.Producer(serializer="json").publish(payload, exchange=exchange, routing_key=payload["event_type"],
                                                 declare=[exchange])


def test_a_decision_waits_in_the_assignments_queue_once_however_often_its_event_comes(tmp_path, rabbit,
                                                                                        services):
    """The router alone (the tickets service down): a ticket_created delivered three times
    (a redelivery) gives one decision, one TicketAssigned waiting in tickets.assignments
    for the tickets service, and no ERROR."""
    router = services.start("router", DATABASE_URL=f"sqlite:///{tmp_path / 'alone.db'}")
    api.put(f"{router.url}/agents/ines", json={"skills": ["billing"], "regions": ["pt"], "capacity": 1}
                 ).raise_for_status()
    api.put(f"{router.url}/agents/uma", json={"skills": ["billing"], "capacity": 9}).raise_for_status()
    wait_for(lambda: rabbit.queue("evt-tickets-ticket_created--router.on_ticket_created"), message="its queue")
    at = datetime.now(UTC).isoformat()
    ticket = TicketSnapshot(reference="C-PT00000001", status="new", priority="medium", channel="sms", version=1,
                            customer=CustomerView(), created_at=at, updated_at=at, category="billing", region="pt",
                            region_source="phone +351 (PT)")
    event = TicketCreated(ticket=ticket, intake_id=str(uuid.uuid4()), received_at=at,
                          message=MessageSnapshot(id=1, direction="in", channel="sms", created_at=at, body="Olá"))
    payload = {"event_id": str(uuid.uuid4()), "event_type": event.event_type, "occurred_at": at,
               **event.to_payload()}
    for _ in range(3):
        tickets_event(rabbit, payload)
    # Then another ticket's event: once it is decided, the three deliveries before it were handled.
    marker = replace(ticket, reference="C-PT00000002", region=None, region_source=None)
    tickets_event(rabbit, {**payload, "event_id": str(uuid.uuid4()), **replace(event, ticket=marker).to_payload()})
    wait_for(lambda: api.get(f"{router.url}/tickets/C-PT00000002/explain").ok, message="the second decision")
    time.sleep(1)
    wait_for(lambda: len(published(rabbit, topology.ASSIGNMENTS_QUEUE)) >= 2, timeout=20, message="the decisions")
    [decision, second] = published(rabbit, topology.ASSIGNMENTS_QUEUE)
    assert second.reference == "C-PT00000002" and second.assignee == "uma"
    assert (decision.reference, decision.assignee, decision.previous) == ("C-PT00000001", "ines", None)
    explanation = explained(router, "C-PT00000001")
    assert (explanation["region"], explanation["region_source"]) == ("pt", "phone +351 (PT)")
    assert [d["kind"] for d in explanation["decisions"]] == ["assign"]
    no_errors(router)


def test_a_confidential_complaint_goes_to_a_member_of_the_group_and_only_they_see_why(tmp_path, rabbit, services):
    tickets, (router,) = start_system(services, rabbit, f"sqlite:///{tmp_path / 'conf.db'}")
    for name, groups in (("abe", []), ("carla", ["confidential"])):
        resp = api.put(f"{router.url}/agents/{name}", json={"skills": ["billing"], "capacity": 5, "groups": groups})
        assert resp.status_code == 200 and resp.json()["groups"] == groups
    case = complaint(confidential=True)
    ComplaintPublisher(rabbit.amqp_uri).publish(case)
    assert wait_for(lambda: assignments(rabbit).get(case.reference), message="the assignment") == ["carla"]
    url = f"{router.url}/tickets/{case.reference}/explain"
    assert api.get(url, agent="abe", role="supervisor").status_code == 404
    reasons = {c["agent"]: c["detail"] for c in api.get(url, agent="carla", groups=["confidential"]).json()[
        "decisions"][0]["candidates"]}
    assert reasons["abe"] == "abe is not in the confidential group 'confidential'"
    wait_for(lambda: api.get(f"{tickets.url}/tickets/{case.reference}", groups=["confidential"]).json()[
        "assignee"] == "carla", message="the tickets service applying it")
    no_errors(router, tickets)
