"""An inbound WhatsApp message as Twilio posts it -> a ComplaintReceived.

Plain Python (no Flask, no SQL): parsing Twilio's fields, the conversation
window (consecutive messages from one number join one ticket), and building
the complaint.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.common.channels.twilio_ids import is_sid
from services.common.contract.complaint import PHONE_RE, ComplaintReceived, ContractError
from services.common.contract.reference import find_references

CHANNEL = "whatsapp"
PREFIX = "whatsapp:"
MAX_MEDIA = 10  # Twilio sends at most 10 media items with one message

# Country calling codes whose customers are answered in a language other than
# the default, when nothing better is known. Longest codes are tried first.
LANGUAGE_BY_CALLING_CODE = {
    "351": "pt", "55": "pt", "244": "pt", "258": "pt", "238": "pt", "245": "pt", "239": "pt", "670": "pt",
}


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
    message_sid: str
    number: str                  # E.164, without the whatsapp: prefix
    body: str
    profile_name: str | None
    wa_id: str | None
    media: tuple[Media, ...]
    location: dict | None

    @property
    def names_reference(self) -> bool:
        """The customer typed a ticket reference: the tickets service decides where it goes."""
        return bool(find_references(self.body))


def parse_inbound(fields: Mapping[str, str]) -> Inbound:
    """Twilio's form fields -> Inbound; raises InvalidMessage naming each bad field."""
    errors: dict[str, str] = {}
    sid = (fields.get("MessageSid") or fields.get("SmsMessageSid") or "").strip()
    if not sid:
        errors["MessageSid"] = "required"
    elif not is_sid(sid):
        errors["MessageSid"] = f"not a Twilio message id like SM0123…, got {sid[:40]!r}"
    sender = (fields.get("From") or "").strip()
    number = sender[len(PREFIX):] if sender.startswith(PREFIX) else None
    if number is None or not PHONE_RE.fullmatch(number):
        errors["From"] = f"expected 'whatsapp:+<E.164 number>', got {sender[:40]!r}"
    media = []
    try:
        count = int(fields.get("NumMedia") or 0)
    except ValueError:
        errors["NumMedia"] = "not a number"
        count = 0
    for i in range(min(max(count, 0), MAX_MEDIA)):
        url = fields.get(f"MediaUrl{i}")
        if not url:
            errors[f"MediaUrl{i}"] = f"missing, NumMedia is {count}"
            continue
        media.append(Media(url, fields.get(f"MediaContentType{i}") or "application/octet-stream"))
    location = None
    if fields.get("Latitude") and fields.get("Longitude"):
        location = {"latitude": fields["Latitude"], "longitude": fields["Longitude"],
                    "address": fields.get("Address"), "label": fields.get("Label")}
    if errors:
        raise InvalidMessage(errors)
    return Inbound(message_sid=sid, number=number, body=(fields.get("Body") or "").strip(),
                   profile_name=(fields.get("ProfileName") or "").strip() or None,
                   wa_id=(fields.get("WaId") or "").strip() or None, media=tuple(media), location=location)


def language_for(number: str, default: str) -> str:
    digits = number.lstrip("+")
    for length in (3, 2, 1):
        language = LANGUAGE_BY_CALLING_CODE.get(digits[:length])
        if language:
            return language
    return default


# --- the conversation window -----------------------------------------------------


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


# --- the complaint -------------------------------------------------------------------


def check(inbound: Inbound, intake_id: str, received_at: str) -> None:
    """Raises InvalidMessage when the contract would refuse the message. Run before
    anything is recorded: a refused message must not move its number's conversation
    (the next message would be told a reference that never becomes a ticket). Where
    it threads changes nothing the contract checks."""
    to_complaint(inbound, intake_id, received_at, None)


def to_complaint(inbound: Inbound, intake_id: str, received_at: str,
                 thread_reference: str | None) -> ComplaintReceived:
    extras = {"profile_name": inbound.profile_name, "wa_id": inbound.wa_id, "message_sid": inbound.message_sid}
    if inbound.location:
        extras["location"] = inbound.location
    data = {
        "schema_version": 1,
        "intake_id": intake_id,
        "channel": CHANNEL,
        "external_id": inbound.message_sid,
        "received_at": received_at,
        "customer": {"name": inbound.profile_name, "whatsapp": inbound.number},
        "body": inbound.body,
        "attachments": [_attachment(m, i) for i, m in enumerate(inbound.media)],
        "threading": {"ticket_reference": thread_reference},
        "extras": extras,
    }
    try:
        return ComplaintReceived.from_dict(data)
    except ContractError as exc:
        raise InvalidMessage(exc.errors) from None


def _attachment(media: Media, index: int) -> dict:
    # Twilio's media URLs end in an opaque media SID; give agents a name with an extension.
    name = urlsplit(media.url).path.rstrip("/").rsplit("/", 1)[-1] or f"media{index}"
    extension = mimetypes.guess_extension(media.content_type.split(";")[0].strip()) or ""
    return {"filename": name + extension, "content_type": media.content_type, "size": 0, "url": media.url}
