"""Prometheus metrics of the web intake (prefix complaints_intake_), for its
two channels: the web form (and tracking-page messages) and the web chat.

Under gunicorn every worker is its own process; __main__ sets
PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
Without it (tests, a single process) the default registry is served.
"""

from prometheus_client import Counter, Histogram

from services.common.gunicorn_main import metrics_response

CHANNEL = "web"
CHANNELS = ("web", "chat")
REASONS = ("invalid", "bad_json", "too_large", "unsupported_media_type", "broker_unavailable")
SUGGESTION_OUTCOMES = ("shown", "none", "unavailable")

RECEIVED = Counter("complaints_intake_received_total", "Complaints confirmed by the broker, by channel",
                   ["channel"])
REJECTED = Counter("complaints_intake_rejected_total", "Complaints refused at the edge, by channel and reason",
                   ["channel", "reason"])
PUBLISH_SECONDS = Histogram("complaints_intake_publish_seconds",
                            "Time from publish to the broker's confirm (or failure)")
SUGGESTIONS = Counter("complaints_intake_kb_suggestions_total",
                      "Knowledge-base look-ups while a customer writes, by outcome", ["outcome"])

# Every series exists from the start, so a rate() or an alert sees 0, not nothing.
for _channel in CHANNELS:
    RECEIVED.labels(_channel)
    for _reason in REASONS:
        REJECTED.labels(_channel, _reason)
for _outcome in SUGGESTION_OUTCOMES:
    SUGGESTIONS.labels(_outcome)


def received(channel: str = CHANNEL) -> None:
    RECEIVED.labels(channel).inc()


def rejected(reason: str, channel: str = CHANNEL) -> None:
    if reason not in REASONS or channel not in CHANNELS:  # keep the label set bounded whatever a caller passes
        raise ValueError(f"unknown rejection reason {reason!r} or channel {channel!r}")
    REJECTED.labels(channel, reason).inc()


def suggestions(outcome: str) -> None:
    SUGGESTIONS.labels(outcome).inc()


def render():
    return metrics_response()
