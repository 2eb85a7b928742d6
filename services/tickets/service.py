"""The tickets service's nameko entrypoints: consume complaints and the router's
decisions, relay events, answer RPC and the agent-facing HTTP API. Each
entrypoint hands over to handling.py (what a message or request means), which
uses the rules in domain.py and the store (store.py and the modules behind it).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from nameko.web.handlers import http

from services.common import config, web
from services.common.auth.nameko_guard import CallerOf, guarded_http, guarded_rpc, metrics_http
from services.common.auth.tokens import READ, WRITE
from services.common.contract.complaint import CATEGORIES
from services.common.contract.errors import CALLER_ERRORS, Forbidden
from services.common.messaging import topology
from services.common.messaging.event_relay import EventRelay
from services.common.privacy import transport
from services.common.privacy.background import apply_retention
from services.common.privacy.nameko_side import export_response
from services.common.privacy.retention import Retention
from services.common.privacy.subject import read_request
from services.common.storage.db import make_engine
from services.common.web import BadRequest, json_body, json_response, path_text
from services.common.web.nameko_front import WebFront

from . import api, confidentiality, domain, handling, metrics, privacy, privacy_requests
from .consumer import consume, consume_events
from .handling import caller_errors
from .schema import outbox
from .store import TicketStore

log = logging.getLogger("tickets")

# First-response targets per priority (minutes), and how often they are checked.
SLA_TARGETS = domain.parse_first_response_minutes(os.environ.get("TICKETS_SLA_FIRST_RESPONSE_MINUTES"))
SLA_CHECK_SECONDS = float(os.environ.get("TICKETS_SLA_CHECK_SECONDS", 30))
# The dead-letter watcher: how often it looks, and how many times a complaint that
# died for want of a database is replayed automatically before it stays parked.
DEAD_LETTER_CHECK_SECONDS = float(os.environ.get("TICKETS_DEAD_LETTER_CHECK_SECONDS", 30))
DEAD_LETTER_AUTO_REPLAYS = int(os.environ.get("TICKETS_DEAD_LETTER_AUTO_REPLAYS", 3))
# Confidential cases: the categories that always are one, and the group that sees them.
CONFIDENTIAL = confidentiality.settings_from(os.environ.get("CONFIDENTIAL_CATEGORIES"),
                                             os.environ.get("CONFIDENTIAL_GROUP"), CATEGORIES)
# Privacy: the retention rules (a bad value stops the start), how long an unfinished erasure
# request waits before it is announced again, and who must answer one (PRIVACY_SERVICES).
RETENTION = Retention.from_env()
REANNOUNCE_SECONDS = float(os.environ.get("PRIVACY_REANNOUNCE_SECONDS", 600))
PRIVACY_SERVICES = transport.expected_services()


class Store(DependencyProvider):
    """One engine (and pool) per service process, shared by its workers."""

    def setup(self):
        self.store = TicketStore(make_engine(self.container.config["DATABASE_URL"]), CONFIDENTIAL)

    def get_dependency(self, worker_ctx):
        return self.store

    def stop(self):
        self.store.engine.dispose()


class TicketsService:
    name = "tickets"

    store: TicketStore = Store()
    # Declares every service's erasure-request queue before the first publish, so a request
    # made while a service is down waits for it instead of reaching no queue.
    events: EventRelay = EventRelay("tickets", declare=transport.coordinator_queues)
    caller = CallerOf()
    web_front = WebFront()  # security headers, /openapi.yaml, JSON errors on every HTTP answer

    # --- messages in ------------------------------------------------------------

    @consume(topology.kombu_complaints_queue(), requeue_on_error=True)
    def handle_complaint(self, body):
        """Acked after the ticket committed; requeued while the database is away."""
        handling.complaint(self.store, body)
        self._relay_soon()

    @consume_events(topology.kombu_assignments_queues(), requeue_on_error=True)
    def handle_router_decision(self, body, event_type):
        """The router's TicketAssigned / TicketUnassigned: applied, or quietly not
        (already so, superseded, closed); a malformed one is parked."""
        outcome = handling.router_decision(self.store, body, event_type)
        self._relay_soon()
        return outcome

    @consume_events([transport.reports_queue(), transport.parking_queue()], requeue_on_error=True)
    def handle_erasure_report(self, body, event_type):
        """A service's SubjectErasureCompleted: its report recorded; the request complete
        once every service answered."""
        return handling.erasure_report(self.store, body)

    # --- events out and the clocks ------------------------------------------------

    @timer(interval=1)
    def relay_events(self):
        self.events.relay(self.store.engine, outbox)
        metrics.OUTBOX_PENDING.set(self.store.outbox_pending())

    @timer(interval=SLA_CHECK_SECONDS)
    def check_sla(self):
        handling.sla_check(self.store, datetime.now(UTC), SLA_TARGETS)
        self._relay_soon()

    @timer(interval=DEAD_LETTER_CHECK_SECONDS)
    def watch_dead_letters(self):
        handling.watch_dead_letters(self.store, config.amqp_uri(), DEAD_LETTER_AUTO_REPLAYS)

    @timer(interval=REANNOUNCE_SECONDS)
    def reannounce_erasures(self):
        """Erasure requests some service has not answered yet go out again."""
        if privacy_requests.reannounce(self.store.engine, REANNOUNCE_SECONDS):
            self._relay_soon()

    @timer(interval=RETENTION.check_seconds, eager=True)
    def apply_retention(self):
        apply_retention(privacy.TicketsPrivacy(self.store.engine), RETENTION)

    def _relay_soon(self):
        try:
            self.events.relay(self.store.engine, outbox)
        except Exception:  # the timer will pick the rows up; never fail the work for it
            log.exception("event relay failed; will retry")

    # --- RPC (router, intakes) ----------------------------------------------------
    # A caller's mistake or a race already won (an unknown reference, an illegal
    # change, a claim another replica took) is the caller's answer, not our ERROR:
    # nameko logs expected exceptions as warnings.

    # A confidential case answers NotFound to a person outside its group, whatever they
    # ask of it (confidentiality.py); what a person sees of one goes to the access log.

    @guarded_rpc(scope=READ, expected_exceptions=CALLER_ERRORS)
    def get_ticket(self, reference):
        with caller_errors():
            return self.store.get(reference, self._viewer())

    @guarded_rpc(scope=READ, expected_exceptions=CALLER_ERRORS)
    def get_public_view(self, reference):
        with caller_errors():
            return self.store.public_view(reference)

    @guarded_rpc(scope=READ, expected_exceptions=CALLER_ERRORS)
    def search(self, filters):
        with caller_errors():
            return self.store.search(self._viewer(), **api.search_filters(filters))

    @guarded_rpc(scope=READ, expected_exceptions=CALLER_ERRORS)
    def access_log(self, reference):
        """Who saw a confidential case: for supervisors in its group (the console's ticket page)."""
        with caller_errors():
            return self.store.access_log(reference, self._viewer())

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def record_alert(self, reference, agent):
        """The notifier alerted `agent` about a confidential case: logged like a view."""
        if self._viewer().person:
            raise Forbidden("alerts are recorded by the service that sends them")
        with caller_errors():
            return self.store.record_alert(reference, str(agent))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def change(self, reference, fields, actor_type="agent", actor=None):
        return self._changed(reference, lambda: self.store.change(
            reference, fields, *api.acting(self.caller, actor_type, actor), self._viewer()))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def assign(self, reference, assignee, actor_type="agent", actor=None, expected_assignee="*"):
        """An agent's (or supervisor's) assignment; the router's decisions come as events."""
        return self._changed(reference, lambda: self.store.assign(
            reference, assignee, *api.acting(self.caller, actor_type, actor), expected_assignee))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def add_note(self, reference, author, body):
        with caller_errors():
            self.store.check_visible(reference, self._viewer())
            return self.store.add_note(reference, api.note_author(self.caller), body)

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def reply(self, reference, author, body, status=None):
        """An agent's answer to the customer -> {"ticket", "message"}; the notifier sends it."""
        return self._changed(reference, lambda: self.store.reply(reference, api.agent_acting(self.caller), body,
                                                                 status))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def record_survey(self, reference, rating, comment=None, source="link"):
        return self._changed(reference, lambda: self.store.record_survey(reference, rating, comment, source))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def set_follow_up(self, reference, channel, address, actor_type="customer", actor=None):
        return self._changed(reference, lambda: self.store.set_follow_up(
            reference, channel, address, *api.acting(self.caller, actor_type, actor)))

    def _changed(self, reference, work):
        with caller_errors():
            self.store.check_visible(reference, self._viewer())
            result = work()
        self._relay_soon()
        return result

    def _viewer(self) -> confidentiality.Viewer:
        return confidentiality.viewer_of(self.caller)

    # --- HTTP API (agents) ------------------------------------------------------

    @guarded_http("GET", "/tickets")
    def http_search(self, request):
        return api.respond(lambda: self.store.search(self._viewer(), **api.search_filters(request.args)))

    @guarded_http("GET", "/tickets/<reference>")
    def http_get(self, request, reference):
        return api.respond(lambda: self.store.get(reference, self._viewer()))

    @guarded_http("GET", "/tickets/<reference>/access-log")
    def http_access_log(self, request, reference):
        return api.respond(lambda: self.store.access_log(reference, self._viewer()))

    @guarded_http("PATCH", "/tickets/<reference>")
    def http_change(self, request, reference):
        def work():
            body = json_body(request)
            fields = {k: body[k] for k in ("status", "priority", "category", "confidential") if k in body}
            if not fields:
                raise BadRequest("nothing to change: give status, priority, category and/or confidential")
            return self.store.change(reference, fields, "agent", api.agent_acting(self.caller), self._viewer())
        return self._respond_and_relay(work, reference)

    @guarded_http("POST", "/tickets/<reference>/assignee")
    def http_assign(self, request, reference):
        def work():
            body = json_body(request)
            assignee = body.get("assignee")
            if not isinstance(assignee, str) or not assignee.strip():
                raise BadRequest("'assignee' is required (use DELETE to unassign)")
            expected = body.get("expected_assignee", "*")
            return self.store.assign(reference, assignee.strip(), "agent", api.agent_acting(self.caller), expected)
        return self._respond_and_relay(work, reference)

    @guarded_http("DELETE", "/tickets/<reference>/assignee")
    def http_unassign(self, request, reference):
        return self._respond_and_relay(
            lambda: self.store.assign(reference, None, "agent", api.agent_acting(self.caller)), reference)

    @guarded_http("POST", "/tickets/<reference>/notes")
    def http_note(self, request, reference):
        def work():
            body = json_body(request)
            self.store.check_visible(reference, self._viewer())
            return self.store.add_note(reference, api.agent_acting(self.caller), body.get("body", ""))
        return api.respond(work, created=True)

    @guarded_http("POST", "/tickets/<reference>/replies")
    def http_reply(self, request, reference):
        def work():
            body = json_body(request)
            return self.store.reply(reference, api.agent_acting(self.caller), body.get("body"), body.get("status"))
        return self._respond_and_relay(work, reference, created=True)

    @guarded_http("POST", "/tickets/<reference>/survey")
    def http_survey(self, request, reference):
        def work():
            body = json_body(request)
            if "rating" not in body:
                raise BadRequest("'rating' (1 to 5) is required")
            return self.store.record_survey(reference, body["rating"], body.get("comment"),
                                            str(body.get("source") or "link"))
        return self._respond_and_relay(work, reference)

    @guarded_http("GET", "/dead-letters")
    def http_dead_letters(self, request):
        return api.respond(lambda: {"items": self.store.list_dead_letters(viewer=self._viewer())})

    @guarded_http("GET", "/quarantine")
    def http_quarantine(self, request):
        return api.respond(lambda: {"items": self.store.list_quarantine(viewer=self._viewer())})

    def _respond_and_relay(self, work, reference, created=False):
        def visible_work():
            self.store.check_visible(reference, self._viewer())
            return work()
        response = api.respond(visible_work, created)
        if response.status_code < 300:
            self._relay_soon()
        return response

    # --- privacy: export, erasure, legal hold (operators) -------------------------------

    @guarded_http("POST", "/privacy/erasures")
    def http_request_erasure(self, request):
        def work():
            if self.caller is None or not self.caller.operator:
                raise Forbidden("an erasure is an operator's act; use an operator's token")
            subject, references = read_request(json_body(request))
            return privacy_requests.request(self.store.engine, subject, references, self.caller.actor,
                                            PRIVACY_SERVICES)
        response = privacy.respond(work, accepted=True)
        if response.status_code < 300:
            self._relay_soon()
        return response

    @guarded_http("GET", "/privacy/erasures")
    def http_erasures(self, request):
        return privacy.respond(lambda: {"items": privacy_requests.pending(self.store.engine)})

    @guarded_http("GET", "/privacy/erasures/<request_id>")
    def http_erasure(self, request, request_id):
        return privacy.respond(lambda: privacy_requests.status(self.store.engine, path_text(request_id, "request id")))

    @guarded_http("POST", "/privacy/export")
    def http_export(self, request):
        exported_by = self.caller.actor if self.caller else None
        return export_response(privacy.TicketsPrivacy(self.store.engine, exported_by), self.caller, request)

    @guarded_http("GET", "/tickets/<reference>/legal-hold")
    def http_legal_hold(self, request, reference):
        return privacy.respond(lambda: privacy.legal_hold(self.store.engine, reference, self._viewer()))

    @guarded_http("PUT", "/tickets/<reference>/legal-hold")
    def http_set_legal_hold(self, request, reference):
        def work():
            body = json_body(request)
            if "hold" not in body:
                raise BadRequest("'hold' (true or false) is required")
            return privacy.set_legal_hold(self.store.engine, reference, body["hold"], body.get("reason"),
                                          api.agent_acting(self.caller), self._viewer())
        return privacy.respond(work)

    # --- operations -------------------------------------------------------------

    @http("GET", "/health/live")
    def live(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/health/ready")
    def ready(self, request):
        return web.readiness({"database": self.store.ping, "broker": self.events.ping})

    @metrics_http("GET", "/metrics")
    def metrics(self, request):
        depth = self.events.queue_depth
        return metrics.render(self.store, lambda: depth(topology.kombu_dead_letter_queue()),
                              lambda: depth(topology.kombu_assignments_queues()[1]),
                              lambda: privacy_requests.pending_count(self.store.engine))


