"""Every channel a complaint can arrive on, and how its customer is answered.

One line per channel. The contract accepts exactly these channel names
(ComplaintReceived.channel), the tickets service stores the customer's address
on it as an identity of kind `identity`, and the notifier answers the customer
with the sender named `answer_by` at that identity (senders are found by name
in the notifier's sender registry, services/notifier/senders.py). A channel
whose customers leave no address of its own (web form, chat) has
identity None and is answered by email, else SMS, when the customer gave one.

Adding a channel: one line here, an intake package that builds
ComplaintReceived, its entry in the service registry, deploy manifests
(README, "Adding a channel").
"""

from __future__ import annotations

from dataclasses import dataclass

# Identity kinds the tickets service stores (a row each: kind, value).
IDENTITY_KINDS = ("email", "phone", "whatsapp", "messenger")


@dataclass(frozen=True)
class Channel:
    name: str
    identity: str | None = None   # the identity kind of the address the customer wrote from
    answer_by: str | None = None  # the notifier sender that answers on this channel
    follow_up: bool = False       # a customer may choose it to hear back on (tracking page, API)


CATALOGUE: tuple[Channel, ...] = (
    Channel("email", identity="email", answer_by="email", follow_up=True),
    Channel("web"),
    Channel("chat"),
    Channel("whatsapp", identity="whatsapp", answer_by="whatsapp", follow_up=True),
    Channel("voice", identity="phone", answer_by="sms"),
    Channel("sms", identity="phone", answer_by="sms", follow_up=True),
)
BY_NAME = {c.name: c for c in CATALOGUE}
CHANNEL_NAMES: tuple[str, ...] = tuple(c.name for c in CATALOGUE)
FOLLOW_UP_CHANNELS: tuple[str, ...] = tuple(c.name for c in CATALOGUE if c.follow_up)


def channel(name: str) -> Channel | None:
    return BY_NAME.get(name)
