"""Posting to the Twilio webhooks as Twilio does: form-encoded, signed with
the account's auth token over the public URL Twilio was configured with.

The signature is computed by the twilio package itself
(RequestValidator.compute_signature), so the services are checked against
Twilio's algorithm, not against a copy of it. Plain requests and parsing:
the intakes as processes are in testkit/twilio_intakes.py.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import requests
from twilio.request_validator import RequestValidator

from testkit import api

AUTH_TOKEN = "test-twilio-auth-token-0123456789"
ACCOUNT_SID = "AC" + "0" * 32


def sid(prefix: str) -> str:
    """A fresh Twilio-style id: 'SM' + 32 hex digits for a message, 'CA' for a call."""
    return prefix + uuid.uuid4().hex


class Twilio:
    """Twilio calling one service: requests go to `local_url` (where the service
    listens), signatures are over `public_url` (what Twilio was told)."""

    def __init__(self, local_url: str, public_url: str, token: str = AUTH_TOKEN):
        self.local_url = local_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(token)

    def signature(self, path_and_query: str, params: dict) -> str:
        return self.validator.compute_signature(self.public_url + path_and_query, params)

    def post(self, path_and_query: str, params: dict, signature: str | None = "sign") -> requests.Response:
        """signature='sign' signs it properly; None sends no signature; any other string is sent as is."""
        headers = {"User-Agent": "TwilioProxy/1.1"}
        if signature == "sign":
            signature = self.signature(path_and_query, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return api.post(self.local_url + path_and_query, data=params, headers=headers, timeout=20)

    def follow(self, url: str, params: dict) -> requests.Response:
        """Request an absolute public URL found in TwiML (an action), as Twilio would."""
        assert url.startswith(self.public_url + "/"), f"{url} is not under {self.public_url}"
        return self.post(url[len(self.public_url):], params)


def twiml(response: requests.Response) -> ET.Element:
    """The TwiML document of an answer, parsed; fails unless it is one."""
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    assert response.headers["Content-Type"].startswith(("application/xml", "text/xml")), response.headers
    root = ET.fromstring(response.content)
    assert root.tag == "Response", response.text
    return root


def whatsapp_message(number: str, body: str, **extra) -> dict:
    """The fields Twilio posts for an inbound WhatsApp message."""
    message_sid = extra.pop("MessageSid", None) or sid("SM")
    fields = {
        "SmsMessageSid": message_sid, "MessageSid": message_sid, "SmsSid": message_sid,
        "AccountSid": ACCOUNT_SID, "MessagingServiceSid": "MG" + "1" * 32,
        "From": f"whatsapp:{number}", "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0",
        "NumSegments": "1", "ProfileName": "Ana Silva", "WaId": number.lstrip("+"), "SmsStatus": "received",
        "ReferralNumMedia": "0", "MessageType": "text", "ApiVersion": "2010-04-01",
    }
    fields.update(extra)
    return fields


RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/"


def recording_params(call_sid, recording_sid, duration="42") -> dict:
    """The recording fields Twilio posts about a voicemail."""
    return {"RecordingSid": recording_sid, "RecordingUrl": RECORDING_URL + recording_sid,
            "RecordingDuration": duration}
