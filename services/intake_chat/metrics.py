"""Prometheus metrics of the web intake (prefix complaints_intake_).

Under gunicorn every worker is its own process; __main__ sets
PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
Without it (tests, a single process) the default registry is served.
"""

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.wrappers import Response

CHANNEL = "web"
REASONS = ("invalid", "bad_json", "too_large", "unsupported_media_type", "broker_unavailable")

RECEIVED = Counter("complaints_intake_received_total", "Complaints confirmed by the broker, by channel",
                   ["channel"])
REJECTED = Counter("complaints_intake_rejected_total", "Complaints refused at the edge, by channel and reason",
                   ["channel", "reason"])
PUBLISH_SECONDS = Histogram("complaints_intake_publish_seconds",
                            "Time from publish to the broker's confirm (or failure)")

# Every series exists from the start, so a rate() or an alert sees 0, not nothing.
RECEIVED.labels(CHANNEL)
for _reason in REASONS:
    REJECTED.labels(CHANNEL, _reason)


def received() -> None:
    RECEIVED.labels(CHANNEL).inc()


def rejected(reason: str) -> None:
    if reason not in REASONS:  # keep the label set bounded whatever a caller passes
        raise ValueError(f"unknown rejection reason {reason!r}")
    REJECTED.labels(CHANNEL, reason).inc()


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
