"""Which sender and address reach a person. Plain Python.

A customer hears from us where they chose (the ticket's follow-up channel), or
else as the channel catalogue says for the channel they wrote on
(services/common/channels/catalogue.py): the sender named by the channel's
`answer_by`, at the customer's identity of the channel's `identity` kind (an
email customer by email, WhatsApp on WhatsApp, a caller or an SMS customer by
SMS). A channel with no address of its own (web form, chat), or a customer who
left none of that kind, is answered by email, else SMS, else WhatsApp, at what
they did leave. Anonymous customers cannot be reached. Agents get an email plus
WhatsApp or SMS when their roster entry has the number and the sender is on.

Senders are found by name in the registry (senders.py), so a channel added to
the catalogue with an existing sender needs nothing here.

The ticket is the dict of a TicketSnapshot (services/common/contract/events.py),
as the events bring it and the store keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.channels import catalogue
from services.common.contract.events import CustomerView, Identity

from . import senders

EMAIL, SMS, WHATSAPP, CALL, IN_PAGE, NOTE = "email", "sms", "whatsapp", "call", "in_page", "note"

# (sender, identity kind) tried in order for a customer whose channel gives no address.
ANY_ADDRESS = ((EMAIL, "email"), (SMS, "phone"), (WHATSAPP, "whatsapp"))


@dataclass(frozen=True)
class Address:
    channel: str     # the sender's name
    address: str


def customer_of(ticket: dict) -> CustomerView:
    data = ticket.get("customer") or {}
    identities = tuple(Identity(i["kind"], i["value"]) for i in data.get("identities") or ()
                       if i.get("kind") and i.get("value"))
    return CustomerView(data.get("name"), bool(data.get("anonymous")), identities)


def customer_address(ticket: dict) -> Address | None:
    chosen = _follow_up(ticket.get("follow_up") or {})
    if chosen:
        return chosen
    customer = customer_of(ticket)
    if customer.anonymous:
        return None
    channel = catalogue.channel(ticket.get("channel") or "")
    tries = ((channel.answer_by, channel.identity),) if channel and channel.identity else ()
    for name, kind in tries + ANY_ADDRESS:
        address = customer.address(kind)
        if senders.reaches(name, address):
            return Address(name, address)
    return None


def _follow_up(follow_up: dict) -> Address | None:
    """The customer's chosen channel (a catalogue name) and address, answered by its sender."""
    channel = catalogue.channel(follow_up.get("channel") or "")
    name = channel.answer_by if channel else follow_up.get("channel")
    if senders.reaches(name, follow_up.get("address")):
        return Address(name, follow_up["address"])
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


def without_twilio(names: tuple[str, ...]) -> tuple[str, ...]:
    """These senders, less those that send through Twilio."""
    return tuple(n for n in names if not (senders.find(n) and senders.find(n).twilio))


def language_of(ticket: dict) -> str:
    """'pt-BR' -> 'pt'; templates fall back to English when a language has none."""
    return (ticket.get("language") or "en").split("-")[0].lower()
