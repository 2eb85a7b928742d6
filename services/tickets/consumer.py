"""A nameko @consume whose undecodable messages are dead-lettered, not dropped.

kombu's default for a body it cannot decode (broken JSON, a foreign content
type) is to log and ack it: the message would be gone. Here it is rejected
without requeue, so RabbitMQ moves it, bytes intact, to the dead-letter queue
where an operator can see and inspect it.
"""

import logging

from kombu import Connection
from nameko.messaging import Consumer, QueueConsumer

from services.common.messaging import topology

from . import metrics

log = logging.getLogger("tickets")


class DeadLetteringQueueConsumer(QueueConsumer):
    def start(self):
        # The parking queue must exist before the first rejection, whoever
        # declared the work queue: without it RabbitMQ would drop dead letters.
        with Connection(self.amqp_uri) as connection:
            topology.kombu_dead_letter_queue()(connection.default_channel).declare()
        super().start()

    def on_decode_error(self, message, exc):
        log.error("undecodable message dead-lettered", extra={
            "content_type": message.content_type, "error": f"{type(exc).__name__}: {exc}"[:300]})
        metrics.QUARANTINED.labels("undecodable").inc()
        message.reject(requeue=False)


class DeadLetteringConsumer(Consumer):
    queue_consumer = DeadLetteringQueueConsumer()


consume = DeadLetteringConsumer.decorator
