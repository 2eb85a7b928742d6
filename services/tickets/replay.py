"""Moving dead-lettered complaints, one confirmed message at a time.

`replay` (python -m services.tickets replay-dead-letters) sends every parked
complaint back to the tickets queue: run it after fixing whatever made them
fail. The dead-letter watcher (service.py) uses `move` with its own choice per
message: replay, or park again (re-published to the dead-letter exchange with
its headers, so its history of deaths travels with it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pika

from services.common import config, logs
from services.common.messaging import topology

from .dead_letters import PARK, REPLAY

TARGETS = {
    REPLAY: (topology.COMPLAINTS_EXCHANGE, topology.COMPLAINT_RECEIVED),
    PARK: (topology.DEAD_LETTER_EXCHANGE, topology.COMPLAINT_RECEIVED),
}


def open_channel(amqp_uri: str):
    """(connection, a channel with publisher confirms and the topology declared)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    topology.declare_with_pika(channel)
    return connection, channel


def move(channel, choose: Callable[[bytes, object], str]) -> Counter:
    """Take each message waiting now in the dead-letter queue, ask `choose(body,
    properties)` for REPLAY or PARK, publish it there with a confirm, then ack it:
    a crash in between duplicates (absorbed by the tickets service's idempotency),
    never loses. Messages parked during this pass are not read again in it."""
    waiting = channel.queue_declare(topology.DEAD_LETTER_QUEUE, passive=True).method.message_count
    moved: Counter = Counter()
    for _ in range(waiting):
        method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=False)
        if method is None:
            break
        action = choose(body, properties)
        exchange, routing_key = TARGETS[action]
        channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        channel.basic_ack(method.delivery_tag)
        moved[action] += 1
    return moved


def replay() -> int:
    log = logs.setup("tickets")
    connection, channel = open_channel(config.amqp_uri())
    moved = move(channel, lambda body, properties: REPLAY)
    connection.close()
    log.info("replayed %d dead-lettered complaint(s)", moved[REPLAY])
    return 0
