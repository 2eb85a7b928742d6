"""RabbitMQ names and queue arguments, defined once for publishers and consumers.

The intakes declare the complaints queue themselves before publishing (and
publish with mandatory): a complaint sent while the tickets service has never
run waits in the queue instead of vanishing in an exchange with no binding.

The queue is a quorum queue (replicated on a RabbitMQ cluster) with a delivery
limit: a message whose handler keeps failing is dead-lettered to a parking
queue after DELIVERY_LIMIT attempts instead of looping forever or being
dropped. Both sides must declare it with exactly these arguments.
"""

from __future__ import annotations

import os

COMPLAINTS_EXCHANGE = "complaints"
COMPLAINT_RECEIVED = "complaint.received"
COMPLAINTS_QUEUE = "tickets.complaints"

DEAD_LETTER_EXCHANGE = "complaints.dead"
DEAD_LETTER_QUEUE = "tickets.complaints.dead"

DELIVERY_LIMIT = int(os.environ.get("COMPLAINTS_DELIVERY_LIMIT", 5))


def complaints_queue_arguments() -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": COMPLAINT_RECEIVED,
    }


def dead_letter_queue_arguments() -> dict:
    return {"x-queue-type": "quorum"}


def declare_with_pika(channel) -> None:
    """Declare exchanges, queues and bindings on a pika channel (idempotent)."""
    channel.exchange_declare(COMPLAINTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True, arguments=dead_letter_queue_arguments())
    channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, routing_key="#")
    channel.queue_declare(COMPLAINTS_QUEUE, durable=True, arguments=complaints_queue_arguments())
    channel.queue_bind(COMPLAINTS_QUEUE, COMPLAINTS_EXCHANGE, routing_key=COMPLAINT_RECEIVED)


def kombu_complaints_queue():
    """The same queue as a kombu Queue, for nameko's @consume."""
    from kombu import Exchange, Queue

    exchange = Exchange(COMPLAINTS_EXCHANGE, type="topic", durable=True)
    return Queue(COMPLAINTS_QUEUE, exchange, routing_key=COMPLAINT_RECEIVED, durable=True,
                 queue_arguments=complaints_queue_arguments())


def kombu_dead_letter_queue():
    from kombu import Exchange, Queue

    dead = Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)
    return Queue(DEAD_LETTER_QUEUE, dead, routing_key="#", durable=True,
                 queue_arguments=dead_letter_queue_arguments())
