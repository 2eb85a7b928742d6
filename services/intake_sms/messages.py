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
from services.common.channels.twilio_messaging import InvalidMessage, Media, Recorded, nothing
from services.common.contract.complaint import PHONE_RE, ComplaintReceived
from services.common.contract.reference import find_references

CHANNEL = "sms"
SHORT_CODE_RE = re.compile(r"[0-9]{3,8}")   # our number may be a short code
# What the carrier says of the sender, kept for agents (Twilio's names -> ours).
SENDER_DETAILS = {"FromCity": "from_city", "FromState": "from_state", "FromCountry": "from_country"}


@dataclass(frozen=True)
class Inbound:
    message_sid: str
    number: str                  # the sender, E.164
    to: str                      # our number (E.164 or a short code)
    body: str
    media: tuple[Media, ...]
    details: tuple[tuple[str, str], ...] = ()   # (our name, value) of SENDER_DETAILS that were sent

    @property
    def names_reference(self) -> bool:
        """The customer typed a ticket reference: the tickets service decides where it goes."""
        return bool(find_references(self.body))


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


def region_for(inbound: Inbound, regions: RegionMap, number_region: str | None) -> RegionGuess | None:
    """The sender's number's country, else our Twilio number's region (SMS_NUMBER_REGION)."""
    return twilio_messaging.region(regions, inbound.number, "SMS number", number_region,
                                   f"Twilio number {inbound.to}")


def to_complaint(inbound: Inbound, intake_id: str, received_at: str, thread_reference: str | None,
                 region: RegionGuess | None = None) -> ComplaintReceived:
    return twilio_messaging.complaint({
        "schema_version": 1,
        "intake_id": intake_id,
        "channel": CHANNEL,
        "external_id": inbound.message_sid,
        "received_at": received_at,
        "customer": {"phone": inbound.number},
        "body": inbound.body,
        "attachments": twilio_messaging.attachments(inbound.media),
        "threading": {"ticket_reference": thread_reference},
        "extras": {"message_sid": inbound.message_sid, "to": inbound.to, **dict(inbound.details)},
        **twilio_messaging.region_fields(region),
    })


@dataclass(frozen=True)
class Sms:
    """The channel as the messaging webhooks use it (twilio_message_webhooks.MessagingChannel)."""

    regions: RegionMap
    number_region: str | None
    name: str = CHANNEL

    def parse(self, fields: Mapping[str, str]) -> Inbound:
        return parse_inbound(fields)

    def to_complaint(self, inbound: Inbound, intake_id: str, received_at: str,
                     thread_reference: str | None) -> ComplaintReceived:
        return to_complaint(inbound, intake_id, received_at, thread_reference,
                            region_for(inbound, self.regions, self.number_region))

    def answer(self, inbound: Inbound, recorded: Recorded, tracking_url: str) -> str:
        """Nothing: the notifier acknowledges by SMS once the ticket exists (or joins it)."""
        return nothing()
