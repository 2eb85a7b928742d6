"""The privacy work of a service that has no nameko: the gunicorn intakes (one per
worker process, started after the fork) and the email poller. Two daemon threads:

- the erasure consumer reads the service's queue of SubjectErasureRequested
  (transport.request_queue), erases (parts.erase, one transaction), publishes the
  report with confirms and only then acks; a failure puts the request back (after a
  pause), a malformed one is parked. Several workers share the queue; erasure is
  idempotent, so a redelivery only repeats it.
- the retention timer applies the rules at start and every RETENTION_CHECK_SECONDS.

Both reconnect and carry on after any failure: an erasure is never dropped, only
delayed; the coordinator announces unfinished requests again anyway.
"""

from __future__ import annotations

import logging
import threading

from services.common.contract.events import EventError, SubjectErasureCompleted, SubjectErasureRequested, received
from services.common.storage.db import settle_erasure
from services.common.time.clock import iso, now

from . import metrics, transport
from .parts import PrivacyParts
from .retention import Retention

log = logging.getLogger(__name__)
RETRY_PAUSE_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 30.0


class PrivacyWorker:
    def __init__(self, parts: PrivacyParts, amqp_uri: str, rules: Retention | None = None):
        self.parts, self.amqp_uri = parts, amqp_uri
        self.rules = rules or Retention.from_env()
        self.reports = transport.ReportPublisher(amqp_uri)
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._consume, name="privacy-erasures", daemon=True),
                        threading.Thread(target=self._retain, name="privacy-retention", daemon=True)]

    def start(self) -> PrivacyWorker:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self.stop_event.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)

    # --- erasures --------------------------------------------------------------------------

    def _consume(self) -> None:
        from kombu import Connection

        backoff = 1.0
        while not self.stop_event.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=30, connect_timeout=5) as conn:
                    transport.parking_queue()(conn.default_channel).declare()
                    queue = transport.request_queue(self.parts.service)
                    with conn.Consumer(queue, callbacks=[self.on_request], accept=["json"], prefetch_count=1):
                        backoff = 1.0
                        while not self.stop_event.is_set():
                            try:
                                conn.drain_events(timeout=1)
                            except TimeoutError:
                                conn.heartbeat_check()
            except Exception as exc:  # the broker away or the connection dropped: again, later
                log.warning("privacy: erasure queue unavailable (%s); reconnecting in %.0fs",
                            type(exc).__name__, backoff)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def on_request(self, body, message) -> None:
        service = self.parts.service
        try:
            request = received(SubjectErasureRequested, body).event
        except EventError as exc:
            metrics.ERASURES.labels(service, "malformed").inc()
            log.error("privacy: malformed erasure request parked: %s", sorted(exc.errors))
            message.reject(requeue=False)
            return
        try:
            report = handle(self.parts, request, self.reports)
        except Exception:
            metrics.ERASURES.labels(service, "failed").inc()
            log.exception("privacy: erasure failed; the request goes back to the queue",
                          extra={"request_id": request.request_id})
            self.stop_event.wait(RETRY_PAUSE_SECONDS)  # not a busy loop while the database is away
            message.requeue()
            return
        message.ack()
        log.info("privacy: erasure done", extra={"request_id": request.request_id,
                                                  "rows": sum(e.rows for e in report.report)})

    # --- retention --------------------------------------------------------------------------

    def _retain(self) -> None:
        while not self.stop_event.is_set():
            apply_retention(self.parts, self.rules)
            if self.stop_event.wait(self.rules.check_seconds):
                return


def handle(parts: PrivacyParts, request: SubjectErasureRequested, reports) -> SubjectErasureCompleted:
    """Erase, then report (with confirms); raises when either failed."""
    entries = parts.erase(request)
    engine = getattr(parts, "engine", None)
    if engine is not None:
        settle_erasure(engine)
    at = now()
    report = SubjectErasureCompleted(request.request_id, parts.service, tuple(entries), iso(at))
    reports.publish(report, at)
    metrics.ERASURES.labels(parts.service, "done").inc()
    return report


def apply_retention(parts: PrivacyParts, rules: Retention) -> dict:
    """One round of the retention rules, counted; a failure is logged and tried next round."""
    try:
        done = parts.retain(now(), rules)
        if any(done.values()) and getattr(parts, "engine", None) is not None:
            settle_erasure(parts.engine)
    except Exception:
        log.exception("privacy: retention round failed; next round in %.0fs", rules.check_seconds)
        return {}
    metrics.count_retention(parts.service, done)
    if any(done.values()):
        log.info("privacy: retention applied", extra={"rows": {f"{t}:{a}": n for (t, a), n in done.items() if n}})
    return done
