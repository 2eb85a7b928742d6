"""What Twilio's messaging channels (WhatsApp, SMS) share, in plain Python.

No Flask, no SQL: the fields every Twilio message webhook carries (MessageSid,
NumMedia/MediaUrlN/MediaContentTypeN), the conversation window (consecutive
messages from one number join one ticket), attachments as agents see them,
the region a message comes from, and building the contract's complaint with
every refusal named. The webhooks are in twilio_message_webhooks.py, the
state in twilio_message_store.py; each channel's own fields stay in its
intake (services/intake_whatsapp/messages.py, services/intake_sms/messages.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from twilio.twiml.messaging_response import MessagingResponse

from services.common.channels.regions import RegionGuess, RegionMap, first
from services.common.channels.twilio_ids import is_sid
from services.common.contract.complaint import ComplaintReceived, ContractError
from services.common.contract.reference import find_references

MAX_MEDIA = 10  # Twilio sends at most 10 media items with one message


class InvalidMessage(ValueError):
    """Twilio's fields do not make a message we can take; every problem named."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True)
class Inbound:
    """A message as every Twilio messaging channel posts it; a channel's own
    fields are added by its subclass (services/intake_<channel>/messages.py)."""

    message_sid: str
    number: str                  # the sender, E.164 (without a channel prefix): whose conversation it is
    to: str                      # our number (or sender) it was sent to
    body: str
    media: tuple[Media, ...]

    @property
    def names_reference(self) -> bool:
        """The customer typed a ticket reference: the tickets service decides where it goes."""
        return bool(find_references(self.body))


@dataclass(frozen=True)
class Recorded:
    intake_id: str
    ack_reference: str
    thread_reference: str | None
    follow_up: bool
    published: bool
    received_at: str      # when the first attempt arrived: retries carry the same time
    claim: str | None = None    # this request's claim: it publishes and acknowledges the message


def content_fingerprint(inbound: Inbound, secret: str) -> str:
    """The HMAC-SHA256 (hex) of what the message says: who sent it to whom, its text and
    its media. Twilio retries a webhook with the same fields, so a retry has the
    fingerprint of the first delivery; the same MessageSid with another one is not a
    retry. Keyed from the secret: the table keeps no readable content."""
    canonical = json.dumps([inbound.number, inbound.to, inbound.body, [[m.url, m.content_type] for m in inbound.media]],
                           ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    key = hmac.new(secret.encode(), b"twilio message content", hashlib.sha256).digest()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def nothing() -> str:
    """Empty TwiML: Twilio sends no message back."""
    return str(MessagingResponse())


# --- Twilio's fields ------------------------------------------------------------------


def message_sid(fields: Mapping[str, str], errors: dict[str, str]) -> str:
    sid = (fields.get("MessageSid") or fields.get("SmsMessageSid") or "").strip()
    if not sid:
        errors["MessageSid"] = "required"
    elif not is_sid(sid):
        errors["MessageSid"] = f"not a Twilio message id like SM0123…, got {sid[:40]!r}"
    return sid


def media(fields: Mapping[str, str], errors: dict[str, str]) -> tuple[Media, ...]:
    """NumMedia items, each MediaUrlN with its MediaContentTypeN."""
    try:
        count = int(fields.get("NumMedia") or 0)
    except ValueError:
        errors["NumMedia"] = "not a number"
        count = 0
    found = []
    for i in range(min(max(count, 0), MAX_MEDIA)):
        url = fields.get(f"MediaUrl{i}")
        if not url:
            errors[f"MediaUrl{i}"] = f"missing, NumMedia is {count}"
            continue
        found.append(Media(url, fields.get(f"MediaContentType{i}") or "application/octet-stream"))
    return tuple(found)


def attachments(items: tuple[Media, ...]) -> list[dict]:
    return [_attachment(m, i) for i, m in enumerate(items)]


def _attachment(item: Media, index: int) -> dict:
    # Twilio's media URLs end in an opaque media SID; give agents a name with an extension.
    name = urlsplit(item.url).path.rstrip("/").rsplit("/", 1)[-1] or f"media{index}"
    extension = mimetypes.guess_extension(item.content_type.split(";")[0].strip()) or ""
    return {"filename": name + extension, "content_type": item.content_type, "size": 0, "url": item.url}


# --- the complaint ---------------------------------------------------------------------------


def complaint(inbound: Inbound, channel: str, intake_id: str, received_at: str, thread_reference: str | None,
              region: RegionGuess | None, customer: dict, extras: dict) -> ComplaintReceived:
    """The contract's complaint, or InvalidMessage naming what it refused."""
    data = {
        "schema_version": 1,
        "intake_id": intake_id,
        "channel": channel,
        "external_id": inbound.message_sid,
        "received_at": received_at,
        "customer": customer,
        "body": inbound.body,
        "attachments": attachments(inbound.media),
        "threading": {"ticket_reference": thread_reference},
        "extras": extras,
    }
    if region is not None:
        data.update(region=region.region, region_source=region.source)
    try:
        return ComplaintReceived.from_dict(data)
    except ContractError as exc:
        raise InvalidMessage(exc.errors) from None


# Translates Twilio's fields (an intake's parse), builds its complaint (the intake's
# to_complaint(inbound, intake_id, received_at, thread_reference, region)), answers Twilio.
Parse = Callable[[Mapping[str, str]], Inbound]
ToComplaint = Callable[[Inbound, str, str, "str | None", "RegionGuess | None"], ComplaintReceived]
Answer = Callable[[Inbound, Recorded, str], str]


@dataclass(frozen=True)
class MessagingChannel:
    """One Twilio messaging channel as the webhooks use it (twilio_message_webhooks.py):
    its rules, and where its messages come from."""

    name: str                    # the contract's channel, e.g. "sms"
    parse: Parse                 # raises InvalidMessage naming each bad field
    build: ToComplaint           # raises InvalidMessage when the contract refuses it
    answer: Answer               # TwiML for a message just published: its acknowledgement, or nothing()
    number_said_by: str          # how a region's source names the sender's number, e.g. "SMS number"
    regions: RegionMap
    number_region: str | None    # the region of our number, for senders whose number names no country

    def to_complaint(self, inbound: Inbound, intake_id: str, received_at: str,
                     thread_reference: str | None) -> ComplaintReceived:
        return self.build(inbound, intake_id, received_at, thread_reference, self.region(inbound))

    def region(self, inbound: Inbound) -> RegionGuess | None:
        """The sender's number's country, else our Twilio number's configured region."""
        return first(self.regions.for_phone(inbound.number, self.number_said_by),
                     RegionMap.configured(self.number_region, f"Twilio number {inbound.to or 'unknown'}"))


# --- the conversation window -----------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    reference: str            # where follow-ups thread to: a reference this number was told
    last_message_at: float    # unix time
    # Whether the message that started it was published or is being published. One
    # whose publish failed and was given up (claim released) never became a ticket:
    # its reference must not be told to the next message as the complaint it joins.
    live: bool = True


@dataclass(frozen=True)
class Decision:
    thread_reference: str | None    # the verified reference sent to tickets (None: tickets decides)
    conversation_reference: str     # what the next messages in the window thread to
    ack_reference: str              # the reference told to the customer
    follow_up: bool                 # joins an open conversation


def decide(conversation: Conversation | None, now: float, window_seconds: float, own_reference: str,
           names_reference: bool) -> Decision:
    """Where a message goes.

    A message naming a reference is left to the tickets service, which accepts
    it only when this number is that ticket's customer; later messages in the
    window follow it (its own reference finds whichever ticket it joined).
    Otherwise a message within the window of the number's last one joins that
    conversation: a reference this number itself was given is safe to trust,
    as long as the message that started it was not given up.
    """
    if names_reference:
        return Decision(None, own_reference, own_reference, False)
    if conversation is not None and conversation.live and now - conversation.last_message_at <= window_seconds:
        return Decision(conversation.reference, conversation.reference, conversation.reference, True)
    return Decision(None, own_reference, own_reference, False)
