"""nameko side of the outbox: publishes a service's outbox rows to its
`<service>.events` exchange, confirms and mandatory on, and checks the broker."""

from __future__ import annotations

from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter

from services.common.messaging import outbox

EVENTS = Counter("complaints_events_total",
                 "Events relayed from a service's outbox, by source, type and outcome "
                 "(published; unrouted: no subscriber queue bound yet)", ["source", "event_type", "outcome"])


class EventRelay(DependencyProvider):
    def __init__(self, source: str, declare=lambda: []):
        """declare: a function returning kombu entities (queues with their bindings) that must
        exist before the first publish, e.g. a subscriber's queue that has to keep events
        published while that subscriber is down (topology.kombu_assignments_queues)."""
        self.source = source
        self.declare = declare

    def setup(self):
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.exchange = get_event_exchange(self.source, config)
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, mandatory=True,
                                   declare=[self.exchange, *self.declare()], retry=False)
        self.lock = Semaphore()

    def publish(self, event_type: str, payload: dict) -> None:
        try:
            self.publisher.publish(payload, exchange=self.exchange, routing_key=event_type,
                                   message_id=payload["event_id"], type=event_type)
            EVENTS.labels(self.source, event_type, "published").inc()
        except UndeliverableMessage:
            EVENTS.labels(self.source, event_type, "unrouted").inc()

    def relay(self, engine, table) -> int:
        with self.lock:  # the timer and post-commit triggers must not send a row twice
            return outbox.relay(engine, table, self.publish)

    def ping(self) -> None:
        with Connection(self.amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)

    def queue_depth(self, queue) -> int:
        """Messages in a queue (declared passively), e.g. a dead-letter queue for metrics."""
        with Connection(self.amqp_uri, connect_timeout=2) as conn:
            return queue(conn.default_channel).queue_declare(passive=True).message_count

    def get_dependency(self, worker_ctx):
        return self
