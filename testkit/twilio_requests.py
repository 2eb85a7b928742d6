"""Posting to the Twilio webhooks as Twilio does: form-encoded, signed with
the account's auth token over the public URL Twilio was configured with.

The signature is computed by the twilio package itself
(RequestValidator.compute_signature), so the services are checked against
Twilio's algorithm, not against a copy of it.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from twilio.request_validator import RequestValidator

from services.common import topology
from services.common.contract import ComplaintReceived

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
        return requests.post(self.local_url + path_and_query, data=params, headers=headers, timeout=20)

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


# --- the services and what they hold -----------------------------------------------------


def start_intake(services, name: str, tmp_path, public_url: str, **env):
    """intake_whatsapp or intake_voice as its own process, on its own SQLite file
    (tmp_path/<name>.db), behind the given public URL -> (process, Twilio calling it)."""
    env.setdefault(f"{name.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / (name + '.db')}")
    variable = {"intake_whatsapp": "PUBLIC_WHATSAPP_URL", "intake_voice": "PUBLIC_VOICE_URL"}[name]
    env.setdefault(f"{name.upper()}_WORKERS", 2)
    proc = services.start(name, TWILIO_AUTH_TOKEN=AUTH_TOKEN, **{variable: public_url}, **env)
    return proc, Twilio(proc.url, public_url)


@pytest.fixture
def tickets(database_url, services, rabbit):
    """The tickets service on SQLite and on PostgreSQL (one run of the test each)."""
    return services.start("tickets", DATABASE_URL=database_url)


@pytest.fixture
def tickets_sqlite(tmp_path, services, rabbit):
    return services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'tickets.db'}")


def ticket(tickets, reference: str) -> dict | None:
    resp = requests.get(f"{tickets.url}/tickets/{reference}", timeout=5)
    return resp.json() if resp.status_code == 200 else None


def queued(rabbit) -> list[ComplaintReceived]:
    """The complaints waiting for the tickets service, read and put back."""
    if rabbit.queue(topology.COMPLAINTS_QUEUE) is None:
        return []
    return [ComplaintReceived.from_dict(json.loads(m["payload"]))
            for m in rabbit.get_messages(topology.COMPLAINTS_QUEUE, count=50)]


def metric(url: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(requests.get(f"{url}/metrics", timeout=5).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not in /metrics")
