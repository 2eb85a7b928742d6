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


# --- the router's decisions, on their way to the tickets service ---------------------------
# The router publishes TicketAssigned / TicketUnassigned on its `router.events` exchange
# (nameko's event exchange: topic, durable). The tickets service applies them from this
# queue, which both sides declare (the router before it publishes with mandatory), so a
# decision made while tickets is down waits here instead of reaching no queue. A decision
# whose handling keeps failing is parked in ASSIGNMENTS_PARKING_QUEUE after DELIVERY_LIMIT
# attempts; the router's reconcile announces again what tickets does not show.

ROUTER_EVENTS_EXCHANGE = "router.events"
ASSIGNMENT_EVENTS = ("ticket_assigned", "ticket_unassigned")
ASSIGNMENTS_QUEUE = "tickets.assignments"
ASSIGNMENTS_PARKING_EXCHANGE = "tickets.assignments.dead"
ASSIGNMENTS_PARKING_QUEUE = "tickets.assignments.dead"


def assignments_queue_arguments() -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": ASSIGNMENTS_PARKING_EXCHANGE,
    }


def kombu_assignments_queues() -> list:
    """The assignments queue (bound for every assignment event) and its parking queue,
    as kombu Queues: declare both, consume the first."""
    from kombu import Exchange, Queue, binding

    router = Exchange(ROUTER_EVENTS_EXCHANGE, type="topic", durable=True)
    parking = Exchange(ASSIGNMENTS_PARKING_EXCHANGE, type="fanout", durable=True)
    work = Queue(ASSIGNMENTS_QUEUE, bindings=[binding(router, routing_key=key) for key in ASSIGNMENT_EVENTS],
                 durable=True, queue_arguments=assignments_queue_arguments())
    parked = Queue(ASSIGNMENTS_PARKING_QUEUE, parking, durable=True, queue_arguments=dead_letter_queue_arguments())
    return [work, parked]
