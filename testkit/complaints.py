"""A complaint as an intake publishes it, for tests that feed the tickets
service (its store, its process) directly: a web complaint from Ana, billing,
with anything overridden."""

from __future__ import annotations

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso


def web_complaint(**overrides) -> ComplaintReceived:
    data = {
        "schema_version": 1, "intake_id": new_intake_id(), "channel": "web", "received_at": utc_now_iso(),
        "customer": {"name": "Ana", "email": "ana@example.org"}, "subject": "Charged twice",
        "body": "I was charged twice for order 1234.", "category": "billing",
    }
    data["external_id"] = overrides.pop("external_id", data["intake_id"])
    data.update(overrides)
    return ComplaintReceived.from_dict(data)
