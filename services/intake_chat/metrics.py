"""Prometheus metrics of the web intake, for its two channels: the web form
(and tracking-page messages) and the web chat. The intake counters are the
ones every intake keeps (services/common/intake_metrics.py); the suggestion
and abuse-protection counters (rate limits, honeypot; see abuse.py) and the
idempotency-conflict counters are this intake's own.

Under gunicorn every worker is its own process; __main__ sets
PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
"""

from prometheus_client import Counter

from services.common.intake_metrics import PUBLISH_SECONDS, IntakeMetrics
from services.common.web.gunicorn_main import metrics_response

__all__ = ["PUBLISH_SECONDS", "conflict", "duplicate", "honeypot", "rate_limit_fallback", "rate_limited", "received",
           "rejected", "render", "suggestions"]

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

RATE_LIMITED = Counter("complaints_intake_rate_limited_total",
                       "Requests refused with 429 by a rate limit, by endpoint and limit", ["endpoint", "limit"])
HONEYPOT = Counter("complaints_intake_honeypot_total",
                   "Posts refused with 422 because the hidden honeypot field was filled, by channel", ["channel"])
for _channel in CHANNELS:
    HONEYPOT.labels(_channel)
RATE_LIMIT_FALLBACK = Counter("complaints_intake_rate_limit_fallback_total",
                              "Requests rate-limited in the process's own memory because the shared "
                              "rate-limit storage (Redis) did not answer")


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


def rate_limited(endpoint: str, limit: str) -> None:
    RATE_LIMITED.labels(endpoint, limit).inc()


def honeypot(channel: str) -> None:
    HONEYPOT.labels(channel).inc()


def rate_limit_fallback() -> None:
    RATE_LIMIT_FALLBACK.inc()


def render():
    return metrics_response()
