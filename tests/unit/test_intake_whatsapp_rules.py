"""The WhatsApp intake's rules without the service: the conversation window,
the inbound fields Twilio posts, and the contract's check before anything is
kept. The intake as Twilio sees it is tests/integration/intake_whatsapp."""

from __future__ import annotations

import pytest

from services.intake_whatsapp import messages
from testkit.twilio_requests import whatsapp_message

ANA = "+351912345678"


def test_the_window_decides_where_a_message_goes():
    open_ = messages.Conversation("C-AAAAAAAAAA", last_message_at=1000.0)
    joined = messages.decide(open_, 1000.0 + 600, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (joined.thread_reference, joined.ack_reference, joined.follow_up) == ("C-AAAAAAAAAA", "C-AAAAAAAAAA", True)

    expired = messages.decide(open_, 1000.0 + 3601, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (expired.thread_reference, expired.conversation_reference, expired.follow_up) == \
        (None, "C-BBBBBBBBBB", False)

    # A typed reference is for the tickets service to check against the sender, not trusted here.
    named = messages.decide(open_, 1000.0 + 5, 3600, "C-BBBBBBBBBB", names_reference=True)
    assert (named.thread_reference, named.conversation_reference, named.ack_reference) == \
        (None, "C-BBBBBBBBBB", "C-BBBBBBBBBB")

    first = messages.decide(None, 1000.0, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (first.thread_reference, first.follow_up) == (None, False)


def test_inbound_fields_are_checked_and_every_problem_named():
    with pytest.raises(messages.InvalidMessage) as caught:
        messages.parse_inbound({"From": "+351912345678", "NumMedia": "1"})
    assert set(caught.value.errors) == {"MessageSid", "From", "MediaUrl0"}
    parsed = messages.parse_inbound(whatsapp_message(ANA, "  hi  ", Latitude="38.7", Longitude="-9.1"))
    assert (parsed.number, parsed.body, parsed.location["latitude"]) == (ANA, "hi", "38.7")
    assert messages.language_for("+351912345678", "en") == "pt"
    assert messages.language_for("+5511987654321", "en") == "pt"
    assert messages.language_for("+447700900123", "en") == "en"


def test_a_message_the_contract_refuses_is_refused_before_its_conversation_is_touched():
    refused = messages.parse_inbound(whatsapp_message(ANA, "x" * 100_001, MessageSid="SM" + "1" * 32))
    with pytest.raises(messages.InvalidMessage) as caught:
        messages.check(refused, "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "2026-07-01T10:00:00+00:00")
    assert set(caught.value.errors) == {"body"}
