"""The console asks the tickets service and the router over nameko RPC (never
their tables). The roster listing has no RPC, so it comes from the router's
HTTP API (GET /agents)."""

from __future__ import annotations

import requests

from services.common.messaging.rpc_client import RemoteCallError, RpcClient, ServiceUnavailable

from . import settings

__all__ = ["RemoteCallError", "RouterClient", "ServiceUnavailable", "TicketsClient"]


class TicketsClient(RpcClient):
    def __init__(self, amqp_uri=None, timeout=None):
        super().__init__("tickets", amqp_uri, timeout)

    def get_ticket(self, reference):
        return self.call("get_ticket", reference)

    def search(self, filters: dict) -> dict:
        return self.call("search", filters)

    def change(self, reference, fields, actor):
        return self.call("change", reference, fields, "agent", actor)

    def assign(self, reference, assignee, actor, expected_assignee="*"):
        return self.call("assign", reference, assignee, "agent", actor, expected_assignee)

    def add_note(self, reference, author, body):
        return self.call("add_note", reference, author, body)

    def reply(self, reference, author, body, status=None):
        return self.call("reply", reference, author, body, status)


class RouterClient(RpcClient):
    def __init__(self, amqp_uri=None, timeout=None, base_url=None):
        super().__init__("router", amqp_uri, timeout)
        self.base_url = base_url or settings.router_url()

    def explain(self, reference):
        return self.call("explain", reference)

    def waiting(self):
        return self.call("waiting")

    def agents(self) -> list[dict]:
        try:
            response = requests.get(f"{self.base_url}/agents", timeout=self.timeout)
            response.raise_for_status()
            return response.json()["items"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ServiceUnavailable(f"the router's roster could not be read: {type(exc).__name__}",
                                     "router") from exc
