"""Prometheus metrics of the email intake (prefix complaints_email_)."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from .screening import REASONS

SEEN = Counter("complaints_email_messages_seen_total", "Messages read from a mailbox", ["mailbox"])
INGESTED = Counter("complaints_email_ingested_total", "Messages published as complaints and confirmed by the broker",
                   ["mailbox"])
SKIPPED = Counter("complaints_email_skipped_total", "Messages recorded as not a complaint, by reason",
                  ["mailbox", "reason"])
DUPLICATES = Counter("complaints_email_duplicates_total",
                     "Messages already handled before (a re-scan after a UIDVALIDITY change, a second copy)",
                     ["mailbox"])
REUSED_IDS = Counter("complaints_email_reused_message_ids_total",
                     "Messages reusing an earlier message's Message-ID with other content (each still handled)",
                     ["mailbox"])
QUARANTINED = Counter("complaints_email_quarantined_total", "Messages that could not become a complaint",
                      ["mailbox"])
POLL_ERRORS = Counter("complaints_email_poll_errors_total",
                      "Failed connections, polls and publishes (each followed by a reconnect with backoff)",
                      ["mailbox"])
MARK_ERRORS = Counter("complaints_email_mark_errors_total",
                      "Handled messages that could not be flagged or moved (never read twice because of it)",
                      ["mailbox"])
LAG = Gauge("complaints_email_lag_seconds",
            "Age of the oldest message not yet handled (since it reached the mailbox); 0 when drained",
            ["mailbox"])
CONNECTED = Gauge("complaints_email_connected", "1 while the mailbox's IMAP connection is up", ["mailbox"])


def register(mailbox: str) -> None:
    """Every series exists from the start, so a rate() or an alert sees 0, not nothing."""
    for metric in (SEEN, INGESTED, DUPLICATES, REUSED_IDS, QUARANTINED, POLL_ERRORS, MARK_ERRORS, LAG, CONNECTED):
        metric.labels(mailbox)
    for reason in REASONS:
        SKIPPED.labels(mailbox, reason)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
