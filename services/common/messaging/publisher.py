"""Publishing complaints to RabbitMQ with publisher confirms (pika).

`publish` returns only once the broker confirmed the message was routed to a
durable queue and written; any other outcome raises BrokerUnavailable, so an
intake answers 503 (or keeps its IMAP checkpoint) instead of claiming success.
A dropped connection (broker restart) is re-opened on the next publish, with
one immediate retry, so the first caller after a restart is not failed.
"""

from __future__ import annotations

import json
import logging
import threading

import pika
import pika.exceptions

from services.common.contract.complaint import ComplaintReceived
from services.common.messaging import topology

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The message was not confirmed by the broker; nothing may be acknowledged upstream."""


class ComplaintPublisher:
    def __init__(self, amqp_uri: str, connect_timeout: float = 5.0):
        self._params = pika.URLParameters(amqp_uri)
        self._params.socket_timeout = connect_timeout
        self._params.blocked_connection_timeout = connect_timeout
        self._params.connection_attempts = 1
        self._connection = None
        self._channel = None
        # pika connections are not thread-safe; one publish at a time per process.
        self._lock = threading.Lock()

    def publish(self, complaint: ComplaintReceived) -> None:
        body = json.dumps(complaint.to_dict(), separators=(",", ":")).encode()
        properties = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=complaint.intake_id,
            type="ComplaintReceived",
            headers={"schema_version": complaint.schema_version, "channel": complaint.channel},
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._ensure_channel()
                    channel.basic_publish(topology.COMPLAINTS_EXCHANGE, topology.COMPLAINT_RECEIVED,
                                          body, properties, mandatory=True)
                    return
                except pika.exceptions.UnroutableError as exc:
                    raise BrokerUnavailable("the broker could not route the complaint to its queue") from exc
                except pika.exceptions.NackError as exc:
                    raise BrokerUnavailable("the broker refused the complaint (nack)") from exc
                except (pika.exceptions.AMQPError, OSError) as exc:
                    self._reset()
                    if attempt == 2:
                        raise BrokerUnavailable(f"RabbitMQ is unreachable: {type(exc).__name__}") from exc
                    log.warning("broker connection lost (%s); reconnecting", type(exc).__name__)

    def check(self) -> bool:
        """True when a channel to the broker is open (for readiness probes)."""
        with self._lock:
            try:
                self._ensure_channel()
                self._connection.process_data_events(0)
                return True
            except (pika.exceptions.AMQPError, OSError):
                self._reset()
                return False

    def close(self) -> None:
        with self._lock:
            self._reset()

    def _ensure_channel(self):
        if self._channel is not None and self._channel.is_open and self._connection.is_open:
            return self._channel
        self._reset()
        self._connection = pika.BlockingConnection(self._params)
        channel = self._connection.channel()
        channel.confirm_delivery()
        topology.declare_with_pika(channel)
        self._channel = channel
        return channel

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # closing a broken connection may fail any way
                pass
