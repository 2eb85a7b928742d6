"""Where a subject's erasure travels on RabbitMQ, declared once for both sides.

The tickets service writes SubjectErasureRequested to its outbox; it is relayed to
`tickets.events` (routing key subject_erasure_requested) and reaches each other
service holding personal data on a queue of its own, `privacy.erasures.<service>`.
The tickets service declares those queues before it publishes, so a request made
while a service is down waits for it. Each service does its part, commits, then
publishes SubjectErasureCompleted to `privacy.events` with confirms (mandatory;
`tickets.erasure_reports` is declared with it), and only then acks the request: a
crash in between repeats the (idempotent) erasure, never loses it.

A request whose handling keeps failing is parked in `privacy.parked` after
DELIVERY_LIMIT attempts; the coordinator announces every unfinished request again
(PRIVACY_REANNOUNCE_SECONDS) until each service has answered.
"""

from __future__ import annotations

import os

from services.common import registry
from services.common.contract.events import SubjectErasureCompleted, SubjectErasureRequested
from services.common.messaging.outbox_rows import event_row
from services.common.messaging.topology import DELIVERY_LIMIT

TICKETS_EXCHANGE = "tickets.events"
PRIVACY_EXCHANGE = "privacy.events"
REQUESTED = SubjectErasureRequested.event_type
COMPLETED = SubjectErasureCompleted.event_type
REPORTS_QUEUE = "tickets.erasure_reports"
PARKING_EXCHANGE = PARKING_QUEUE = "privacy.parked"
COORDINATOR = "tickets"


def expected_services(environ=os.environ) -> tuple[str, ...]:
    """The services an erasure waits for: PRIVACY_SERVICES (comma-separated, for an
    installation that runs only some intakes), else every one the registry says holds
    personal data. The coordinator is always one."""
    given = [n.strip() for n in environ.get("PRIVACY_SERVICES", "").split(",") if n.strip()]
    names = given or registry.with_personal_data()
    unknown = [n for n in names if n not in registry.BY_NAME or not registry.BY_NAME[n].personal_data]
    if unknown:
        raise ValueError(f"PRIVACY_SERVICES names {', '.join(unknown)}, which hold no personal data "
                         f"(those that do: {', '.join(registry.with_personal_data())})")
    return tuple(dict.fromkeys([COORDINATOR, *names]))


def consumers(environ=os.environ) -> tuple[str, ...]:
    """The services that take requests from a queue (all but the coordinator)."""
    return tuple(n for n in expected_services(environ) if n != COORDINATOR)


def _queue_arguments() -> dict:
    return {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": PARKING_EXCHANGE}


def request_queue(service: str):
    """The service's queue of erasure requests, as a kombu Queue (bound to tickets.events)."""
    from kombu import Exchange, Queue

    exchange = Exchange(TICKETS_EXCHANGE, type="topic", durable=True)
    return Queue(f"privacy.erasures.{service}", exchange, routing_key=REQUESTED, durable=True,
                 queue_arguments=_queue_arguments())


def parking_queue():
    from kombu import Exchange, Queue

    return Queue(PARKING_QUEUE, Exchange(PARKING_EXCHANGE, type="fanout", durable=True), durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def reports_queue():
    from kombu import Exchange, Queue

    exchange = Exchange(PRIVACY_EXCHANGE, type="topic", durable=True)
    return Queue(REPORTS_QUEUE, exchange, routing_key=COMPLETED, durable=True, queue_arguments=_queue_arguments())


def coordinator_queues() -> list:
    """What the tickets service declares before relaying a request: every consumer's
    queue, the reports queue it reads, and the parking queue."""
    return [parking_queue(), reports_queue(), *(request_queue(s) for s in consumers())]


class ReportPublisher:
    """Publishes a service's SubjectErasureCompleted with confirms; raises when the
    broker did not take it (the request then goes back to its queue)."""

    def __init__(self, amqp_uri: str):
        import warnings

        from kombu import Exchange

        with warnings.catch_warnings():  # nameko imports eventlet, which warns about itself; unused here
            warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
            from nameko.amqp.publish import Publisher

        self.exchange = Exchange(PRIVACY_EXCHANGE, type="topic", durable=True)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True,
                                   declare=[self.exchange, parking_queue(), reports_queue()])

    def publish(self, event: SubjectErasureCompleted, at) -> None:
        payload = event_row(COMPLETED, event.to_payload(), at)["payload"]
        self.publisher.publish(payload, exchange=self.exchange, routing_key=COMPLETED,
                               message_id=payload["event_id"], type=COMPLETED, serializer="json")
