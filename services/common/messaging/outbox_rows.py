"""The row an event becomes in a service's outbox (services/common/outbox.py).

For writers that insert it themselves as part of a larger statement (the router
claims a ticket and records the event in one round trip on PostgreSQL) rather
than through outbox.emit. Same envelope: the payload carries its own event_id,
event_type, schema_version and occurred_at, so a subscriber can deduplicate by event_id.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.common.contract.events import SCHEMA_VERSION


def event_row(event_type: str, payload: dict, at: datetime) -> dict:
    """The outbox columns of one event: event_id, event_type, payload, created_at, attempts."""
    event_id = str(uuid.uuid4())
    return {"event_id": event_id, "event_type": event_type, "created_at": at, "attempts": 0,
            "payload": {"event_id": event_id, "event_type": event_type, "schema_version": SCHEMA_VERSION,
                        "occurred_at": at.isoformat(timespec="milliseconds"), **payload}}
