"""What the Twilio messaging intakes share (services/common/channels/twilio_messaging.py),
seen through WhatsApp: the region of a message, and Twilio's media fields."""

from __future__ import annotations

import pytest

from services.common.channels import twilio_messaging
from services.common.channels.regions import RegionMap
from services.intake_whatsapp import messages

INTAKE_ID, AT = "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "2026-07-01T10:00:00+00:00"


def whatsapp(number: str) -> dict:
    return {"MessageSid": "SM" + "b" * 32, "From": f"whatsapp:{number}", "To": "whatsapp:+14155238886",
            "Body": "Olá", "NumMedia": "0", "ProfileName": "Ana"}


def test_a_whatsapp_message_carries_the_region_of_its_senders_number():
    channel = messages.channel(RegionMap(), number_region="us", default_language="en")
    complaint = channel.to_complaint(channel.parse(whatsapp("+351912345678")), INTAKE_ID, AT, None)
    assert (complaint.region, complaint.region_source) == ("pt", "WhatsApp number +351 (PT)")
    assert complaint.customer.whatsapp == "+351912345678"


def test_a_whatsapp_sender_of_no_country_gets_our_numbers_region():
    channel = messages.channel(RegionMap(), number_region="PT", default_language="en")
    complaint = channel.to_complaint(channel.parse(whatsapp("+80012345678")), INTAKE_ID, AT, None)
    assert (complaint.region, complaint.region_source) == ("pt", "Twilio number +14155238886")


def test_media_beyond_what_twilio_sends_is_not_read_and_a_missing_url_is_named():
    errors: dict[str, str] = {}
    fields = {"NumMedia": "12", **{f"MediaUrl{i}": f"https://api.twilio.com/M/ME{i}" for i in range(12)}}
    assert len(twilio_messaging.media(fields, errors)) == twilio_messaging.MAX_MEDIA and errors == {}
    with pytest.raises(twilio_messaging.InvalidMessage) as caught:
        messages.parse_inbound({**whatsapp("+351912345678"), "NumMedia": "2", "MediaUrl0": "https://x/ME0"})
    assert caught.value.errors == {"MediaUrl1": "missing, NumMedia is 2"}
