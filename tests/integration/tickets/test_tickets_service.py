"""The tickets service as it runs: its own process, a real RabbitMQ vhost, and
SQLite or PostgreSQL. Complaints go in through the broker exactly as an intake
sends them; what comes out is read through the HTTP API, RPC and the broker."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pika
import pytest
import requests

from services.common.contract.reference import reference_for
from services.common.messaging import topology
from services.common.messaging.publisher import ComplaintPublisher
from testkit import api
from testkit.complaints import web_complaint as complaint
from testkit.paths import ROOT
from testkit.waiting import wait_for


def ticket(service, reference):
    resp = api.get(f"{service.url}/tickets/{reference}", timeout=5)
    return resp.json() if resp.status_code == 200 else None


def start_tickets(services, rabbit, database_url, **env):
    return services.start("tickets", AMQP_URI=rabbit.amqp_uri, DATABASE_URL=database_url, **env)


def publish_raw(rabbit, *bodies: bytes, content_type="application/json",
                exchange=topology.COMPLAINTS_EXCHANGE) -> None:
    """Publish bytes as an intake would (confirms, topology declared first): the
    service's health answers before its consumer has necessarily declared it."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    topology.declare_with_pika(channel)
    for body in bodies:
        channel.basic_publish(exchange, topology.COMPLAINT_RECEIVED, body,
                              pika.BasicProperties(content_type=content_type, delivery_mode=2), mandatory=True)
    connection.close()


def tickets_with_one_ticket(services, rabbit, database_url):
    """A running tickets service and a complaint that has become a ticket in it."""
    tickets = start_tickets(services, rabbit, database_url)
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: ticket(tickets, c.reference), message="the ticket")
    return tickets, c


def test_a_message_delivered_three_times_is_one_ticket(database_url, rabbit, services):
    tickets = start_tickets(services, rabbit, database_url)
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    c = complaint()
    for _ in range(3):
        publisher.publish(c)
    found = wait_for(lambda: ticket(tickets, c.reference), message="the ticket")
    wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0 and
             "outcome=\"duplicate\"} 2.0" in api.get(f"{tickets.url}/metrics").text,
             message="all three deliveries consumed")
    assert found["subject"] == "Charged twice" and found["customer"]["email"] == "ana@example.org"
    assert len(ticket(tickets, c.reference)["messages"]) == 1
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 1


def test_a_complaint_sent_while_the_service_is_down_is_processed_when_it_starts(database_url, rabbit, services):
    # No tickets service has ever run on this vhost: the publisher declares the queue itself.
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    assert rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 1 or wait_for(
        lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 1, message="the complaint waiting in the queue")
    tickets = start_tickets(services, rabbit, database_url)
    assert wait_for(lambda: ticket(tickets, c.reference), message="the ticket")["status"] == "new"

    # And again after a stop: a restart loses nothing.
    tickets.stop()
    later = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(later)
    tickets = start_tickets(services, rabbit, database_url)
    wait_for(lambda: ticket(tickets, later.reference), message="the ticket sent while stopped")


def test_a_reply_carrying_the_reference_lands_on_the_same_ticket(database_url, rabbit, services):
    tickets = start_tickets(services, rabbit, database_url)
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    first = complaint()
    publisher.publish(first)
    wait_for(lambda: ticket(tickets, first.reference), message="the first ticket")
    reply = complaint(channel="email", subject=f"Re: Charged twice [{first.reference}]", body="Any news?",
                      category=None)
    publisher.publish(reply)
    thread = wait_for(lambda: (t := ticket(tickets, first.reference)) and len(t["messages"]) == 2 and t,
                      message="the reply on the first ticket")
    assert [m["channel"] for m in thread["messages"]] == ["web", "email"]
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 1
    # The customer may track the reply by the reference it was given: it leads to the same ticket.
    assert ticket(tickets, reply.reference)["reference"] == first.reference


def test_agents_work_tickets_through_the_http_api(tmp_path, rabbit, services):
    tickets, c = tickets_with_one_ticket(services, rabbit, f"sqlite:///{tmp_path / 'api.db'}")
    url = f"{tickets.url}/tickets/{c.reference}"
    agent = api.headers(agent="bob")   # the token the console signs for agent bob

    resp = api.patch(url, json={"status": "in_progress", "priority": "high"}, headers=agent)
    assert resp.status_code == 200 and resp.json()["status"] == "in_progress"
    resp = api.patch(url, json={"status": "closed"}, headers=agent)
    assert resp.status_code == 409 and "in_progress to closed" in resp.json()["detail"]
    resp = api.patch(url, json={"priority": "whenever"}, headers=agent)
    assert resp.status_code == 422 and "whenever" in resp.json()["detail"]
    # A bare header names nobody: the acting agent comes from the signed token only.
    resp = requests.patch(url, json={"status": "resolved"}, headers={"X-Agent": "bob"})
    assert resp.status_code == 401 and "Authorization: Bearer" in resp.json()["detail"]
    resp = api.patch(url, data="{not json", headers={**agent, "Content-Type": "application/json"})
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["detail"]

    assert api.post(f"{url}/assignee", json={"assignee": "alice"}, headers=agent).json()["assignee"] == "alice"
    resp = api.post(f"{url}/assignee", json={"assignee": "carol", "expected_assignee": None}, headers=agent)
    assert resp.status_code == 409
    assert api.post(f"{url}/notes", json={"body": "called the bank"}, headers=agent).status_code == 201
    assert api.delete(f"{url}/assignee", headers=agent).json()["assignee"] is None

    full = ticket(tickets, c.reference)
    assert full["notes"][0]["body"] == "called the bank"
    assert [a["action"] for a in full["audit"]] == ["created", "changed", "assigned", "note_added", "unassigned"]
    assert {a["actor"] for a in full["audit"][1:]} == {"bob"}

    listing = api.get(f"{tickets.url}/tickets", params={"status": "in_progress", "q": "order 1234"}).json()
    assert [t["reference"] for t in listing["items"]] == [c.reference]
    bad = api.get(f"{tickets.url}/tickets", params={"status": "sleeping"})
    assert bad.status_code == 400 and "sleeping" in bad.json()["detail"]
    assert api.get(f"{tickets.url}/tickets/C-0000000000").status_code == 404

    metrics = api.get(f"{tickets.url}/metrics").text
    assert 'complaints_tickets_open{priority="high",status="in_progress"} 1.0' in metrics


def test_events_reach_subscribers_from_the_outbox(tmp_path, rabbit, services):
    # A subscriber queue like the router's, bound before anything happens.
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("tickets.events", exchange_type="topic", durable=True)
    channel.queue_declare("test-subscriber", durable=True)
    for event in ("ticket_created", "ticket_updated"):
        channel.queue_bind("test-subscriber", "tickets.events", routing_key=event)
    tickets, c = tickets_with_one_ticket(services, rabbit, f"sqlite:///{tmp_path / 'ev.db'}")
    api.post(f"{tickets.url}/tickets/{c.reference}/assignee", json={"assignee": "alice"},
                  agent="sup")

    received = []

    def drain():
        method, _props, body = channel.basic_get("test-subscriber", auto_ack=True)
        if method:
            received.append((method.routing_key, json.loads(body)))
        return len(received) == 2

    wait_for(drain, message="two events")
    connection.close()
    (created_key, created), (updated_key, updated) = received
    assert created_key == "ticket_created" and created["ticket"]["reference"] == c.reference
    assert updated_key == "ticket_updated"
    assert updated["changes"]["assignee"] == {"before": None, "after": "alice"}
    assert created["event_id"] != updated["event_id"]


def test_an_invalid_message_is_quarantined_with_its_raw_content(tmp_path, rabbit, services):
    tickets = start_tickets(services, rabbit, f"sqlite:///{tmp_path / 'q.db'}")
    bad = {"schema_version": 1, "channel": "fax", "body": "hello"}
    publish_raw(rabbit, json.dumps(bad).encode())
    items = wait_for(lambda: api.get(f"{tickets.url}/quarantine").json()["items"], message="quarantine")
    assert "channel" in items[0]["reason"] and "fax" in items[0]["reason"]
    assert json.loads(items[0]["raw"]) == bad
    assert 'complaints_tickets_quarantined_total{reason="invalid_contract"} 1.0' in \
        api.get(f"{tickets.url}/metrics").text
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 0


def test_a_message_that_keeps_failing_is_dead_lettered_then_replayed(tmp_path, rabbit, services):
    db = tmp_path / "dl.db"
    # The watcher records what it finds and parks it again (no automatic replay here).
    tickets = start_tickets(services, rabbit, f"sqlite:///{db}", TICKETS_DB_RETRY_DELAYS="0.05",
                            TICKETS_DEAD_LETTER_CHECK_SECONDS="1", TICKETS_DEAD_LETTER_AUTO_REPLAYS="0")
    # Break the database under the running service: the messages table disappears.
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE messages RENAME TO messages_away")
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 1, timeout=90,
             message="the complaint parked in the dead-letter queue")
    assert rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0
    parked = rabbit.get_messages(topology.DEAD_LETTER_QUEUE)
    assert json.loads(parked[0]["payload"])["intake_id"] == c.intake_id

    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE messages_away RENAME TO messages")
    recorded = wait_for(lambda: api.get(f"{tickets.url}/dead-letters").json()["items"],
                        message="the watcher's record")
    assert recorded[0]["state"] == "park" and recorded[0]["reference"] == c.reference
    assert rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 1
    env = {**tickets.env, "AMQP_URI": rabbit.amqp_uri}
    subprocess.run([sys.executable, "-m", "services.tickets", "replay-dead-letters"], cwd=ROOT, env=env,
                   check=True, timeout=60)
    assert wait_for(lambda: ticket(tickets, c.reference), message="the replayed ticket")
    assert rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 0 or wait_for(
        lambda: rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 0, message="empty parking queue")


def test_intakes_read_the_public_view_over_rpc(tmp_path, rabbit, services):
    from nameko.standalone.rpc import ServiceRpcProxy

    tickets, c = tickets_with_one_ticket(services, rabbit, f"sqlite:///{tmp_path / 'rpc.db'}")
    api.post(f"{tickets.url}/tickets/{c.reference}/notes", json={"body": "internal only"},
                  agent="bob")
    with ServiceRpcProxy("tickets", {"AMQP_URI": rabbit.amqp_uri}, context_data=api.rpc_context(), timeout=10) as proxy:
        view = proxy.get_public_view(c.reference)
        missing = proxy.get_public_view("C-0000000000")
    assert view["status"] == "new" and view["messages"][0]["body"] == c.body
    assert "internal only" not in json.dumps(view)
    assert missing is None


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # requests must talk to the local services directly.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_undecodable_messages_are_dead_lettered_with_their_bytes(tmp_path, rabbit, services):
    tickets = start_tickets(services, rabbit, f"sqlite:///{tmp_path / 'u.db'}")
    publish_raw(rabbit, b"{broken json")
    publish_raw(rabbit, b"<xml/>", content_type="application/xml")
    # Quorum queues may take a few seconds to dead-letter a rejected message.
    wait_for(lambda: rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 2, timeout=90, message="both parked")
    parked = sorted(m["payload"] for m in rabbit.get_messages(topology.DEAD_LETTER_QUEUE))
    assert parked == ["<xml/>", "{broken json"]
    metrics = api.get(f"{tickets.url}/metrics").text
    assert 'complaints_tickets_quarantined_total{reason="undecodable"} 2.0' in metrics
    assert "complaints_tickets_dead_letters 2.0" in metrics
    # The service is still consuming.
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    wait_for(lambda: ticket(tickets, c.reference), message="a good complaint after the bad ones")


def test_a_follow_up_that_overtakes_its_first_message_still_joins_its_ticket(rabbit, services, tmp_path):
    """A chat or WhatsApp follow-up names the reference the customer was given; if it
    reaches tickets before the first message, it waits for that ticket instead of
    opening a second one."""
    tickets = start_tickets(services, rabbit, f"sqlite:///{tmp_path / 'overtake.db'}")
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    first = complaint(channel="chat", subject="", body="My order never came")
    follow_up = complaint(channel="chat", subject="", body="It was order 1234",
                          threading={"ticket_reference": first.reference})
    publisher.publish(follow_up)
    wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0, message="the follow-up taken")
    publisher.publish(first)
    found = wait_for(lambda: (t := ticket(tickets, first.reference)) and len(t["messages"]) == 2 and t,
                     timeout=20, message="both messages on the first ticket")
    assert [m["body"] for m in found["messages"]] == ["My order never came", "It was order 1234"]
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 1


# --- text no database can hold, and complaints that die anyway ---------------------


def raw_complaint(**overrides) -> dict:
    data = complaint().to_dict()
    data.update(overrides)
    return data


def test_text_with_lone_surrogates_and_nul_becomes_a_ticket_that_says_what_was_replaced(database_url, rabbit,
                                                                                       services):
    tickets = start_tickets(services, rabbit, database_url)
    data = raw_complaint(subject="Charged\u0000 twice", body="lone \ud800 surrogate and a NUL \u0000 here",
                         customer={"name": "J\udce9r\u00f4me", "email": "jerome@example.org"})
    # json.dumps writes the surrogate and NUL as \ud800 and \u0000 escapes: what a browser may send.
    publish_raw(rabbit, json.dumps(data).encode())
    found = wait_for(lambda: ticket(tickets, reference_for(data["intake_id"])), message="the ticket")
    assert found["messages"][0]["body"] == "lone \ufffd surrogate and a NUL \ufffd here"
    assert found["subject"] == "Charged\ufffd twice" and found["customer"]["name"] == "J\ufffdr\u00f4me"
    note = found["notes"][0]["body"]
    assert "replaced by \ufffd" in note
    assert "- body: lone \\ud800 surrogate and a NUL \\u0000 here" in note
    assert "- customer.name: J\\udce9r\\u00f4me" in note and "- subject: Charged\\u0000 twice" in note
    assert 'complaints_tickets_repaired_total{channel="web"} 1.0' in api.get(f"{tickets.url}/metrics").text


def test_a_complaint_the_database_refuses_as_received_becomes_a_ticket_with_its_raw_content(database_url, rabbit,
                                                                                           services):
    """An unforeseen refusal (here: a number JSON allows but PostgreSQL's json type does not)
    must not leave the customer's complaint dead: it becomes a ticket from an ASCII copy."""
    tickets = start_tickets(services, rabbit, database_url)
    data = raw_complaint(body="Caf\u00e9 closed on me", extras={"score": 1e999})
    publish_raw(rabbit, json.dumps(data).encode())  # "score": Infinity
    found = wait_for(lambda: ticket(tickets, reference_for(data["intake_id"])), message="the ticket")
    assert wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0, message="the queue drained")
    assert api.get(f"{tickets.url}/tickets").json()["total"] == 1
    if database_url.startswith("sqlite"):
        assert found["messages"][0]["body"] == "Caf\u00e9 closed on me" and not found["notes"]
        return
    assert found["messages"][0]["body"] == "Caf\\xe9 closed on me"
    notes = [n["body"] for n in found["notes"]]
    assert "could not be stored as it was received" in notes[0] and "Infinity" in notes[0]
    assert notes[1].startswith("Raw message as received:") and '"body": "Caf\\u00e9 closed on me"' in notes[1]
    assert "complaints_tickets_stored_as_ascii_total 1.0" in api.get(f"{tickets.url}/metrics").text


def test_a_dead_lettered_complaint_shows_as_delayed_and_is_replayed_once_the_database_is_back(tmp_path, rabbit,
                                                                                             services):
    from nameko.standalone.rpc import ServiceRpcProxy

    db = tmp_path / "watch.db"
    tickets = start_tickets(services, rabbit, f"sqlite:///{db}", TICKETS_DB_RETRY_DELAYS="0.05",
                            TICKETS_DEAD_LETTER_CHECK_SECONDS="1", TICKETS_DEAD_LETTER_AUTO_REPLAYS="1000")
    # Break the database under the running service: no change can be audited, so none commits.
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE audit RENAME TO audit_away")
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)

    def public_view():
        with ServiceRpcProxy("tickets", {"AMQP_URI": rabbit.amqp_uri}, context_data=api.rpc_context(),
                             timeout=10) as proxy:
            return proxy.get_public_view(c.reference)

    delayed = wait_for(public_view, timeout=90, message="the tracking view of the dead-lettered complaint")
    assert delayed["status"] == "delayed" and delayed["delayed_since"]
    listed = api.get(f"{tickets.url}/dead-letters").json()["items"]
    assert listed[0]["reference"] == c.reference and listed[0]["ticketed"] is False

    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE audit_away RENAME TO audit")
    assert wait_for(lambda: ticket(tickets, c.reference), timeout=90, message="the replayed ticket")
    assert public_view()["status"] == "new"
    assert wait_for(lambda: api.get(f"{tickets.url}/dead-letters").json()["items"][0]["ticketed"])
    assert 'complaints_tickets_dead_letters_moved_total{action="replay"}' in \
        api.get(f"{tickets.url}/metrics").text


def test_a_complaint_parked_by_the_old_code_for_its_surrogates_is_ticketed_by_a_replay(database_url, rabbit,
                                                                                      services):
    """Before the contract repaired text, such complaints died in the tickets insert and
    were parked; after the upgrade, a replay turns them into tickets."""
    tickets = start_tickets(services, rabbit, database_url, TICKETS_DEAD_LETTER_AUTO_REPLAYS="0")
    data = raw_complaint(body="lone \ud800 surrogate", customer={"name": "N\u0000b", "email": "nb@example.org"})
    publish_raw(rabbit, json.dumps(data).encode(), exchange=topology.DEAD_LETTER_EXCHANGE)
    subprocess.run([sys.executable, "-m", "services.tickets", "replay-dead-letters"], cwd=ROOT,
                   env={**tickets.env, "AMQP_URI": rabbit.amqp_uri}, check=True, timeout=60)
    found = wait_for(lambda: ticket(tickets, reference_for(data["intake_id"])), message="the replayed ticket")
    assert found["messages"][0]["body"] == "lone \ufffd surrogate" and "\\ud800" in found["notes"][0]["body"]
    assert rabbit.queue_depth(topology.DEAD_LETTER_QUEUE) == 0
