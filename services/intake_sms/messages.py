"""An inbound SMS as Twilio posts it -> a ComplaintReceived.

Plain Python (no Flask, no SQL): SMS's own fields (From and To, E.164 without
a prefix; the sender's city and country as the carrier tells them) and the
complaint. What every Twilio messaging channel shares (MessageSid, media (MMS),
the conversation window, the region) is in services/common/channels/twilio_messaging.py.

The intake answers Twilio with empty TwiML: the customer's acknowledgement is
sent by the notifier (by SMS, with the reference and the tracking link), like
every other answer on this channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.channels import twilio_messaging
from services.common.channels.regions import RegionGuess, RegionMap
from services.common.channels.twilio_messaging import InvalidMessage, MessagingChannel, Recorded, nothing
from services.common.contract.complaint import PHONE_RE, ComplaintReceived

CHANNEL = "sms"
SHORT_CODE_RE = re.compile(r"[0-9]{3,8}")   # our number may be a short code
# What the carrier says of the sender, kept for agents (Twilio's names -> ours).
SENDER_DETAILS = {"FromCity": "from_city", "FromState": "from_state", "FromCountry": "from_country"}


@dataclass(frozen=True)
class Inbound(twilio_messaging.Inbound):
    details: tuple[tuple[str, str], ...] = ()   # (our name, value) of SENDER_DETAILS that were sent


def parse_inbound(fields: Mapping[str, str]) -> Inbound:
    """Twilio's form fields -> Inbound; raises InvalidMessage naming each bad field."""
    errors: dict[str, str] = {}
    sid = twilio_messaging.message_sid(fields, errors)
    number = (fields.get("From") or "").strip()
    if not PHONE_RE.fullmatch(number):
        errors["From"] = f"expected an E.164 number like +351912345678, got {number[:40]!r}"
    to = (fields.get("To") or "").strip()
    if not (PHONE_RE.fullmatch(to) or SHORT_CODE_RE.fullmatch(to)):
        errors["To"] = f"expected our number (E.164) or short code, got {to[:40]!r}"
    media = twilio_messaging.media(fields, errors)
    if errors:
        raise InvalidMessage(errors)
    details = tuple((ours, fields[theirs].strip()[:100]) for theirs, ours in SENDER_DETAILS.items()
                    if (fields.get(theirs) or "").strip())
    return Inbound(message_sid=sid, number=number, to=to, body=(fields.get("Body") or "").strip(), media=media,
                   details=details)


def to_complaint(inbound: Inbound, intake_id: str, received_at: str, thread_reference: str | None,
                 region: RegionGuess | None = None) -> ComplaintReceived:
    extras = {"message_sid": inbound.message_sid, "to": inbound.to, **dict(inbound.details)}
    return twilio_messaging.complaint(inbound, CHANNEL, intake_id, received_at, thread_reference, region,
                                      customer={"phone": inbound.number}, extras=extras)


def answer(inbound: Inbound, recorded: Recorded, tracking_url: str) -> str:
    """Nothing: the notifier acknowledges by SMS once the ticket exists (or joins it)."""
    return nothing()


def channel(regions: RegionMap, number_region: str | None) -> MessagingChannel:
    """The channel as the messaging webhooks use it; a region from the sender's number,
    else our number's (SMS_NUMBER_REGION)."""
    return MessagingChannel(CHANNEL, parse_inbound, to_complaint, answer, "SMS number", regions, number_region)
