"""An inbound WhatsApp message as Twilio posts it -> a ComplaintReceived.

Plain Python (no Flask, no SQL): WhatsApp's own fields (the whatsapp: prefix,
ProfileName, WaId, a shared location), the language of the answer, and the
complaint. What every Twilio messaging channel shares (MessageSid, media, the
conversation window, the region) is in services/common/channels/twilio_messaging.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.channels import twilio_messaging
from services.common.channels.regions import RegionGuess, RegionMap
from services.common.channels.twilio_messaging import (  # noqa: F401  (the window's rules, read here by its tests)
    Conversation,
    Decision,
    InvalidMessage,
    Media,
    MessagingChannel,
    Recorded,
    decide,
)
from services.common.contract.complaint import PHONE_RE, ComplaintReceived

from . import replies

CHANNEL = "whatsapp"
PREFIX = "whatsapp:"

# Country calling codes whose customers are answered in a language other than
# the default, when nothing better is known. Longest codes are tried first.
LANGUAGE_BY_CALLING_CODE = {
    "351": "pt", "55": "pt", "244": "pt", "258": "pt", "238": "pt", "245": "pt", "239": "pt", "670": "pt",
}


@dataclass(frozen=True)
class Inbound(twilio_messaging.Inbound):
    profile_name: str | None = None
    wa_id: str | None = None
    location: dict | None = None


def parse_inbound(fields: Mapping[str, str]) -> Inbound:
    """Twilio's form fields -> Inbound; raises InvalidMessage naming each bad field."""
    errors: dict[str, str] = {}
    sid = twilio_messaging.message_sid(fields, errors)
    sender = (fields.get("From") or "").strip()
    number = sender[len(PREFIX):] if sender.startswith(PREFIX) else None
    if number is None or not PHONE_RE.fullmatch(number):
        errors["From"] = f"expected 'whatsapp:+<E.164 number>', got {sender[:40]!r}"
    media = twilio_messaging.media(fields, errors)
    location = None
    if fields.get("Latitude") and fields.get("Longitude"):
        location = {"latitude": fields["Latitude"], "longitude": fields["Longitude"],
                    "address": fields.get("Address"), "label": fields.get("Label")}
    if errors:
        raise InvalidMessage(errors)
    return Inbound(message_sid=sid, number=number, to=(fields.get("To") or "").strip().removeprefix(PREFIX)[:40],
                   body=(fields.get("Body") or "").strip(), media=media,
                   profile_name=(fields.get("ProfileName") or "").strip() or None,
                   wa_id=(fields.get("WaId") or "").strip() or None, location=location)


def language_for(number: str, default: str) -> str:
    digits = number.lstrip("+")
    for length in (3, 2, 1):
        language = LANGUAGE_BY_CALLING_CODE.get(digits[:length])
        if language:
            return language
    return default


def check(inbound: Inbound, intake_id: str, received_at: str) -> None:
    """Raises InvalidMessage when the contract would refuse the message (see
    twilio_message_webhooks: run before anything is recorded)."""
    to_complaint(inbound, intake_id, received_at, None)


def to_complaint(inbound: Inbound, intake_id: str, received_at: str, thread_reference: str | None,
                 region: RegionGuess | None = None) -> ComplaintReceived:
    extras = {"profile_name": inbound.profile_name, "wa_id": inbound.wa_id, "message_sid": inbound.message_sid}
    if inbound.location:
        extras["location"] = inbound.location
    return twilio_messaging.complaint(inbound, CHANNEL, intake_id, received_at, thread_reference, region,
                                      customer={"name": inbound.profile_name, "whatsapp": inbound.number},
                                      extras=extras)


def channel(regions: RegionMap, number_region: str | None, default_language: str) -> MessagingChannel:
    """The channel as the messaging webhooks use it; a region from the sender's number,
    else our WhatsApp number's (WHATSAPP_NUMBER_REGION)."""

    def answer(inbound: Inbound, recorded: Recorded, tracking_url: str) -> str:
        """The customer's one acknowledgement (the notifier sends none for WhatsApp)."""
        return replies.acknowledgement(recorded.ack_reference, recorded.follow_up,
                                       language_for(inbound.number, default_language), tracking_url)

    return MessagingChannel(CHANNEL, parse_inbound, to_complaint, answer, "WhatsApp number", regions, number_region)
