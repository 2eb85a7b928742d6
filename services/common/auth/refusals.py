"""How many internal calls were refused, by service and reason (a metric every
service exports from the default registry)."""

from __future__ import annotations

from prometheus_client import Counter

REFUSED = Counter("complaints_internal_calls_refused", "Internal calls refused for want of a valid credential",
                  ["service", "reason"])


def count(service: str, reason: str) -> None:
    REFUSED.labels(service, reason).inc()
