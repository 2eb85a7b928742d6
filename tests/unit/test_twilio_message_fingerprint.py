"""The content a Twilio MessageSid is bound to (twilio_messaging.content_fingerprint):
Twilio's retry repeats the fields and has the first delivery's fingerprint; another
text, sender, recipient or media under one MessageSid does not."""

from __future__ import annotations

from services.common.channels import twilio_messaging
from services.intake_sms import messages as sms
from services.intake_whatsapp import messages
from testkit.twilio_requests import whatsapp_message

ANA = "+351912345678"


def test_the_fingerprint_is_the_same_for_twilios_retry_and_another_for_anything_else():
    fields = whatsapp_message(ANA, "Hello", MessageSid="SM" + "5" * 32)
    first = messages.parse_inbound(fields)

    def fp(**changed):
        return twilio_messaging.content_fingerprint(messages.parse_inbound({**fields, **changed}), "secret")

    assert fp() == twilio_messaging.content_fingerprint(first, "secret")
    assert fp(ProfileName="Ana S.") == fp()     # not what the message says
    for changed in ({"Body": "Hello!"}, {"From": "whatsapp:+351912345679"}, {"To": "whatsapp:+15005550007"},
                    {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/ME1", "MediaContentType0": "image/png"}):
        assert fp(**changed) != fp(), changed
    assert twilio_messaging.content_fingerprint(first, "another secret") != fp()


def test_an_sms_and_its_retry_agree_whatever_the_carrier_says_of_the_sender():
    fields = {"MessageSid": "SM" + "6" * 32, "From": ANA, "To": "+15005550006", "Body": "Hi", "NumMedia": "0"}
    first = twilio_messaging.content_fingerprint(sms.parse_inbound(fields), "secret")
    assert twilio_messaging.content_fingerprint(sms.parse_inbound({**fields, "FromCity": "LISBOA"}), "secret") == first
    assert twilio_messaging.content_fingerprint(sms.parse_inbound({**fields, "Body": "Hi?"}), "secret") != first
