"""Which channel and address reach a person. Plain Python.

A customer hears from us where they chose (the ticket's follow-up channel), or
on the channel they used: email, web and chat customers by email (a web-form
customer who left only a phone number by SMS), WhatsApp customers on WhatsApp,
callers by SMS. Anonymous customers cannot be reached. Agents get an email plus
WhatsApp or SMS when their roster entry has the number and the channel is on.
"""

from __future__ import annotations

from dataclasses import dataclass

EMAIL, SMS, WHATSAPP, CALL, IN_PAGE, NOTE = "email", "sms", "whatsapp", "call", "in_page", "note"
TWILIO_CHANNELS = (SMS, WHATSAPP, CALL)


@dataclass(frozen=True)
class Address:
    channel: str
    address: str


def customer_address(ticket: dict) -> Address | None:
    follow_up = ticket.get("follow_up")
    if follow_up and follow_up.get("channel") and follow_up.get("address"):
        return Address(follow_up["channel"], follow_up["address"])
    customer = ticket.get("customer") or {}
    if customer.get("anonymous"):
        return None
    email, phone, whatsapp = customer.get("email"), customer.get("phone"), customer.get("whatsapp")
    channel = ticket.get("channel")
    if channel == "whatsapp" and (whatsapp or phone):
        return Address(WHATSAPP, whatsapp or phone)
    if channel == "voice":
        return Address(SMS, phone) if phone else None
    if email:
        return Address(EMAIL, email)
    if phone:
        return Address(SMS, phone)
    if whatsapp:
        return Address(WHATSAPP, whatsapp)
    return None


def reply_address(ticket: dict, message_channel: str | None) -> Address | None:
    """Where an agent's reply goes. A chat reply is shown on the chat page itself."""
    if message_channel == "chat" and not ticket.get("follow_up"):
        return Address(IN_PAGE, "chat")
    return customer_address(ticket)


def agent_addresses(agent: dict | None, enabled: tuple[str, ...]) -> list[Address]:
    """Email first; then WhatsApp, or SMS when the agent has no WhatsApp number."""
    if not agent:
        return []
    found = []
    if EMAIL in enabled and agent.get("email"):
        found.append(Address(EMAIL, agent["email"]))
    if WHATSAPP in enabled and agent.get("whatsapp"):
        found.append(Address(WHATSAPP, agent["whatsapp"]))
    elif SMS in enabled and agent.get("phone"):
        found.append(Address(SMS, agent["phone"]))
    return found


def language_of(ticket: dict) -> str:
    """'pt-BR' -> 'pt'; templates fall back to English when a language has none."""
    return (ticket.get("language") or "en").split("-")[0].lower()
