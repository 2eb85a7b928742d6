"""Prometheus metrics of the notifier (prefix complaints_)."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from werkzeug.wrappers import Response

NOTIFICATIONS = Counter("complaints_notifications_total",
                        "Outbound messages by channel and outcome (sent, retried, failed, in_page)",
                        ["channel", "outcome"])
SEND_SECONDS = Histogram("complaints_notifications_send_seconds", "Time to hand one message to SMTP or Twilio",
                         ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OUTBOX = Gauge("complaints_notifications_outbox", "Outbox rows by status (from the database at scrape time)",
               ["status"])
EVENTS = Counter("complaints_notifications_events_total", "Events handled (redeliveries included)", ["event_type"])
BAD_EVENTS = Counter("complaints_notifications_bad_events_total", "Events the notifier could not read (logged)")

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


def render(counts: dict[str, int]) -> Response:
    for status in STATUSES:
        OUTBOX.labels(status).set(counts.get(status, 0))
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
