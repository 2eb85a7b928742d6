"""The confirmed publisher against a real RabbitMQ: what an intake relies on
before it may tell a customer "received"."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.messaging import topology
from services.common.messaging.publisher import BrokerUnavailable, ComplaintPublisher
from testkit.ports import free_port
from testkit.waiting import wait_for


def complaint() -> ComplaintReceived:
    intake_id = new_intake_id()
    return ComplaintReceived.from_dict({
        "schema_version": 1, "intake_id": intake_id, "channel": "web", "external_id": intake_id,
        "received_at": utc_now_iso(), "customer": {"email": "ana@example.org"}, "body": "It broke."})


def test_a_published_complaint_waits_durably_in_the_work_queue(rabbit):
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    queue = rabbit.queue(topology.COMPLAINTS_QUEUE)
    assert queue["durable"] and queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["arguments"]["x-dead-letter-exchange"] == topology.DEAD_LETTER_EXCHANGE
    [message] = rabbit.get_messages(topology.COMPLAINTS_QUEUE)
    assert message["properties"]["delivery_mode"] == 2
    assert ComplaintReceived.from_dict(json.loads(message["payload"])) == c


def test_the_publisher_reconnects_after_the_broker_dropped_it(rabbit):
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    publisher.publish(complaint())
    # The broker closes every connection of this vhost, as a broker restart does.
    connections = wait_for(lambda: rabbit.api("GET", f"/vhosts/{quote(rabbit.vhost, safe='')}/connections").json(),
                           message="the publisher's connection")
    for conn in connections:
        rabbit.api("DELETE", f"/connections/{quote(conn['name'], safe='')}")
    time.sleep(0.5)
    publisher.publish(complaint())  # no error: reconnected on the spot
    wait_for(lambda: rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 2, message="both complaints queued")


def test_an_unreachable_broker_is_a_clear_error_not_a_success():
    publisher = ComplaintPublisher(f"amqp://guest:guest@127.0.0.1:{free_port()}/", connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="unreachable"):
        publisher.publish(complaint())
    assert time.monotonic() - started < 10
    assert publisher.check() is False


def test_a_vhost_the_user_may_not_use_is_refused(rabbit):
    uri = rabbit.amqp_uri.rsplit("/", 1)[0] + "/no-such-vhost"
    with pytest.raises(BrokerUnavailable):
        ComplaintPublisher(uri).publish(complaint())
