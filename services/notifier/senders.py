"""Sending one outbox row on its channel: email (SMTP), SMS and WhatsApp messages
and callback calls (Twilio REST), notes on the ticket (tickets RPC)."""

from __future__ import annotations

from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from services.common.channels import twilio_rest

from . import email_out
from .channels import CALL, EMAIL, NOTE, SMS, WHATSAPP
from .plan import parse_time
from .settings import Settings


class PermanentError(RuntimeError):
    """Retrying cannot help (nothing configured to send with, a window that has passed)."""


def whatsapp(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def callback_twiml(say: str, customer: str, caller_id: str | None) -> str:
    """Said to the agent once they answer, then the customer is dialled: the customer
    never waits on hold for an agent who does not pick up."""
    response = VoiceResponse()
    response.say(say)
    response.dial(customer, caller_id=caller_id, timeout=30)
    return str(response)


class Senders:
    def __init__(self, settings: Settings, twilio_client=None):
        self.settings = settings
        self._twilio = twilio_client

    def send(self, row, now: datetime, add_note) -> str | None:
        """Send; return the provider's id (Message-ID, Twilio SID, note id). Raises on failure."""
        if row.channel == EMAIL:
            return email_out.send(self.settings.smtp, email_out.build(row.recipient, row.subject, row.body,
                                                                      row.headers or {}))
        if row.channel in (SMS, WHATSAPP):
            return self._message(row)
        if row.channel == CALL:
            return self._call(row, now)
        if row.channel == NOTE:
            # add_note: the tickets service's RPC (reference, author, body) -> the note
            return str(add_note(row.reference, "notifier", row.body).get("id"))
        raise PermanentError(f"no sender for channel {row.channel!r}")

    def twilio(self):
        t = self.settings.twilio
        if not (t.account_sid and t.auth_token):
            raise PermanentError("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
        if self._twilio is None:
            self._twilio = twilio_rest.client(t.account_sid, t.auth_token)
        return self._twilio

    def _message(self, row) -> str:
        t = self.settings.twilio
        if row.channel == WHATSAPP:
            if not t.whatsapp_from:
                raise PermanentError("TWILIO_WHATSAPP_FROM is not set")
            to, sender = whatsapp(row.recipient), whatsapp(t.whatsapp_from)
        else:
            if not t.sms_from:
                raise PermanentError("TWILIO_SMS_FROM is not set")
            to, sender = row.recipient, t.sms_from
        return self.twilio().messages.create(to=to, from_=sender, body=row.body).sid

    def _call(self, row, now: datetime) -> str:
        payload = row.payload or {}
        end = parse_time(payload.get("window_end"))
        if end and end < now:
            raise PermanentError(f"the callback window ended at {payload['window_end']}")
        caller_id = self.settings.twilio.voice_from
        if not caller_id:
            raise PermanentError("TWILIO_VOICE_FROM (or TWILIO_SMS_FROM) is not set")
        twiml = callback_twiml(row.body, payload["customer"], caller_id)
        return self.twilio().calls.create(to=payload["agent"], from_=caller_id, twiml=twiml).sid
