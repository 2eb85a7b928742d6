"""Prometheus metrics of the web intake, for its two channels: the web form
(and tracking-page messages) and the web chat. The intake counters are the
ones every intake keeps (services/common/intake_metrics.py); the suggestion
and idempotency-conflict counters are this intake's own.

Under gunicorn every worker is its own process; __main__ sets
PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
"""

from prometheus_client import Counter

from services.common.intake_metrics import PUBLISH_SECONDS, IntakeMetrics
from services.common.web.gunicorn_main import metrics_response

__all__ = ["PUBLISH_SECONDS", "conflict", "duplicate", "received", "rejected", "render", "suggestions"]

CHANNEL = "web"
REASONS = ("invalid", "bad_json", "too_large", "unsupported_media_type", "broker_unavailable",
           "database_unavailable")
SUGGESTION_OUTCOMES = ("shown", "none", "unavailable")

CHANNELS = {name: IntakeMetrics(name, REASONS) for name in ("web", "chat")}
SUGGESTIONS = Counter("complaints_intake_kb_suggestions_total",
                      "Knowledge-base look-ups while a customer writes, by outcome", ["outcome"])
for _outcome in SUGGESTION_OUTCOMES:
    SUGGESTIONS.labels(_outcome)
CONFLICTS = Counter("complaints_intake_idempotency_conflicts_total",
                    "Posts refused (409) because their idempotency key came first with other content",
                    ["channel"])
for _channel in CHANNELS:
    CONFLICTS.labels(_channel)


def received(channel: str = CHANNEL) -> None:
    CHANNELS[channel].received()


def duplicate(channel: str = CHANNEL) -> None:
    """A retry of a key already claimed for the same content (answered like the first)."""
    CHANNELS[channel].duplicate()


def rejected(reason: str, channel: str = CHANNEL) -> None:
    CHANNELS[channel].rejected(reason)


def conflict(channel: str) -> None:
    CONFLICTS.labels(channel).inc()


def suggestions(outcome: str) -> None:
    SUGGESTIONS.labels(outcome).inc()


def render():
    return metrics_response()
