"""A MessageSid is bound to what the message said, on every Twilio messaging intake
(WhatsApp, SMS): Twilio's retry repeats the fields and is a duplicate, answered
as before; the same MessageSid with another text is not Twilio's retry, and is
kept in the quarantine and answered 409 instead of being dropped as a
duplicate. Signed webhooks over real HTTP to the service process, a real
RabbitMQ, its tables on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy

from services.common.channels import twilio_messaging
from services.common.storage.db import make_engine
from services.intake_whatsapp import messages, migrate
from services.intake_whatsapp.store import WhatsAppStore
from testkit.twilio_intakes import metric, queued
from testkit.twilio_requests import AUTH_TOKEN, Twilio, sid, whatsapp_message
from testkit.waiting import wait_for

ANA = "+351912345678"
CHANNELS = {
    "whatsapp": ("intake_whatsapp", "PUBLIC_WHATSAPP_URL", "https://example.com/whatsapp"),
    "sms": ("intake_sms", "PUBLIC_SMS_URL", "https://example.com/sms"),
}


def inbound(channel: str, body: str, message_sid: str) -> dict:
    if channel == "whatsapp":
        return whatsapp_message(ANA, body, MessageSid=message_sid)
    return {"MessageSid": message_sid, "SmsMessageSid": message_sid, "SmsSid": message_sid,
            "AccountSid": "AC" + "0" * 32, "From": ANA, "To": "+15005550006", "Body": body, "NumMedia": "0",
            "FromCountry": "PT", "ApiVersion": "2010-04-01"}


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_message_sid_sent_again_with_another_text_is_quarantined_not_taken_as_a_duplicate(
        channel, database_url, services, rabbit):
    name, variable, public = CHANNELS[channel]
    proc = services.start(name, TWILIO_AUTH_TOKEN=AUTH_TOKEN, **{variable: public},
                          **{f"{name.upper()}_DATABASE_URL": database_url})
    twilio = Twilio(proc.url, public)
    message_sid = sid("SM")
    first = inbound(channel, "My internet is down since Monday.", message_sid)

    assert twilio.post("/messages", first).status_code == 200
    assert twilio.post("/messages", first).status_code == 200          # Twilio's retry: a duplicate
    other = twilio.post("/messages", inbound(channel, "Cancel my contract.", message_sid))

    assert other.status_code == 409
    assert "other content" in other.text and "C-" not in other.text
    [complaint] = wait_for(lambda: queued(rabbit), message="the first message on the queue")
    assert complaint.body == "My internet is down since Monday."
    assert metric(proc.url, "complaints_intake_duplicates_total", channel=channel) == 1
    assert metric(proc.url, "complaints_intake_rejected_total", channel=channel, reason="reused_id") == 1

    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            [(raw, reason)] = conn.execute(sqlalchemy.text(
                f"SELECT raw, reason FROM {channel}_quarantine WHERE message_sid = :sid"), {"sid": message_sid}).all()
            kept = conn.execute(sqlalchemy.text(
                f"SELECT content_fingerprint FROM {channel}_messages WHERE message_sid = :sid"),
                {"sid": message_sid}).scalar()
    finally:
        engine.dispose()
    assert (json.loads(raw) if isinstance(raw, str) else raw)["Body"] == "Cancel my contract."
    assert "other content" in reason
    assert len(kept) == 64 and "internet" not in kept


def test_a_message_recorded_before_fingerprints_were_kept_is_not_compared(tmp_path):
    url = f"sqlite:///{tmp_path / 'whatsapp.db'}"
    migrate.upgrade(url)
    store = WhatsAppStore(make_engine(url))
    message_sid = "SM" + "4" * 32
    old = messages.parse_inbound(whatsapp_message(ANA, "first", MessageSid=message_sid))
    retry = messages.parse_inbound(whatsapp_message(ANA, "first, as Twilio retries it", MessageSid=message_sid))

    store.record(old, "id-1", "C-AAAAAAAAAA", 3600)   # as rows from before the column: no fingerprint
    again = store.record(retry, "id-1", "C-AAAAAAAAAA", 3600, twilio_messaging.content_fingerprint(retry, "s"))

    assert again.ack_reference == "C-AAAAAAAAAA" and again.claim is None
    store.engine.dispose()
