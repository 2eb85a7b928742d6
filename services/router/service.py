"""The router's nameko entrypoints: follow the tickets service's events, sweep the
waiting queue, reconcile with the tickets service, publish the router's events,
and answer the roster API and `explain`. What each does lives in handling.py;
rules in policy.py."""

from __future__ import annotations

import logging

import eventlet
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from nameko.web.handlers import http

from services.common import web
from services.common.auth.nameko_guard import CallerOf, CredentialedRpcProxy, guarded_http, guarded_rpc, metrics_http
from services.common.auth.tokens import READ, WRITE
from services.common.contract.confidential import viewer_of
from services.common.contract.errors import CALLER_ERRORS, Forbidden, NotFound
from services.common.contract.events import TicketCreated, TicketMessageAdded, TicketUpdated
from services.common.contract.vocabulary import OPEN_STATUS_VALUES
from services.common.messaging import topology
from services.common.messaging.event_relay import EventRelay
from services.common.storage.db import make_engine
from services.common.web import BadRequest, json_body, json_response, path_text, text_body
from services.common.web.nameko_front import WebFront

from . import metrics, roster, settings
from .assignment import Lost
from .handling import Router
from .schema import outbox

log = logging.getLogger("router")

ERRORS = ((NotFound, 404, "not_found"), (Forbidden, 403, "forbidden"), (roster.RosterError, 422, "invalid"),
          (BadRequest, 400, "bad_request"), (Lost, 409, "conflict"))
# Who may change the roster: an operator, or these roles signed in at the console.
ROSTER_ROLES = ("supervisor", "admin")


def roster_writer(caller) -> None:
    """Refuses a roster change from anyone but an operator or a supervisor (an agent's
    console token, another service's token): agents must not make agents."""
    if caller is not None and (caller.operator or caller.role in ROSTER_ROLES):
        return
    who = (f"agent {caller.agent} ({caller.role})" if caller and caller.agent else
           caller.subject if caller else "an unknown caller")
    raise Forbidden(f"{who} may not change the roster: operators and supervisors do")


class RouterDependency(DependencyProvider):
    def setup(self):
        self.router = Router(make_engine(self.container.config["DATABASE_URL"]), settings.policy_config())

    def get_dependency(self, worker_ctx):
        return self.router

    def stop(self):
        self.router.engine.dispose()


def on_tickets(event_type):
    # requeue_on_error: nameko would otherwise ack and drop an event whose handler failed.
    return event_handler("tickets", event_type, requeue_on_error=True)


class RouterService:
    name = "router"

    router: Router = RouterDependency()
    # Declares the tickets.assignments queue before the first publish, so a decision made
    # while the tickets service is down waits there instead of reaching no queue.
    events: EventRelay = EventRelay("router", declare=topology.kombu_assignments_queues)
    tickets = CredentialedRpcProxy("tickets")
    caller = CallerOf()
    web_front = WebFront()  # security headers, /openapi.yaml, JSON errors on every HTTP answer

    # --- the tickets service's events ------------------------------------------

    @on_tickets(TicketCreated.event_type)
    def on_ticket_created(self, payload):
        self.router.ticket_event(TicketCreated, payload)
        self._relay()

    @on_tickets(TicketUpdated.event_type)
    def on_ticket_updated(self, payload):
        self.router.ticket_event(TicketUpdated, payload)
        self._relay()

    @on_tickets(TicketMessageAdded.event_type)
    def on_message_added(self, payload):
        self.router.ticket_event(TicketMessageAdded, payload)
        self._relay()

    # --- periodic work -----------------------------------------------------------

    @timer(interval=settings.sweep_seconds())
    def sweep(self):
        """Hand over absent agents' tickets, drain the waiting queue, publish."""
        self.router.sweep()
        self._relay()

    @timer(interval=settings.reconcile_seconds())
    def reconcile(self):
        """Adopt open tickets the router never heard of, and announce again decisions
        the tickets service does not show (handling.Router.reconcile_page)."""
        try:
            self.router.reconcile(self._open_tickets)
        except (Exception, eventlet.Timeout) as exc:  # tickets away: next time
            log.warning("reconcile skipped: %s", type(exc).__name__)
        self._relay()

    def _open_tickets(self, page):
        # nameko's RpcProxy has no timeout of its own; a hung call would stall this timer forever.
        with eventlet.Timeout(settings.rpc_timeout()):
            return self.tickets.search({"status": list(OPEN_STATUS_VALUES), "per_page": 100, "page": page,
                                        "sort": "created_at"})

    def _relay(self):
        """Publish the router's events (written to the outbox with each decision)."""
        try:
            self.events.relay(self.router.engine, outbox)
        except Exception:
            log.exception("router event relay failed; will retry")

    # --- roster API (HTTP and RPC) -------------------------------------------------

    @guarded_http("GET", "/agents")
    def http_agents(self, request):
        return self._respond(lambda: {"items": self.router.roster.agents_as_dicts()})

    @guarded_http("GET", "/agents/<name>")
    def http_agent(self, request, name):
        return self._respond(lambda: self.router.roster.agent(path_text(name, "agent name")))

    @guarded_http("PUT", "/agents/<name>")
    def http_put_agent(self, request, name):
        def work():
            body = json_body(request)
            return self.put_agent({**body, "name": path_text(name, "agent name")})
        return self._respond(work)

    @guarded_http("PATCH", "/agents/<name>")
    def http_patch_agent(self, request, name):
        return self._respond(lambda: self.patch_agent(path_text(name, "agent name"), json_body(request)))

    @guarded_http("DELETE", "/agents/<name>")
    def http_remove_agent(self, request, name):
        return self._respond(lambda: {"removed": name, "requeued": self.remove_agent(path_text(name, "agent name"))})

    @guarded_http("POST", "/agents/<name>/vacations")
    def http_add_vacation(self, request, name):
        return self._respond(lambda: self.add_vacation(path_text(name, "agent name"), json_body(request)),
                             created=True)

    @guarded_http("DELETE", "/agents/<name>/vacations/<int(max=2147483647):vacation_id>")
    def http_remove_vacation(self, request, name, vacation_id):
        def work():
            roster_writer(self.caller)
            return self.router.roster.remove_vacation(path_text(name, "agent name"), vacation_id) \
                or {"removed": vacation_id}
        return self._respond(work)

    @guarded_http("POST", "/roster")
    def http_import(self, request):
        def work():
            if request.mimetype in ("text/csv", "text/plain"):
                return self.import_roster(csv=text_body(request))
            return self.import_roster(agents=json_body(request, expect=(list, dict)))
        return self._respond(work)

    @guarded_http("GET", "/waiting")
    def http_waiting(self, request):
        return self._respond(lambda: {"items": self.router.mirror.waiting_as_dicts(viewer_of(self.caller))})

    @guarded_http("GET", "/tickets/<reference>/explain")
    def http_explain(self, request, reference):
        return self._respond(lambda: self.router.explain(path_text(reference, "reference"), viewer_of(self.caller)))

    @guarded_rpc(scope=WRITE)
    def put_agent(self, data):
        roster_writer(self.caller)
        return self._then_sweep(self.router.put_agent(data))  # a new or changed agent may take waiting tickets

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def patch_agent(self, name, data):
        roster_writer(self.caller)
        return self._then_sweep(self.router.patch_agent(name, data))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def remove_agent(self, name):
        roster_writer(self.caller)
        return self._then_sweep(self.router.roster.remove_agent(name))

    @guarded_rpc(scope=WRITE, expected_exceptions=CALLER_ERRORS)
    def add_vacation(self, name, data):
        roster_writer(self.caller)
        return self._then_sweep(self.router.add_vacation(name, data))

    @guarded_rpc(scope=WRITE)
    def import_roster(self, agents=None, csv=None):
        roster_writer(self.caller)
        items = roster.parse_csv(csv) if csv is not None else roster.parse_json(agents)
        return self._then_sweep(self.router.import_roster(items))

    @guarded_rpc(scope=READ, expected_exceptions=CALLER_ERRORS)
    def explain(self, reference):
        return self.router.explain(reference, viewer_of(self.caller))

    @guarded_rpc(scope=READ)
    def waiting(self):
        return self.router.mirror.waiting_as_dicts(viewer_of(self.caller))

    @guarded_rpc(scope=READ)
    def get_agent(self, name):
        """The agent's roster entry (contact, status, vacations), or None: the notifier
        asks this for an agent's address; it raises nothing for an unknown name."""
        try:
            return self.router.roster.agent(name)
        except NotFound:
            return None

    def _then_sweep(self, result):
        self.sweep()
        return result

    # --- operations -------------------------------------------------------------

    @http("GET", "/health/live")
    def live(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/health/ready")
    def ready(self, request):
        return web.readiness({"database": self.router.ping, "broker": self.events.ping})

    @metrics_http("GET", "/metrics")
    def metrics(self, request):
        return metrics.render(self.router.counts(), settings.agent_metrics_max())

    def _respond(self, work, created=False):
        return web.respond(work, ERRORS, created)


