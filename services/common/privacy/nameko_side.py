"""The privacy parts of a nameko service (the notifier; the tickets service for its
export): its queue of erasure requests, the publisher of its reports, and its
POST /privacy/export answer.

    reports = ErasureReports()                              a dependency
    @consume_requests("notifier")                           the entrypoint of its queue
    def on_erasure_requested(self, body):
        erasure_requested(self.parts.privacy, body, self.reports)
"""

from __future__ import annotations

import logging

import eventlet
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.messaging import consume

from services.common import web
from services.common.contract.errors import Forbidden
from services.common.contract.events import EventError, SubjectErasureRequested, received
from services.common.web import BadRequest

from . import metrics, transport
from .background import handle
from .parts import PrivacyParts
from .subject import SubjectError, read_request

log = logging.getLogger(__name__)
RETRY_PAUSE_SECONDS = 2.0


class ErasureReports(DependencyProvider):
    """Publishes this service's SubjectErasureCompleted; declares the parking queue at
    start, so a request that keeps failing is parked, never dropped."""

    def setup(self):
        self.amqp_uri = self.container.config["AMQP_URI"]
        self.publisher = transport.ReportPublisher(self.amqp_uri)

    def start(self):
        with Connection(self.amqp_uri, connect_timeout=5) as conn:
            transport.parking_queue()(conn.default_channel).declare()

    def get_dependency(self, worker_ctx):
        return self.publisher


def consume_requests(service: str):
    """The service's erasure-request queue; a failed handling goes back to it (requeue),
    and after the delivery limit to the parking queue."""
    return consume(transport.request_queue(service), requeue_on_error=True)


def erasure_requested(parts: PrivacyParts, body, reports) -> None:
    try:
        request = received(SubjectErasureRequested, body).event
    except EventError as exc:  # requeueing cannot fix it: counted, logged, acked
        metrics.ERASURES.labels(parts.service, "malformed").inc()
        log.error("privacy: malformed erasure request ignored: %s", sorted(exc.errors))
        return
    try:
        report = handle(parts, request, reports)
    except Exception:
        metrics.ERASURES.labels(parts.service, "failed").inc()
        log.exception("privacy: erasure failed; the request goes back to the queue",
                      extra={"request_id": request.request_id})
        eventlet.sleep(RETRY_PAUSE_SECONDS)
        raise
    log.info("privacy: erasure done", extra={"request_id": request.request_id,
                                              "rows": sum(e.rows for e in report.report)})


EXPORT_ERRORS = ((Forbidden, 403, "forbidden"), (SubjectError, 422, "invalid"), (BadRequest, 400, "bad_request"))


def export_response(parts: PrivacyParts, caller, request):
    """The answer to POST /privacy/export on a guarded nameko HTTP entrypoint."""
    def work():
        if caller is None or not caller.operator:
            raise Forbidden("a subject-access export is an operator's act; use an operator's token "
                            "(python -m services.common.auth mint-operator)")
        subject, references = read_request(web.json_body(request))
        part = parts.export(subject, references)
        metrics.EXPORTS.labels(parts.service).inc()
        log.info("privacy: export answered", extra={"operator": caller.operator})
        return {"service": parts.service, **part}
    return web.respond(work, EXPORT_ERRORS)
