"""The tickets service applying the router's decisions from the tickets.assignments
queue, as it runs: its own process, a real RabbitMQ vhost, SQLite or PostgreSQL.
Decisions are published here as the router publishes them (TicketAssigned on
router.events, routing key ticket_assigned)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pika
import pytest
from kombu import Connection

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.contract.events import Assignment, TicketAssigned, TicketUnassigned
from services.common.messaging import topology
from services.common.messaging.outbox_rows import event_row
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api


def poll(predicate, timeout=15.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def publish(rabbit, event_type: str, payload, routing_key=None) -> None:
    """As the router's relay does: queues declared first, confirms, mandatory, type set."""
    with Connection(rabbit.amqp_uri) as conn:
        for queue in topology.kombu_assignments_queues():
            queue(conn.default_channel).declare()
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    channel.basic_publish(topology.ROUTER_EVENTS_EXCHANGE, routing_key or event_type, body,
                          pika.BasicProperties(content_type="application/json", delivery_mode=2, type=event_type),
                          mandatory=True)
    connection.close()


def decision(event) -> dict:
    return event_row(event.event_type, event.to_payload(), datetime.now(UTC))["payload"]


def ticket(tickets, reference) -> dict | None:
    resp = api.get(f"{tickets.url}/tickets/{reference}", timeout=5)
    return resp.json() if resp.status_code == 200 else None


def counted(tickets, outcome) -> float:
    return gauge(tickets, f'complaints_tickets_assignments_total{{outcome="{outcome}"}}')


def gauge(tickets, sample) -> float:
    for line in api.get(f"{tickets.url}/metrics", timeout=5).text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def running(database_url, rabbit, services):
    tickets = services.start("tickets", DATABASE_URL=database_url)
    data = {"schema_version": 1, "intake_id": new_intake_id(), "channel": "web", "received_at": utc_now_iso(),
            "customer": {"name": "Ana", "email": "ana@example.org"}, "subject": "Charged twice",
            "body": "I was charged twice.", "category": "billing"}
    c = ComplaintReceived.from_dict({**data, "external_id": data["intake_id"]})
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    poll(lambda: ticket(tickets, c.reference), message="the ticket")
    return tickets, c.reference


def assigned(reference, assignee, previous=None):
    return TicketAssigned(reference=reference, assignee=assignee, previous=previous,
                          assignment=Assignment(kind="ranked", step="exact"), priority="medium", channel="web")


def test_a_decision_delivered_twice_assigns_once_and_logs_no_error(running, rabbit):
    tickets, reference = running
    event = decision(assigned(reference, "ana"))
    publish(rabbit, "ticket_assigned", event)
    publish(rabbit, "ticket_assigned", event)  # the same decision again (a redelivery, a re-announcement)
    poll(lambda: counted(tickets, "applied") == 1 and counted(tickets, "no_op") == 1, message="both outcomes")
    shown = ticket(tickets, reference)
    assert shown["assignee"] == "ana"
    assert [a["action"] for a in shown["audit"]].count("assigned") == 1
    assert shown["audit"][-1]["actor"] == "router"
    assert " ERROR " not in tickets.log() and "Traceback" not in tickets.log()


def test_an_agents_choice_wins_over_a_late_decision_and_the_router_may_take_it_back(running, rabbit):
    tickets, reference = running
    api.post(f"{tickets.url}/tickets/{reference}/assignee", json={"assignee": "carla"},
                  agent="carla", timeout=5).raise_for_status()
    publish(rabbit, "ticket_assigned", decision(assigned(reference, "ana")))
    poll(lambda: counted(tickets, "superseded") == 1, message="superseded")
    assert ticket(tickets, reference)["assignee"] == "carla"
    publish(rabbit, "ticket_unassigned", decision(TicketUnassigned(reference=reference, previous="carla",
                                                                   reason="absent")))
    poll(lambda: ticket(tickets, reference)["assignee"] is None, message="unassigned")
    assert " ERROR " not in tickets.log()


def test_a_malformed_decision_is_counted_logged_once_and_parked_whole(running, rabbit):
    tickets, reference = running
    bad = decision(assigned(reference, "ana"))
    del bad["assignee"]
    bad["priority"] = "whenever"
    publish(rabbit, "ticket_assigned", bad)
    poll(lambda: counted(tickets, "malformed") == 1, message="malformed counted")
    errors = [line for line in tickets.log().splitlines() if "router decision unusable" in line]
    assert len(errors) == 1 and "assignee" in errors[0] and "priority" in errors[0]
    # Operators see it waiting (ComplaintsRouterDecisionsParked alerts on this gauge).
    poll(lambda: gauge(tickets, "complaints_tickets_assignments_parked") == 1, message="parked decision gauge")
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_uri))
    channel = connection.channel()
    method, _props, body = poll(lambda: (lambda got: got if got[0] else None)(
        channel.basic_get(topology.ASSIGNMENTS_PARKING_QUEUE, auto_ack=True)), message="the parked decision")
    connection.close()
    assert json.loads(body) == bad
    assert ticket(tickets, reference)["assignee"] is None
