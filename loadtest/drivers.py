"""Customers, simulated: each driver sends one complaint through a real intake
the way its real client does, and reports what the intake answered.

An outcome is "accepted" only on the answer that promises the complaint is
kept (a 2xx); "rejected" on a 5xx (the intake says: try again); "failed" when
no answer came (connection refused or reset while a service was down).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import requests

CATEGORIES = ("billing", "technical", "delivery", "product", "service")
LANGUAGES = ("en", "pt", "de", "es")


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
                           started, time.time())
        status = "rejected" if resp.status_code >= 500 else "refused"
        return Outcome(self.channel, key, status, resp.status_code, sent_at=started, detail=resp.text[:200])
