"""The notifier reading the kernel's typed events (services/common/contract/
events.py) as the tickets service and the router publish them: built here from
the dataclasses and dispatched on a real RabbitMQ vhost to the notifier's own
process, which sends through a real SMTP server and the local stand-in for
Twilio's REST API (conftest.py). The router runs for the agents' roster (get_agent)."""

from __future__ import annotations

import uuid

import pytest
from nameko.standalone.events import event_dispatcher

from services.common.contract.events import (
    Assignment,
    CustomerView,
    Event,
    Identity,
    MessageSnapshot,
    TicketCreated,
    TicketReplyAdded,
    TicketSnapshot,
    TicketUpdated,
)
from services.common.contract.vocabulary import ActorType, Priority, Status
from services.common.time.clock import iso, now
from testkit import api
from testkit.smtp_server import smtp_env
from testkit.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FAST = {"NOTIFIER_SEND_INTERVAL_SECONDS": "0.2", "NOTIFIER_SCHEDULE_SECONDS": "0.5", "RPC_TIMEOUT_SECONDS": "5",
        "NOTIFIER_CATCHUP_SECONDS": "3600"}
ANA = {"name": "ana", "display_name": "Ana Costa", "email": "ana.agent@support.example", "phone": "+351910000001",
       "whatsapp": "+351910000011", "skills": ["billing"], "capacity": 5}


@pytest.fixture
def notifier(services, rabbit, tmp_path, smtp, twilio):
    return services.start("notifier", DATABASE_URL=f"sqlite:///{tmp_path / 'notifier.db'}",
                          **smtp_env(smtp.port), **twilio.env(), **FAST)


@pytest.fixture
def dispatch(rabbit, notifier):
    """Publish an event as its producer's outbox relay does (envelope and all); returns it."""
    send = event_dispatcher({"AMQP_URI": rabbit.amqp_uri})
    for handler in ("ticket_created--notifier.on_ticket_created", "ticket_updated--notifier.on_ticket_updated",
                    "ticket_reply_added--notifier.on_reply_added"):
        wait_for(lambda h=handler: rabbit.queue(f"evt-tickets-{h}"), message=f"the notifier's queue {handler}")

    def publish(event: Event, envelope: dict | None = None) -> dict:
        payload = envelope or {"event_id": str(uuid.uuid4()), "event_type": event.event_type,
                               "occurred_at": iso(now()), **event.to_payload()}
        send(event.source, event.event_type, payload)
        return payload
    return publish


def snapshot(channel="email", assignee=None, priority=Priority.MEDIUM, version=1, **identities) -> TicketSnapshot:
    customer = CustomerView("Ana", False, tuple(Identity(k, v) for k, v in identities.items()))
    return TicketSnapshot(reference="C-2VVFXBBXSS", status=Status.NEW, priority=priority, channel=channel,
                          version=version, customer=customer, created_at=iso(now()), updated_at=iso(now()),
                          subject="Charged twice", category="billing", assignee=assignee)


def message(id=1, direction="in", channel="email", body="I was charged twice.", **fields) -> MessageSnapshot:
    return MessageSnapshot(id=id, direction=direction, channel=channel, created_at=iso(now()), body=body, **fields)


def created(ticket: TicketSnapshot) -> TicketCreated:
    return TicketCreated(ticket=ticket, intake_id=str(uuid.uuid4()), received_at=iso(now()),
                         message=message(channel=ticket.channel))


def notifications(notifier, **params) -> list[dict]:
    return api.get(f"{notifier.url}/notifications", params=params, timeout=5).json()["items"]


def metrics(notifier) -> str:
    return api.get(f"{notifier.url}/metrics", timeout=5).text


def test_one_assignment_alerts_the_agent_once_even_when_the_event_comes_twice(services, notifier, dispatch, smtp,
                                                                              twilio, rabbit, tmp_path):
    router = services.start("router", DATABASE_URL=f"sqlite:///{tmp_path / 'router.db'}")
    api.put(f"{router.url}/agents/ana", json=ANA, timeout=10).raise_for_status()
    dispatch(created(snapshot(email="ana@example.org")))
    assigned = TicketUpdated(ticket=snapshot(assignee="ana", version=2, email="ana@example.org"),
                             changes={"assignee": {"before": None, "after": "ana"}},
                             actor_type=ActorType.SYSTEM, actor="router",
                             assignment=Assignment(kind="assign", step="exact", rule="skills"))
    delivery = dispatch(assigned)
    dispatch(assigned, envelope=delivery)  # redelivered: the same event id

    mail = wait_for(lambda: [m for m in smtp.to("ana.agent@support.example") if "Assigned to you" in m["Subject"]],
                    timeout=20, message="the agent's alert")[0]
    assert "C-2VVFXBBXSS" in mail["Subject"] and "now yours (assign)" in mail.get_content()
    wait_for(lambda: 'complaints_notifications_events_total{event_type="ticket_updated"} 2.0' in metrics(notifier),
             message="both deliveries handled")
    wait_for(lambda: not notifications(notifier, status="pending"), message="everything sent")
    alerts = notifications(notifier, purpose="agent_assigned")
    assert sorted(a["channel"] for a in alerts) == ["email", "whatsapp"]       # one alert, on each of her channels
    assert len([m for m in smtp.to("ana.agent@support.example") if "Assigned to you" in m["Subject"]]) == 1
    assert len(twilio.sent(to="whatsapp:+351910000011")) == 1
    # The router's own assignment events are not followed: the tickets' ticket_updated is the one announcement.
    assert rabbit.queue("evt-router-ticket_assigned--notifier.on_assigned") is None
    assert rabbit.queue("evt-router-ticket_escalated--notifier.on_escalated") is not None


def test_an_agent_assigning_by_hand_is_a_manual_assignment(services, notifier, dispatch, smtp, tmp_path):
    router = services.start("router", DATABASE_URL=f"sqlite:///{tmp_path / 'router.db'}")
    api.put(f"{router.url}/agents/ana", json=ANA, timeout=10).raise_for_status()
    dispatch(TicketUpdated(ticket=snapshot(assignee="ana", version=2, email="ana@example.org"),
                           changes={"assignee": {"before": "bob", "after": "ana"}},
                           actor_type=ActorType.AGENT, actor="bob"))
    mail = wait_for(lambda: smtp.to("ana.agent@support.example"), timeout=20, message="the agent's alert")[0]
    assert "now yours (manual)" in mail.get_content()


def test_an_sms_customer_is_acknowledged_and_answered_by_sms(notifier, dispatch, twilio):
    ticket = snapshot(channel="sms", phone="+351912000123")
    dispatch(created(ticket))
    ack = wait_for(lambda: twilio.sent(to="+351912000123"), timeout=20, message="the SMS acknowledgement")[0]
    assert ack.form["From"] == "+15005550006" and "C-2VVFXBBXSS" in ack.form["Body"]
    assert ack.account == ack.auth[0]  # the Messages API of the configured account

    dispatch(TicketReplyAdded(ticket=ticket, message=message(id=2, direction="out", channel="sms", author="bob",
                                                             body="We refunded the second charge.")))
    reply = wait_for(lambda: twilio.sent(to="+351912000123")[1:], timeout=20, message="the SMS reply")[0]
    assert "We refunded the second charge." in reply.form["Body"]
    assert len(twilio.sent(to="+351912000123")) == 2 and not twilio.sent("Calls")


def test_a_malformed_event_is_counted_logged_once_with_its_fields_and_not_requeued(notifier, dispatch, rabbit):
    event = created(snapshot(email="ana@example.org"))
    good = event.to_payload()
    bad = {**good, "event_id": str(uuid.uuid4()), "event_type": "ticket_created",
           "ticket": {**good["ticket"], "status": "lost", "customer": {"identities": "ana@example.org"}}}
    dispatch(event, envelope=bad)

    wait_for(lambda: "complaints_notifications_bad_events_total 1.0" in metrics(notifier),
             message="the malformed event counted")
    queue = "evt-tickets-ticket_created--notifier.on_ticket_created"
    wait_for(lambda: rabbit.queue_depth(queue) == 0, message="the malformed event acked")
    errors = [line for line in notifier.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "malformed ticket_created" in errors[0]
    assert "ticket.status" in errors[0] and "ticket.customer.identities" in errors[0]
    assert not notifications(notifier)
