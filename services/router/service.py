"""The router's nameko entrypoints: follow the tickets service's events, assign,
sweep the waiting queue, hand over absent agents' tickets, and answer the
roster API and `explain`. Rules live in policy.py, SQL in store.py."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import eventlet
from nameko.events import event_handler
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from nameko.web.handlers import http

from services.common import web
from services.common.messaging.event_relay import EventRelay
from services.common.storage.db import make_engine
from services.common.time.clock import utc
from services.common.web import BadRequest, json_body, json_response, path_text, text_body

from . import metrics, roster, settings
from .schema import outbox
from .store import Lost, NotFound, RouterStore

log = logging.getLogger("router")

ERRORS = ((NotFound, 404, "not_found"), (roster.RosterError, 422, "invalid"), (BadRequest, 400, "bad_request"),
          (Lost, 409, "conflict"))
OPEN = ["new", "in_progress", "pending_customer"]


class Store(DependencyProvider):
    def setup(self):
        self.store = RouterStore(make_engine(self.container.config["DATABASE_URL"]), settings.policy_config())

    def get_dependency(self, worker_ctx):
        return self.store

    def stop(self):
        self.store.engine.dispose()


def on_tickets(event_type):
    # requeue_on_error: nameko would otherwise ack and drop an event whose handler failed.
    return event_handler("tickets", event_type, requeue_on_error=True)


class RouterService:
    name = "router"

    store: RouterStore = Store()
    events: EventRelay = EventRelay("router")
    tickets = RpcProxy("tickets")

    # --- the tickets service's events ------------------------------------------

    @on_tickets("ticket_created")
    def on_ticket_created(self, payload):
        self._apply(payload)

    @on_tickets("ticket_updated")
    def on_ticket_updated(self, payload):
        self._apply(payload)

    @on_tickets("ticket_message_added")
    def on_message_added(self, payload):
        self._apply(payload, direction=(payload.get("message") or {}).get("direction"))

    def _apply(self, payload, direction=None):
        summary = payload.get("ticket") if isinstance(payload, dict) else None
        if not isinstance(summary, dict) or not payload.get("event_id") or not summary.get("reference"):
            # Requeueing cannot fix a malformed event; say so loudly instead of looping on it.
            metrics.BAD_EVENTS.inc()
            log.error("malformed tickets event ignored", extra={"event": str(payload)[:500]})
            return
        action = self.store.apply_event(payload["event_id"], payload["event_type"], summary,
                                        payload.get("changes"), payload.get("actor"), direction)
        if action == "route":
            self._timed("assign", lambda: self.store.route(summary["reference"]))
        elif action == "follow_up":
            self._timed("follow_up", lambda: self.store.follow_up(summary["reference"]))
        self._push_and_relay()

    def _timed(self, kind, decide):
        started = time.monotonic()
        try:
            decision = decide()
        except Lost as exc:  # the sweep picks it up again
            log.info("routing deferred: %s", exc)
            return None
        metrics.DECISION_SECONDS.observe(time.monotonic() - started)
        if decision is not None:
            self._count(kind, decision)
        return decision

    def _count(self, kind, decision):
        outcome = "assigned" if decision.winner else ("fallback" if decision.to_fallback else "waiting")
        metrics.DECISIONS.labels(kind, outcome).inc()
        if decision.winner:
            log.info("ticket assigned", extra={"reference": decision.reference, "assignee": decision.winner,
                                               "kind": kind, "step": decision.step, "rule": decision.rule})
            if kind == "assign":
                row = self.store.ticket(decision.reference)
                metrics.INTAKE_TO_ASSIGNMENT.observe(max(0.0, (decision.at - utc(row.created_at)).total_seconds()))

    # --- periodic work -----------------------------------------------------------

    @timer(interval=settings.sweep_seconds())
    def sweep(self):
        """Hand over absent agents' tickets, then drain the waiting queue (it also
        moves waiting tickets through the relaxation steps)."""
        for decision in self.store.handovers():
            self._count("handover", decision)
        for decision in self.store.drain_waiting():
            self._count("assign", decision)
        self._push_and_relay()

    @timer(interval=settings.reconcile_seconds())
    def reconcile(self):
        """Adopt open tickets the router never heard of (events published before it
        first started reach no queue), so none is left unrouted."""
        self.store.forget_events(datetime.now(UTC) - timedelta(days=settings.event_memory_days()))
        page = 1
        while True:
            try:
                # nameko's RpcProxy has no timeout of its own; a hung call would stall this timer forever.
                with eventlet.Timeout(settings.rpc_timeout()):
                    result = self.tickets.search({"status": OPEN, "per_page": 100, "page": page,
                                                  "sort": "created_at"})
            except (Exception, eventlet.Timeout) as exc:  # tickets away: next time
                log.warning("reconcile skipped: %s", type(exc).__name__)
                return
            for summary in result["items"]:
                self.store.adopt(summary)
            if page * result["per_page"] >= result["total"]:
                return
            page += 1

    def _push_and_relay(self):
        """Tell the tickets service about assignments, then publish our own events."""
        for ref, assignee, pushed in self.store.pending_pushes():
            try:
                with eventlet.Timeout(settings.rpc_timeout()):
                    self.tickets.assign(ref, assignee, "system", "router", pushed)
            except RemoteError as exc:
                if exc.exc_type not in ("Conflict", "TicketError", "NotFound"):
                    log.warning("assignment push failed, will retry", extra={"reference": ref, "error": exc.exc_type})
                    continue
                # Someone changed it in the tickets service first; its event will tell us.
                log.info("assignment push superseded", extra={"reference": ref, "error": exc.exc_type})
            except (Exception, eventlet.Timeout) as exc:
                log.warning("assignment push failed, will retry", extra={"reference": ref,
                                                                          "error": type(exc).__name__})
                continue
            self.store.pushed(ref, assignee)
        try:
            self.events.relay(self.store.engine, outbox)
        except Exception:
            log.exception("router event relay failed; will retry")

    # --- roster API (HTTP and RPC) -------------------------------------------------

    @http("GET", "/agents")
    def http_agents(self, request):
        return self._respond(lambda: {"items": self.store.agents_as_dicts()})

    @http("GET", "/agents/<name>")
    def http_agent(self, request, name):
        return self._respond(lambda: self.store.agent(path_text(name, "agent name")))

    @http("PUT", "/agents/<name>")
    def http_put_agent(self, request, name):
        def work():
            body = json_body(request)
            return self.put_agent({**body, "name": path_text(name, "agent name")})
        return self._respond(work)

    @http("PATCH", "/agents/<name>")
    def http_patch_agent(self, request, name):
        return self._respond(lambda: self.patch_agent(path_text(name, "agent name"), json_body(request)))

    @http("DELETE", "/agents/<name>")
    def http_remove_agent(self, request, name):
        return self._respond(lambda: {"removed": name, "requeued": self.remove_agent(path_text(name, "agent name"))})

    @http("POST", "/agents/<name>/vacations")
    def http_add_vacation(self, request, name):
        return self._respond(lambda: self.add_vacation(path_text(name, "agent name"), json_body(request)),
                             created=True)

    @http("DELETE", "/agents/<name>/vacations/<int:vacation_id>")
    def http_remove_vacation(self, request, name, vacation_id):
        return self._respond(lambda: self.store.remove_vacation(path_text(name, "agent name"), vacation_id)
                             or {"removed": vacation_id})

    @http("POST", "/roster")
    def http_import(self, request):
        def work():
            if request.mimetype in ("text/csv", "text/plain"):
                return self.import_roster(csv=text_body(request))
            return self.import_roster(agents=json_body(request, expect=(list, dict)))
        return self._respond(work)

    @http("GET", "/waiting")
    def http_waiting(self, request):
        return self._respond(lambda: {"items": self.store.waiting_as_dicts()})

    @http("GET", "/tickets/<reference>/explain")
    def http_explain(self, request, reference):
        return self._respond(lambda: self.store.explain(path_text(reference, "reference")))

    @rpc
    def put_agent(self, data):
        errors: dict[str, str] = {}
        agent = roster.agent(data, errors)
        if errors:
            raise roster.RosterError(errors)
        result = self.store.put_agent(agent)
        self.sweep()  # a new or changed agent may take waiting tickets now
        return result

    @rpc
    def patch_agent(self, name, data):
        errors: dict[str, str] = {}
        fields = roster.agent(data, errors, partial=True)
        if errors:
            raise roster.RosterError(errors)
        fields.pop("name", None)
        result = self.store.patch_agent(name, fields)
        self.sweep()
        return result

    @rpc
    def remove_agent(self, name):
        refs = self.store.remove_agent(name)
        self.sweep()
        return refs

    @rpc
    def add_vacation(self, name, data):
        errors: dict[str, str] = {}
        vacation = roster.vacation(data, errors)
        if errors:
            raise roster.RosterError(errors)
        result = self.store.add_vacation(name, vacation)
        self.sweep()
        return result

    @rpc
    def import_roster(self, agents=None, csv=None):
        items = roster.parse_csv(csv) if csv is not None else roster.parse_json(agents)
        result = self.store.import_roster(items)
        self.sweep()
        return result

    @rpc
    def explain(self, reference):
        return self.store.explain(reference)

    @rpc
    def waiting(self):
        return self.store.waiting_as_dicts()

    @rpc
    def get_agent(self, name):
        """The agent's roster entry (contact, status, vacations), or None: the notifier
        asks this for an agent's address; it raises nothing for an unknown name."""
        try:
            return self.store.agent(name)
        except NotFound:
            return None

    # --- operations -------------------------------------------------------------

    @http("GET", "/health/live")
    def live(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/health/ready")
    def ready(self, request):
        return web.readiness({"database": self.store.ping, "broker": self.events.ping})

    @http("GET", "/metrics")
    def metrics(self, request):
        return metrics.render(self.store.counts(), settings.agent_metrics_max())

    def _respond(self, work, created=False):
        return web.respond(work, ERRORS, created)


