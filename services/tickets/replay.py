"""Move dead-lettered complaints back to the tickets queue, one confirmed message at a time.

Run after fixing whatever made them fail (python -m services.tickets replay-dead-letters).
"""

import pika

from services.common import config, logs, topology


def replay() -> int:
    log = logs.setup("tickets")
    connection = pika.BlockingConnection(pika.URLParameters(config.amqp_uri()))
    channel = connection.channel()
    channel.confirm_delivery()
    topology.declare_with_pika(channel)
    moved = 0
    while True:
        method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE, auto_ack=False)
        if method is None:
            break
        # Confirmed publish first, then ack: a crash in between duplicates (absorbed
        # by the tickets service's idempotency), never loses.
        channel.basic_publish(topology.COMPLAINTS_EXCHANGE, topology.COMPLAINT_RECEIVED, body,
                              properties, mandatory=True)
        channel.basic_ack(method.delivery_tag)
        moved += 1
    connection.close()
    log.info("replayed %d dead-lettered complaint(s)", moved)
    return 0
