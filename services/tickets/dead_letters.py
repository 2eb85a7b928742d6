"""What a dead-lettered complaint is and what to do with it, in plain Python.

A complaint reaches `tickets.complaints.dead` when every delivery failed for a
reason outside the message (the database away through all its retries, the
service killed mid-work), or at once when it is not even JSON. The first kind
is worth another try once the tickets service is healthy again; the watcher
replays it a few times (`auto_replays`), then leaves it parked for an
operator. Bytes that are not a complaint are parked at once. Either way the
reference is recorded, so the customer's tracking page says "delayed".
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from services.common.contract.reference import reference_for
from services.common.messaging import topology

REPLAY, PARK = "replay", "park"


@dataclass(frozen=True)
class DeadLetter:
    key: str  # the intake id, or sha256:<hex> of bytes that are not a complaint
    reference: str | None
    reason: str
    deaths: int  # how many times it died in the work queue

    @property
    def is_complaint(self) -> bool:
        return self.reference is not None


def read(body: bytes, headers: dict | None) -> DeadLetter:
    deaths = [d for d in (headers or {}).get("x-death") or [] if isinstance(d, dict)]
    in_work_queue = [d for d in deaths if d.get("queue") == topology.COMPLAINTS_QUEUE] or deaths
    count = sum(int(d.get("count") or 1) for d in in_work_queue) or 1
    reasons = sorted({str(d.get("reason")) for d in in_work_queue}) or ["unknown"]
    intake_id = _intake_id(body)
    if intake_id is None:
        return DeadLetter("sha256:" + hashlib.sha256(body).hexdigest(), None,
                          "not a complaint (not JSON with an intake_id): " + ", ".join(reasons), count)
    return DeadLetter(intake_id, reference_for(intake_id), ", ".join(reasons), count)


def decide(letter: DeadLetter, auto_replays: int) -> str:
    return REPLAY if letter.is_complaint and letter.deaths <= auto_replays else PARK


def _intake_id(body: bytes) -> str | None:
    try:
        data = json.loads(body)
        return str(uuid.UUID(str(data["intake_id"])))
    except (ValueError, TypeError, KeyError):
        return None
