"""Asking the tickets service (nameko RPC) for what a customer may see and do:
the public view of their ticket, their follow-up channel, their survey answer.
Transport details (one proxy per thread, dropped on failure) are in
services/common/rpc_client.py."""

from __future__ import annotations

from services.common.messaging.rpc_client import RemoteCallError, RpcClient, ServiceUnavailable

__all__ = ["RemoteCallError", "TicketsClient", "TicketsUnavailable"]


class TicketsUnavailable(ServiceUnavailable):
    """No answer from the tickets service: not running, too slow, or the broker is away."""


class TicketsClient(RpcClient):
    unavailable = TicketsUnavailable

    def __init__(self, amqp_uri: str | None = None, timeout: float | None = None):
        super().__init__("tickets", "intake_chat", amqp_uri, timeout)

    def get_public_view(self, reference: str) -> dict | None:
        """The ticket as its customer may see it, or None if it does not exist (yet).
        Raises TicketsUnavailable when no answer came within the timeout."""
        return self.call("get_public_view", reference)

    def set_follow_up(self, reference: str, channel: str, address: str) -> dict:
        return self.call("set_follow_up", reference, channel, address)

    def record_survey(self, reference: str, rating: int, comment: str | None) -> dict:
        return self.call("record_survey", reference, rating, comment, "link")
