"""Prometheus metrics of the tickets service (prefix complaints_)."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from werkzeug.wrappers import Response

from services.common.contract.vocabulary import OPEN_STATUSES, PRIORITIES

INGESTED = Counter("complaints_tickets_messages_total",
                   "Complaint messages consumed, by channel and outcome (created, appended, duplicate)",
                   ["channel", "outcome"])
INGEST_SECONDS = Histogram("complaints_tickets_ingest_seconds",
                           "Time to turn one ComplaintReceived into a committed ticket change")
QUARANTINED = Counter("complaints_tickets_quarantined_total",
                      "Messages kept aside because they can never become a ticket", ["reason"])
STORED_AS_ASCII = Counter("complaints_tickets_stored_as_ascii_total",
                          "Complaints the database refused as received, stored as an ASCII copy with the raw "
                          "message in a note (never left dead)")
REPAIRED = Counter("complaints_tickets_repaired_total",
                   "Complaint messages whose text had characters no database holds (NUL, broken Unicode), "
                   "replaced and noted on the ticket", ["channel"])
DEAD_LETTERS_MOVED = Counter("complaints_tickets_dead_letters_moved_total",
                             "Dead-lettered complaints the watcher replayed or parked again", ["action"])
OUTBOX_PENDING = Gauge("complaints_tickets_outbox_pending", "Ticket events written but not yet published")
DEAD_LETTERS = Gauge("complaints_tickets_dead_letters",
                     "Complaints parked in the dead-letter queue (the last value read from the broker)")
PARKED_DECISIONS = Gauge("complaints_tickets_assignments_parked",
                         "Router decisions parked in tickets.assignments.dead (malformed, or failing every "
                         "delivery; the last value read from the broker)")
DEAD_LETTER_CHECK_ERRORS = Counter("complaints_tickets_dead_letter_check_errors_total",
                                   "Scrapes at which the broker could not be asked for a parking queue's depth")
SLA_BREACHES = Counter("complaints_sla_breaches_total",
                       "Tickets that missed their first-response target (counted once, when flagged)", ["priority"])
ASSIGNMENTS = Counter("complaints_tickets_assignments_total",
                      "Router decisions (ticket_assigned, ticket_unassigned) taken from the assignments queue, by "
                      "outcome: applied, no_op (already so), superseded (an agent changed it since), skipped "
                      "(ticket unknown or not open), malformed (parked)", ["outcome"])
OPEN = Gauge("complaints_tickets_open", "Open tickets by status and priority", ["status", "priority"])


ERASURES_PENDING = Gauge("complaints_privacy_erasures_pending",
                         "Erasure requests not yet answered by every service holding personal data")
ERASURE_REPORTS = Counter("complaints_privacy_erasure_reports_total",
                          "Services' answers to erasure requests, by service and outcome (recorded, again, unknown, "
                          "malformed)", ["service", "outcome"])


def render(store, dead_letter_depth, parked_decisions_depth, erasures_pending=lambda: 0) -> Response:
    ERASURES_PENDING.set(erasures_pending())
    # Open counts come from the database at scrape time, so every replica
    # reports the same truth rather than its own share.
    counts = store.open_counts()
    for status in OPEN_STATUSES:
        for priority in PRIORITIES:
            OPEN.labels(str(status), str(priority)).set(counts.get((status, priority), 0))
    OUTBOX_PENDING.set(store.outbox_pending())
    for gauge, depth in ((DEAD_LETTERS, dead_letter_depth), (PARKED_DECISIONS, parked_decisions_depth)):
        try:
            gauge.set(depth())
        except Exception:  # a scrape must not fail because the broker is away; keep the last value
            DEAD_LETTER_CHECK_ERRORS.inc()
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
