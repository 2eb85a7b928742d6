"""Every channel a complaint can arrive on, as the service registry declares them
with their intakes (services/common/registry.py), looked up by name.

The contract accepts exactly these channel names; the notifier answers each
with its Channel.answer_by sender; the tickets service stores identities of the
kinds in IDENTITY_KINDS.
"""

from __future__ import annotations

from services.common.registry import IDENTITY_KINDS, SERVICES, Channel

CATALOGUE: tuple[Channel, ...] = tuple(c for service in SERVICES for c in service.channels)
BY_NAME: dict[str, Channel] = {c.name: c for c in CATALOGUE}
CHANNEL_NAMES: tuple[str, ...] = tuple(BY_NAME)
FOLLOW_UP_CHANNELS: tuple[str, ...] = tuple(c.name for c in CATALOGUE if c.follow_up)
ACKNOWLEDGED_BY_INTAKE: tuple[str, ...] = tuple(c.name for c in CATALOGUE if c.acknowledged_by_intake)

__all__ = ["ACKNOWLEDGED_BY_INTAKE", "BY_NAME", "CATALOGUE", "CHANNEL_NAMES", "FOLLOW_UP_CHANNELS", "IDENTITY_KINDS",
           "Channel", "channel"]


def channel(name: str) -> Channel | None:
    return BY_NAME.get(name)
