"""The SMS intake's rules without a service: Twilio's fields, the conversation
window, the region and the complaint (plain Python, no broker, no database)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from services.common.channels import twilio_messaging
from services.common.channels.regions import RegionMap
from services.intake_sms import messages

SID = "SM" + "a" * 32
ANA = "+351912345678"


def fields(**extra) -> dict:
    return {"MessageSid": SID, "From": ANA, "To": "+15005550006", "Body": "  The router is broken.  ",
            "NumMedia": "0", **extra}


def test_twilio_fields_become_a_message_with_its_media():
    parsed = messages.parse_inbound(fields(NumMedia="2", MediaUrl0="https://api.twilio.com/x/Media/ME1",
                                           MediaContentType0="image/png", MediaUrl1="https://api.twilio.com/x/ME2",
                                           FromCity="PORTO", FromCountry="PT"))
    assert (parsed.message_sid, parsed.number, parsed.to, parsed.body) == \
        (SID, ANA, "+15005550006", "The router is broken.")
    assert [m.content_type for m in parsed.media] == ["image/png", "application/octet-stream"]
    assert dict(parsed.details) == {"from_city": "PORTO", "from_country": "PT"}


def test_every_missing_or_malformed_field_is_named():
    with pytest.raises(twilio_messaging.InvalidMessage) as caught:
        messages.parse_inbound({"From": "0912 345 678", "To": "", "NumMedia": "1"})
    assert set(caught.value.errors) == {"MessageSid", "From", "To", "MediaUrl0"}
    with pytest.raises(twilio_messaging.InvalidMessage) as caught:
        messages.parse_inbound(fields(MessageSid="SM 1; drop", NumMedia="many"))
    assert set(caught.value.errors) == {"MessageSid", "NumMedia"}


def test_a_short_code_is_accepted_as_our_number():
    assert messages.parse_inbound(fields(To="12345")).to == "12345"


def test_the_complaint_names_the_sender_by_phone_and_the_region_by_the_number():
    inbound = messages.parse_inbound(fields())
    sms = messages.channel(RegionMap(by_country={"PT": "iberia"}), number_region="us")
    complaint = sms.to_complaint(inbound, "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "2026-07-01T10:00:00+00:00",
                                 "C-AAAAAAAAAA")
    assert complaint.channel == "sms" and complaint.customer.phone == ANA
    assert (complaint.region, complaint.region_source) == ("iberia", "SMS number +351 (PT)")
    assert complaint.threading.ticket_reference == "C-AAAAAAAAAA"
    assert complaint.extras == {"message_sid": SID, "to": "+15005550006"}


def test_a_number_of_no_country_takes_our_numbers_region_or_none():
    inbound = messages.parse_inbound(fields(From="+80012345678"))
    guess = messages.channel(RegionMap(), "Iberia").region(inbound)
    assert (guess.region, guess.source) == ("iberia", "Twilio number +15005550006")
    assert messages.channel(RegionMap(), None).region(inbound) is None
    complaint = messages.channel(RegionMap(), None).to_complaint(inbound, "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60",
                                                              "2026-07-01T10:00:00+00:00", None)
    assert (complaint.region, complaint.region_source) == (None, None)


def test_a_body_the_contract_refuses_is_refused_with_its_field():
    inbound = messages.parse_inbound(fields(Body="x" * 100_001))
    with pytest.raises(twilio_messaging.InvalidMessage) as caught:
        messages.to_complaint(inbound, "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "2026-07-01T10:00:00+00:00", None)
    assert set(caught.value.errors) == {"body"}


def test_the_answer_to_twilio_is_empty_twiml():
    answer = messages.channel(RegionMap(), None).answer(None, None, "https://example.com/t")
    root = ElementTree.fromstring(answer)
    assert (root.tag, list(root), (root.text or "").strip()) == ("Response", [], "")


def test_the_window_joins_a_second_message_to_the_first_until_it_passes():
    decide, Conversation = twilio_messaging.decide, twilio_messaging.Conversation
    first = decide(None, 1000.0, 3600, "C-AAAAAAAAAA", names_reference=False)
    assert (first.thread_reference, first.ack_reference, first.follow_up) == (None, "C-AAAAAAAAAA", False)

    open_ = Conversation(first.conversation_reference, last_message_at=1000.0)
    joined = decide(open_, 1000.0 + 3600, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (joined.thread_reference, joined.ack_reference, joined.follow_up) == ("C-AAAAAAAAAA", "C-AAAAAAAAAA", True)

    expired = decide(open_, 1000.0 + 3601, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (expired.thread_reference, expired.conversation_reference) == (None, "C-BBBBBBBBBB")

    # A typed reference is for the tickets service to check against the sender; a given-up start is joined by nobody.
    named = decide(open_, 1005.0, 3600, "C-BBBBBBBBBB", names_reference=True)
    assert (named.thread_reference, named.ack_reference) == (None, "C-BBBBBBBBBB")
    given_up = decide(Conversation("C-AAAAAAAAAA", 1000.0, live=False), 1005.0, 3600, "C-BBBBBBBBBB", False)
    assert given_up.thread_reference is None


def test_a_message_typing_a_reference_says_so():
    assert messages.parse_inbound(fields(Body="About c-7k3m9qx2ab please")).names_reference
    assert not messages.parse_inbound(fields()).names_reference
