"""A throwaway vhost on the real RabbitMQ broker, with its management API to
look inside queues. The broker is found through TEST_AMQP_URI and
TEST_RABBIT_API (defaults: guest on 127.0.0.1:5672 and :15672)."""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

import requests

AMQP_BASE = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://127.0.0.1:15672/api")


class Rabbit:
    """A throwaway vhost on the real broker, with the management API to look inside."""

    def __init__(self, vhost: str):
        self.vhost = vhost
        parts = urlsplit(AMQP_BASE)
        self.amqp_uri = urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
        user = parts.username or "guest"
        self.auth = (user, parts.password or "guest")

    def api(self, method, path, **kwargs):
        return requests.request(method, f"{RABBIT_API}{path}", auth=self.auth, timeout=10, **kwargs)

    def create(self):
        self.api("PUT", f"/vhosts/{quote(self.vhost, safe='')}").raise_for_status()
        self.api("PUT", f"/permissions/{quote(self.vhost, safe='')}/{self.auth[0]}",
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete(self):
        self.api("DELETE", f"/vhosts/{quote(self.vhost, safe='')}")

    def queue(self, name) -> dict | None:
        resp = self.api("GET", f"/queues/{quote(self.vhost, safe='')}/{quote(name, safe='')}")
        return resp.json() if resp.status_code == 200 else None

    def queue_depth(self, name) -> int:
        """Ready + unacked messages; polls until the management stats settle."""
        info = self.queue(name) or {}
        return int(info.get("messages", 0) or 0)

    def get_messages(self, name, count=10) -> list[dict]:
        """Read messages and put them back (the management API's requeue mode)."""
        resp = self.api("POST", f"/queues/{quote(self.vhost, safe='')}/{quote(name, safe='')}/get",
                        json={"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"})
        resp.raise_for_status()
        return resp.json()
