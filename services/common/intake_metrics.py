"""Prometheus metrics every intake keeps, under the same names and labels
(complaints_intake_received_total{channel}, complaints_intake_rejected_total{channel,reason},
complaints_intake_publish_seconds), so one dashboard covers every channel.

Under gunicorn every worker is its own process: services/common/gunicorn_main.py
sets PROMETHEUS_MULTIPROC_DIR so /metrics adds up all workers, whichever answers.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter("complaints_intake_received_total", "Complaints confirmed by the broker, by channel",
                   ["channel"])
REJECTED = Counter("complaints_intake_rejected_total", "Complaints refused at the edge, by channel and reason",
                   ["channel", "reason"])
DUPLICATES = Counter("complaints_intake_duplicates_total",
                     "Deliveries of a message already taken (a webhook retried), by channel", ["channel"])
PUBLISH_SECONDS = Histogram("complaints_intake_publish_seconds",
                            "Time from publish to the broker's confirm (or failure)")


class IntakeMetrics:
    """The counters of one channel, with its bounded set of rejection reasons."""

    def __init__(self, channel: str, reasons: tuple[str, ...]):
        self.channel, self.reasons = channel, reasons
        # Every series exists from the start, so a rate() or an alert sees 0, not nothing.
        RECEIVED.labels(channel)
        DUPLICATES.labels(channel)
        for reason in reasons:
            REJECTED.labels(channel, reason)

    def received(self) -> None:
        RECEIVED.labels(self.channel).inc()

    def duplicate(self) -> None:
        DUPLICATES.labels(self.channel).inc()

    def rejected(self, reason: str) -> None:
        if reason not in self.reasons:  # keep the label set bounded whatever a caller passes
            raise ValueError(f"unknown rejection reason {reason!r}")
        REJECTED.labels(self.channel, reason).inc()

    def publishing(self):
        """Context manager timing one publish."""
        return PUBLISH_SECONDS.time()

