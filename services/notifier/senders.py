"""Sending one outbox row, through the sender registered under the row's channel.

Senders are found by name: the name an outbox row's `channel` holds and a
channel's `answer_by` in the channel catalogue (services/common/channels/
catalogue.py). Each registers with `@sender(name, ...)` and says what it needs:
  send(row, Outbound) -> the provider's id (Message-ID, Twilio SID, note id),
                         raising on failure (PermanentError: retrying cannot help);
  twilio               whether it sends through Twilio (agents are alerted on it
                       only where Twilio is set up);
  accepts(address)     whether it can reach that address (the planner skips an
                       identity this sender could not use).
A channel answered in a new way is one more registered function here; nothing
else in the notifier names it.

Registered: email (SMTP), sms and whatsapp (Twilio Messages), call (a Twilio
callback call), note (a note on the ticket, by the tickets RPC) and in_page (the
chat page shows the reply itself: nothing to send).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from services.common.channels import twilio_rest
from services.common.contract.complaint import EMAIL_RE, PHONE_RE
from services.common.time.clock import parse

from . import email_out
from .settings import Settings


class PermanentError(RuntimeError):
    """Retrying cannot help (nothing configured to send with, a window that has passed)."""


@dataclass(frozen=True)
class Outbound:
    """What a sender may use for one row."""
    settings: Settings
    twilio: Callable[[], Any]                       # the Twilio REST client (PermanentError if not set up)
    now: datetime
    add_note: Callable[[str, str, str], dict]       # the tickets RPC: (reference, author, body) -> the note


@dataclass(frozen=True)
class Sender:
    name: str
    send: Callable[[Any, Outbound], str | None]
    twilio: bool = False
    accepts: Callable[[str], bool] = bool


REGISTRY: dict[str, Sender] = {}


def sender(name: str, *, twilio: bool = False, accepts: Callable[[str], bool] = bool):
    """Register the decorated send function as the sender `name`."""
    def register(send):
        REGISTRY[name] = Sender(name, send, twilio, accepts)
        return send
    return register


def find(name: str | None) -> Sender | None:
    return REGISTRY.get(name or "")


def reaches(name: str | None, address: str | None) -> bool:
    """A registered sender `name` that can reach `address`."""
    found = find(name)
    return bool(found and address and found.accepts(address))


def is_email(address: str) -> bool:
    return bool(EMAIL_RE.fullmatch(address))


def is_number(address: str) -> bool:
    return bool(PHONE_RE.fullmatch(address.removeprefix("whatsapp:")))


# --- the senders ------------------------------------------------------------------------

@sender("email", accepts=is_email)
def send_email(row, out: Outbound) -> str:
    return email_out.send(out.settings.smtp, email_out.build(row.recipient, row.subject, row.body, row.headers or {}))


@sender("sms", twilio=True, accepts=is_number)
def send_sms(row, out: Outbound) -> str:
    if not out.settings.twilio.sms_from:
        raise PermanentError("TWILIO_SMS_FROM is not set")
    return out.twilio().messages.create(to=row.recipient, from_=out.settings.twilio.sms_from, body=row.body).sid


def whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


@sender("whatsapp", twilio=True, accepts=is_number)
def send_whatsapp(row, out: Outbound) -> str:
    if not out.settings.twilio.whatsapp_from:
        raise PermanentError("TWILIO_WHATSAPP_FROM is not set")
    return out.twilio().messages.create(to=whatsapp(row.recipient), from_=whatsapp(out.settings.twilio.whatsapp_from),
                                        body=row.body).sid


def callback_twiml(say: str, customer: str, caller_id: str | None) -> str:
    """Said to the agent once they answer, then the customer is dialled: the customer
    never waits on hold for an agent who does not pick up."""
    response = VoiceResponse()
    response.say(say)
    response.dial(customer, caller_id=caller_id, timeout=30)
    return str(response)


@sender("call", twilio=True, accepts=is_number)
def send_call(row, out: Outbound) -> str:
    payload = row.payload or {}
    end = parse(payload.get("window_end"))
    if end and end < out.now:
        raise PermanentError(f"the callback window ended at {payload['window_end']}")
    caller_id = out.settings.twilio.voice_from
    if not caller_id:
        raise PermanentError("TWILIO_VOICE_FROM (or TWILIO_SMS_FROM) is not set")
    twiml = callback_twiml(row.body, payload["customer"], caller_id)
    return out.twilio().calls.create(to=payload["agent"], from_=caller_id, twiml=twiml).sid


@sender("note")
def send_note(row, out: Outbound) -> str:
    return str(out.add_note(row.reference, "notifier", row.body).get("id"))


@sender("in_page")
def send_in_page(row, out: Outbound) -> None:
    return None  # written "sent": the chat page shows the reply from the ticket itself


# --- sending a row -----------------------------------------------------------------------------

class Senders:
    def __init__(self, settings: Settings, twilio_client=None):
        self.settings = settings
        self._twilio = twilio_client

    def send(self, row, now: datetime, add_note) -> str | None:
        """Send; return the provider's id. Raises on failure."""
        found = find(row.channel)
        if found is None:
            raise PermanentError(f"no sender for channel {row.channel!r}")
        return found.send(row, Outbound(self.settings, self.twilio, now, add_note))

    def twilio(self):
        t = self.settings.twilio
        if not (t.account_sid and t.auth_token):
            raise PermanentError("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
        if self._twilio is None:
            self._twilio = twilio_rest.client(t.account_sid, t.auth_token)
        return self._twilio
