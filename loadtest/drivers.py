"""Customers, simulated: each driver sends one complaint through a real intake
the way its real client does, and reports what the intake answered.

An outcome is "accepted" only on the answer that promises the complaint is
kept (a 2xx); "rejected" on a 5xx (the intake says: try again); "failed" when
no answer came (connection refused or reset while a service was down).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import requests

CATEGORIES = ("billing", "technical", "delivery", "product", "service")
LANGUAGES = ("en", "pt", "de", "es")
REFERENCE = re.compile(r"C-[0-9A-HJKMNP-TV-Z]{10}")


@dataclass
class Outcome:
    channel: str
    key: str                      # the channel's idempotency key (submission id, MessageSid, ...)
    status: str                   # accepted | rejected | failed
    http_status: int | None = None
    reference: str | None = None
    sent_at: float = field(default_factory=time.time)
    accepted_at: float | None = None
    detail: str = ""
    address: str = ""             # where the customer's acknowledgement should go
    acknowledged_in_answer: bool = False   # the answer itself thanked the customer (WhatsApp's TwiML)


class WebFormDriver:
    """POST /complaints on intake_chat, JSON, with a submission id (as the page sends it)."""

    channel = "web"

    def __init__(self, base_url: str, timeout: float = 10):
        self.url = base_url.rstrip("/") + "/complaints"
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, n: int) -> Outcome:
        key = str(uuid.uuid4())
        body = {"submission_id": key, "name": f"Customer {n}", "email": f"customer{n}@example.org",
                "subject": f"Complaint {n}", "body": f"Complaint number {n}: something went wrong.",
                "category": CATEGORIES[n % len(CATEGORIES)], "language": LANGUAGES[n % len(LANGUAGES)]}
        started = time.time()
        try:
            resp = self.session.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            self.session = requests.Session()
            return Outcome(self.channel, key, "failed", sent_at=started, detail=type(exc).__name__)
        if 200 <= resp.status_code < 300:
            return Outcome(self.channel, key, "accepted", resp.status_code, resp.json().get("reference"),
                           started, time.time(), address=body["email"])
        status = "rejected" if resp.status_code >= 500 else "refused"
        return Outcome(self.channel, key, status, resp.status_code, sent_at=started, detail=resp.text[:200])


class TwilioDriver:
    """Posts form-encoded webhooks signed as Twilio signs them (RequestValidator over
    the public URL the service was configured with)."""

    def __init__(self, local_url: str, public_url: str, auth_token: str, timeout: float = 10):
        from twilio.request_validator import RequestValidator

        self.local_url, self.public_url = local_url.rstrip("/"), public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, path: str, params: dict) -> requests.Response:
        signature = self.validator.compute_signature(self.public_url + path, params)
        return self.session.post(self.local_url + path, data=params, timeout=self.timeout,
                                 headers={"X-Twilio-Signature": signature})

    def outcome(self, key: str, started: float, call, address: str) -> Outcome:
        try:
            resp = call()
        except requests.RequestException as exc:
            self.session = requests.Session()
            return Outcome(self.channel, key, "failed", sent_at=started, detail=type(exc).__name__)
        if 200 <= resp.status_code < 300:
            match = REFERENCE.search(resp.text)
            return Outcome(self.channel, key, "accepted", resp.status_code, match and match.group(0), started,
                           time.time(), address=address, acknowledged_in_answer="<Message>" in resp.text)
        status = "rejected" if resp.status_code >= 500 else "refused"
        return Outcome(self.channel, key, status, resp.status_code, sent_at=started, detail=resp.text[:200])


class WhatsAppDriver(TwilioDriver):
    """An inbound WhatsApp message, each from its own number (so each is a new ticket)."""

    channel = "whatsapp"

    def send(self, n: int) -> Outcome:
        key = "SM" + uuid.uuid4().hex
        number = f"+3519{n:08d}"
        params = {"MessageSid": key, "SmsMessageSid": key, "AccountSid": "AC" + "0" * 32,
                  "From": f"whatsapp:{number}", "To": "whatsapp:+14155238886", "Body": f"Complaint {n} by WhatsApp",
                  "NumMedia": "0", "ProfileName": f"Customer {n}", "WaId": number[1:]}
        return self.outcome(key, time.time(), lambda: self.post("/messages", params), f"whatsapp:{number}")


class VoiceDriver(TwilioDriver):
    """A caller who leaves a voicemail: the call comes in, then the recording's status
    callback (accepted when it is answered 2xx, i.e. the broker confirmed)."""

    channel = "voice"

    def send(self, n: int) -> Outcome:
        key = "CA" + uuid.uuid4().hex
        call = {"CallSid": key, "AccountSid": "AC" + "0" * 32, "From": f"+4420{n:08d}", "To": "+15005550006",
                "CallStatus": "in-progress"}
        recording = {**call, "RecordingSid": "RE" + uuid.uuid4().hex, "RecordingStatus": "completed",
                     "RecordingUrl": f"https://api.twilio.example/recordings/{key}", "RecordingDuration": "12"}

        def call_then_record():
            first = self.post("/calls", call)
            return first if first.status_code >= 300 else self.post("/recording-status", recording)

        return self.outcome(key, time.time(), call_then_record, call["From"])  # an SMS to the caller
