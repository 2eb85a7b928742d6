"""Prometheus metrics of the web intake, for its two channels: the web form
(and tracking-page messages) and the web chat. The intake counters are the
ones every intake keeps (services/common/intake_metrics.py); the suggestion
counter is this intake's own.

Under gunicorn every worker is its own process; __main__ sets
PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
"""

from prometheus_client import Counter

from services.common.intake_metrics import PUBLISH_SECONDS, IntakeMetrics
from services.common.web.gunicorn_main import metrics_response

__all__ = ["PUBLISH_SECONDS", "received", "rejected", "render", "suggestions"]

CHANNEL = "web"
REASONS = ("invalid", "bad_json", "too_large", "unsupported_media_type", "broker_unavailable")
SUGGESTION_OUTCOMES = ("shown", "none", "unavailable")

CHANNELS = {name: IntakeMetrics(name, REASONS) for name in ("web", "chat")}
SUGGESTIONS = Counter("complaints_intake_kb_suggestions_total",
                      "Knowledge-base look-ups while a customer writes, by outcome", ["outcome"])
for _outcome in SUGGESTION_OUTCOMES:
    SUGGESTIONS.labels(_outcome)


def received(channel: str = CHANNEL) -> None:
    CHANNELS[channel].received()


def rejected(reason: str, channel: str = CHANNEL) -> None:
    CHANNELS[channel].rejected(reason)


def suggestions(outcome: str) -> None:
    SUGGESTIONS.labels(outcome).inc()


def render():
    return metrics_response()
