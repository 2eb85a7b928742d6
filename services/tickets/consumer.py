"""nameko @consume entrypoints whose unusable messages are parked, not dropped.

kombu's default for a body it cannot decode (broken JSON, a foreign content
type) is to log and ack it: the message would be gone. Here it is rejected
without requeue, so RabbitMQ moves it, bytes intact, to the queue's
dead-letter (parking) queue where an operator can see and inspect it.

`consume` is for complaints; `consume_events` for the router's decisions: its
handler also gets the event type (the message's AMQP type, else its routing
key) and may return PARK to reject a message that decoded but is not a valid
event, which requeueing could never fix.
"""

import logging
from functools import partial

from kombu import Connection
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from services.common.messaging import topology

from . import metrics

log = logging.getLogger("tickets")

PARK = "park"  # what a consume_events handler returns for a message to reject to its parking queue


class DeadLetteringQueueConsumer(QueueConsumer):
    def start(self):
        # A parking queue must exist before the first rejection, whoever declared
        # the work queue: without it RabbitMQ would drop dead letters.
        with Connection(self.amqp_uri) as connection:
            topology.kombu_dead_letter_queue()(connection.default_channel).declare()
            for provider in self._providers:
                for queue in getattr(provider, "also_declare", ()):
                    queue(connection.default_channel).declare()
        super().start()

    def on_decode_error(self, message, exc):
        log.error("undecodable message dead-lettered", extra={
            "content_type": message.content_type, "error": f"{type(exc).__name__}: {exc}"[:300]})
        metrics.QUARANTINED.labels("undecodable").inc()
        message.reject(requeue=False)


class DeadLetteringConsumer(Consumer):
    queue_consumer = DeadLetteringQueueConsumer()


class EventConsumer(DeadLetteringConsumer):
    def __init__(self, queues, **kwargs):
        """queues: the work queue first, then queues to declare with it (its parking queue)."""
        work, *self.also_declare = queues
        super().__init__(work, **kwargs)

    def handle_message(self, body, message):
        event_type = message.properties.get("type") or message.delivery_info.get("routing_key")
        try:
            self.container.spawn_worker(self, (body, event_type), {},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None and result == PARK:
            message.reject(requeue=False)
        else:
            super().handle_message_processed(message, result, exc_info)


consume = DeadLetteringConsumer.decorator
consume_events = EventConsumer.decorator
