"""The notifier's nameko entrypoints: follow the tickets and router events, write
each outbound message to the outbox, send due rows on a timer, catch up on
tickets created while it was away, and show the outbox over HTTP. Decisions live
in plan.py (and the small rule modules), SQL in store.py, sending in senders.py."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import eventlet
from kombu import Connection
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from nameko.web.handlers import http

from services.common import config, web
from services.common.auth.nameko_guard import CallerOf, CredentialedRpcProxy, guarded_http, metrics_http
from services.common.channels import mail_identity
from services.common.contract.confidential import viewer_of
from services.common.contract.events import (
    Event,
    Received,
    TicketCreated,
    TicketEscalated,
    TicketMessageAdded,
    TicketReplyAdded,
    TicketSurveyAnswered,
    TicketUpdated,
    received_or_reported,
)
from services.common.contract.reference import tracking_url
from services.common.contract.vocabulary import Priority
from services.common.privacy.background import apply_retention
from services.common.privacy.nameko_side import ErasureReports, consume_requests, erasure_requested, export_response
from services.common.privacy.retention import Retention
from services.common.privacy.subject import redact
from services.common.storage.db import make_engine
from services.common.time.clock import now
from services.common.web import BadRequest, json_response, path_text
from services.common.web.nameko_front import WebFront

from . import backoff, listing, metrics, settings
from .handling import Notifier
from .plan import TEMPLATE_VARIABLES, Links, Planner
from .privacy import NotifierPrivacy
from .senders import PermanentError, Senders
from .store import NotFound, NotifierStore
from .templates import Templates

SEND_BATCH = 50  # rows per timer tick, so other timers get their turn
RETENTION = Retention.from_env()  # a bad RETENTION_* value stops the start

log = logging.getLogger("notifier")

ERRORS = ((NotFound, 404, "not_found"), (BadRequest, 400, "bad_request"))


def links() -> Links:
    base, secret = config.public_base_url(), config.tracking_secret()
    ticket_url = settings.ticket_url_template()

    return Links(tracking=lambda ref: tracking_url(base, ref, secret),
                 survey=lambda ref: tracking_url(base, ref, secret, "/survey"),
                 ticket=lambda ref: ticket_url.format(reference=ref))


class Components:
    def __init__(self, database_url: str):
        self.settings = settings.load()
        self.store = NotifierStore(make_engine(database_url))
        templates = Templates(self.settings.templates_dir, str(settings.PACKAGE_TEMPLATES))
        problems = templates.check(TEMPLATE_VARIABLES)
        if problems:
            raise ValueError("message templates do not render: " + "; ".join(problems))
        self.planner = Planner(self.settings, templates, links(), mail_identity.message_id_domain())
        self.notifier = Notifier(self.store, self.planner, self.settings)
        self.senders = Senders(self.settings)
        self.caught_up_at: datetime | None = None   # the last complete catch-up round
        log.info("notifier settings", extra=config.describe(settings.CONFIG_NAMES))  # secrets masked


class Parts(DependencyProvider):
    """One engine, planner and senders per service process, shared by its workers."""

    def setup(self):
        self.parts = Components(self.container.config["DATABASE_URL"])
        self.parts.amqp_uri = self.container.config["AMQP_URI"]

    def get_dependency(self, worker_ctx):
        return self.parts

    def stop(self):
        self.parts.store.engine.dispose()


def on(source, event_type):
    # requeue_on_error: nameko would otherwise ack and drop an event whose handler failed
    # (a database away). Malformed events are counted and logged instead (requeueing
    # cannot fix them).
    return event_handler(source, event_type, requeue_on_error=True)


def _read(cls: type[Event], payload) -> Received | None:
    """The delivery as its kernel event class, or None (counted, logged once at ERROR
    with every bad field, and acked) when it does not match."""
    delivery = received_or_reported(cls, payload, log, metrics.BAD_EVENTS)
    if delivery is not None:
        metrics.EVENTS.labels(cls.event_type).inc()
    return delivery


def _after(event: TicketUpdated, name: str):
    """A changed field's new value (None when it did not change)."""
    change = event.changes.get(name)
    return change.get("after") if isinstance(change, dict) else None


class NotifierService:
    name = "notifier"

    parts: Components = Parts()
    tickets = CredentialedRpcProxy("tickets")
    router = CredentialedRpcProxy("router")
    reports: ErasureReports = ErasureReports()
    caller = CallerOf()
    web_front = WebFront()  # security headers, /openapi.yaml, JSON errors on every HTTP answer

    # --- the tickets service's events --------------------------------------------------

    @on("tickets", "ticket_created")
    def on_ticket_created(self, payload):
        if delivery := _read(TicketCreated, payload):
            self.parts.notifier.ticket_created(delivery.event, now())
            self._callback(delivery.event.ticket.reference)

    @on("tickets", "ticket_message_added")
    def on_message_added(self, payload):
        if delivery := _read(TicketMessageAdded, payload):
            self.parts.notifier.message_added(delivery.event, now())
            self._callback(delivery.event.ticket.reference)

    @on("tickets", "ticket_updated")
    def on_ticket_updated(self, payload):
        """Besides the customer's messages: the agent's alerts. Every assignment, the
        router's (event.assignment says why) or by hand, arrives here once, as the
        tickets service applied it; its event id keys the alert, so a redelivery sends
        nothing twice."""
        delivery = _read(TicketUpdated, payload)
        if delivery is None:
            return
        event, event_id = delivery.event, delivery.event_id
        self.parts.notifier.ticket_updated(event, now())
        ticket = event.plain("ticket")
        if event.ticket.assignee and _after(event, "priority") == Priority.URGENT:
            self._alert("agent_urgent", event_id, ticket, event.ticket.assignee)
        assignee = _after(event, "assignee")
        if assignee:
            kind = event.assignment.kind if event.assignment else "manual"
            self._alert("agent_assigned", event_id, ticket, assignee, {"kind": kind})
        self._callback(event.ticket.reference)

    @on("tickets", "ticket_reply_added")
    def on_reply_added(self, payload):
        if delivery := _read(TicketReplyAdded, payload):
            self.parts.notifier.reply_added(delivery.event, now())

    @on("tickets", "ticket_survey_answered")
    def on_survey_answered(self, payload):
        if delivery := _read(TicketSurveyAnswered, payload):
            self.parts.notifier.ticket_seen(delivery.event, now())

    # --- the router's events (its assignments reach us as the tickets' ticket_updated) ----

    @on("router", "ticket_escalated")
    def on_escalated(self, payload):
        if delivery := _read(TicketEscalated, payload):
            self.parts.notifier.escalated(delivery.event_id, delivery.event, now())

    def _agent(self, name):
        """The agent's roster entry. A router that does not answer fails the event, which
        goes back to the queue (after a pause, so a long outage is not a busy loop)."""
        try:
            with eventlet.Timeout(settings.rpc_timeout()):
                return self.router.get_agent(name)
        except (Exception, eventlet.Timeout) as exc:
            log.warning("router did not answer get_agent(%s): %s; event requeued", name, type(exc).__name__)
            eventlet.sleep(1)
            raise RuntimeError("router unavailable") from None

    def _alert(self, purpose, event_id, ticket, assignee, extra=None):
        self.parts.notifier.agent_alert(purpose, event_id, ticket, self._agent(assignee), now(), extra)

    def _callback(self, reference):
        """A callback request waiting for the ticket's agent goes to them once assigned."""
        pending = self.parts.notifier.pending_callback(reference)
        if pending is not None:
            self.parts.notifier.callback(reference, self._agent(pending[0]), now())

    # --- privacy ------------------------------------------------------------------------

    @consume_requests("notifier")
    def on_erasure_requested(self, body):
        """A person's erasure: their messages' copies erased, unsent ones cancelled; reported."""
        erasure_requested(NotifierPrivacy(self.parts.store.engine), body, self.reports)

    @timer(interval=RETENTION.check_seconds, eager=True)
    def apply_retention(self):
        apply_retention(NotifierPrivacy(self.parts.store.engine), RETENTION)

    @guarded_http("POST", "/privacy/export")
    def http_export(self, request):
        return export_response(NotifierPrivacy(self.parts.store.engine), self.caller, request)

    # --- sending -------------------------------------------------------------------------

    @timer(interval=settings.send_interval())
    def send_due(self):
        """Send what is due; on failure retry later with exponential backoff, and after
        NOTIFIER_MAX_ATTEMPTS mark it failed (GET /notifications?status=failed, metric)."""
        parts = self.parts
        s = parts.settings
        for _ in range(SEND_BATCH):
            # Claimed one by one, just before sending: a crash strands only this row.
            row = parts.store.claim_next(now())
            if row is None:
                break
            started = time.monotonic()
            try:
                alerted = (row.payload or {}).get("alerted")
                if alerted:  # a confidential case: its access log says so before the agent hears of it
                    self._record_alert(row.reference, alerted)
                provider_id = parts.senders.send(row, now(), self._add_note)
            except Exception as exc:  # any failure is retried or made visible, never dropped
                error = f"{type(exc).__name__}: {exc}"
                attempts = row.attempts + 1
                if isinstance(exc, PermanentError) or backoff.gives_up(attempts, s.max_attempts):
                    parts.store.mark_failed(row.id, error, now())
                    metrics.NOTIFICATIONS.labels(row.channel, "failed").inc()
                    log.error("notification failed", extra={"id": row.id, "purpose": row.purpose,
                                                             "channel": row.channel, "reference": row.reference,
                                                             "attempts": attempts, "error": redact(error[:300])})
                else:
                    delay = backoff.retry_delay(attempts, s.retry_base, s.retry_cap)
                    parts.store.mark_retry(row.id, error, now() + timedelta(seconds=delay), now())
                    metrics.NOTIFICATIONS.labels(row.channel, "retried").inc()
                    log.warning("notification send failed; retry in %.0fs", delay, extra={
                        "id": row.id, "channel": row.channel, "attempts": attempts, "error": redact(error[:300])})
                continue
            parts.store.mark_sent(row.id, provider_id, now())
            metrics.NOTIFICATIONS.labels(row.channel, "sent").inc()
            metrics.SEND_SECONDS.labels(row.channel).observe(time.monotonic() - started)
            log.info("notification sent", extra={"id": row.id, "purpose": row.purpose, "channel": row.channel,
                                                 "reference": row.reference})

    def _record_alert(self, reference, agent):
        try:
            with eventlet.Timeout(settings.rpc_timeout()):
                return self.tickets.record_alert(reference, agent)
        except eventlet.Timeout:  # not an Exception: made one, so the row is retried like a failed send
            raise RuntimeError("the tickets service did not record the alert in time") from None

    def _add_note(self, reference, author, body):
        with eventlet.Timeout(settings.rpc_timeout()):
            return self.tickets.add_note(reference, author, body)

    @timer(interval=settings.schedule_interval(), eager=True)
    def schedule(self):
        """Reminders due, tickets waiting unassigned too long, sends interrupted by a crash."""
        parts = self.parts
        parts.store.release_stale(now() - timedelta(seconds=parts.settings.sending_timeout), now())
        parts.notifier.schedule(now())

    @timer(interval=settings.catch_up_interval(), eager=True)
    def catch_up(self):
        """Acknowledge tickets whose ticket_created reached no notifier queue (created
        before the notifier first started): ask the tickets service for recent tickets."""
        # The first round looks back over the whole window; later rounds only since the
        # previous one (with an overlap for clocks and slow commits).
        started = now()
        since = now() - timedelta(hours=settings.catch_up_window_hours())
        if self.parts.caught_up_at:
            since = max(since, self.parts.caught_up_at - timedelta(minutes=5))
        since = since.isoformat()
        page = 1
        while True:
            try:
                with eventlet.Timeout(settings.rpc_timeout()):
                    result = self.tickets.search({"created_from": since, "sort": "created_at", "page": page,
                                                  "per_page": 100})
                missing = [t["reference"] for t in result["items"]]
                missing = [r for r in missing if r not in self.parts.store.known(missing)]
                for reference in missing:
                    with eventlet.Timeout(settings.rpc_timeout()):
                        full = self.tickets.get_ticket(reference)
                    first = next((m for m in full.get("messages", []) if m.get("direction") == "in"), None)
                    full.pop("audit", None)
                    self.parts.notifier.acknowledge(full, first, now())
                    log.info("caught up on a ticket created before the notifier listened",
                             extra={"reference": reference})
            except (Exception, eventlet.Timeout) as exc:  # tickets away: next time
                log.warning("catch-up skipped: %s", type(exc).__name__)
                return
            if page * result["per_page"] >= result["total"]:
                self.parts.caught_up_at = started
                return
            page += 1

    # --- HTTP: the outbox for operators ------------------------------------------------------

    @guarded_http("GET", "/notifications")
    def http_list(self, request):
        def work():
            args = request.args
            try:
                limit = int(args.get("limit", 100))
            except ValueError:
                raise BadRequest("limit must be a whole number") from None
            viewer = viewer_of(self.caller)
            filters = [path_text(args[n], n) if args.get(n) else None
                       for n in ("status", "reference", "purpose", "channel")]  # no NUL for PostgreSQL
            return {"items": [listing.shown(item, viewer) for item in self.parts.store.list(*filters, limit)]}
        return web.respond(work, ERRORS)

    @guarded_http("GET", "/notifications/<int(max=2147483647):row_id>")
    def http_get(self, request, row_id):
        return web.respond(lambda: listing.shown(self.parts.store.get(row_id), viewer_of(self.caller)), ERRORS)

    @guarded_http("POST", "/notifications/<int(max=2147483647):row_id>/retry")
    def http_retry(self, request, row_id):
        return web.respond(lambda: listing.shown(self.parts.store.retry(row_id, now()), viewer_of(self.caller)),
                           ERRORS)

    @http("GET", "/health/live")
    def live(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/health/ready")
    def ready(self, request):
        return web.readiness({"database": self.parts.store.ping, "broker": self._ping_broker})

    def _ping_broker(self):
        with Connection(self.parts.amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)

    @metrics_http("GET", "/metrics")
    def metrics(self, request):
        return metrics.render(self.parts.store.counts())
