"""The console asks the tickets service and the router over nameko RPC (never
their tables). The roster listing has no RPC, so it comes from the router's
HTTP API (GET /agents). Every call carries the console's token; a call made
for the signed-in agent (`acting_for(user)`) names them in it, and the tickets
service records that agent, never a name the console writes in an argument."""

from __future__ import annotations

import requests

from services.common.messaging.rpc_client import RemoteCallError, RpcClient, ServiceUnavailable

from . import settings

__all__ = ["RemoteCallError", "RouterClient", "ServiceUnavailable", "TicketsClient", "agent_of"]


def agent_of(user: dict) -> dict:
    """The signed-in user as the token's agent claims."""
    return {"name": user["name"], "role": user.get("role"), "groups": list(user.get("groups") or ())}


class TicketsClient(RpcClient):
    def __init__(self, amqp_uri=None, timeout=None):
        super().__init__("tickets", "console", amqp_uri, timeout)

    def get_ticket(self, reference):
        return self.call("get_ticket", reference)

    def search(self, filters: dict) -> dict:
        return self.call("search", filters)

    def change(self, reference, fields):
        return self.call("change", reference, fields)

    def assign(self, reference, assignee, expected_assignee="*"):
        return self.call("assign", reference, assignee, "agent", None, expected_assignee)

    def add_note(self, reference, body):
        return self.call("add_note", reference, None, body)

    def access_log(self, reference):
        """Who saw a confidential case (for the group's supervisors)."""
        return self.call("access_log", reference)

    def reply(self, reference, body, status=None):
        return self.call("reply", reference, None, body, status)


class RouterClient(RpcClient):
    def __init__(self, amqp_uri=None, timeout=None, base_url=None):
        super().__init__("router", "console", amqp_uri, timeout)
        self.base_url = base_url or settings.router_url()

    def explain(self, reference):
        return self.call("explain", reference)

    def waiting(self):
        return self.call("waiting")

    def agents(self) -> list[dict]:
        try:
            response = requests.get(f"{self.base_url}/agents", timeout=self.timeout,
                                    headers=self.credentials.headers("router", self.agent))
            response.raise_for_status()
            return response.json()["items"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ServiceUnavailable(f"the router's roster could not be read: {type(exc).__name__}",
                                     "router") from exc
