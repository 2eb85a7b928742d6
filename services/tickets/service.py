"""The tickets service's nameko entrypoints: consume complaints, relay events,
answer RPC and the agent-facing HTTP API. Logic lives in domain.py and store.py.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime

import eventlet
import pika.exceptions
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from nameko.web.handlers import http
from sqlalchemy.exc import DBAPIError, OperationalError

from services.common import config, web
from services.common.contract.complaint import ComplaintReceived, ContractError
from services.common.contract.reference import normalize_reference
from services.common.messaging import topology
from services.common.messaging.event_relay import EventRelay
from services.common.storage.db import make_engine
from services.common.web import BadRequest, json_body, json_response

from . import api, dead_letters, domain, metrics, replay, salvage
from .consumer import consume
from .schema import outbox
from .store import Conflict, NotFound, TicketStore

log = logging.getLogger("tickets")

# Retries inside one delivery for a database that is briefly away, before the
# message goes back to the queue (where the delivery limit dead-letters it).
# How long a follow-up waits for the ticket it names (seconds between checks).
REFERENCE_WAIT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1, 1, 2, 2, 3)
# First-response targets per priority (minutes), and how often they are checked.
SLA_TARGETS = domain.parse_first_response_minutes(os.environ.get("TICKETS_SLA_FIRST_RESPONSE_MINUTES"))
SLA_CHECK_SECONDS = float(os.environ.get("TICKETS_SLA_CHECK_SECONDS", 30))
# The dead-letter watcher: how often it looks, and how many times a complaint that
# died for want of a database is replayed automatically before it stays parked.
DEAD_LETTER_CHECK_SECONDS = float(os.environ.get("TICKETS_DEAD_LETTER_CHECK_SECONDS", 30))
DEAD_LETTER_AUTO_REPLAYS = int(os.environ.get("TICKETS_DEAD_LETTER_AUTO_REPLAYS", 3))
DB_RETRY_DELAYS = tuple(float(d) for d in os.environ.get("TICKETS_DB_RETRY_DELAYS", "0.5,1,2,4,8").split(","))


CALLER_ERRORS = (NotFound, Conflict, domain.TicketError)


class Store(DependencyProvider):
    """One engine (and pool) per service process, shared by its workers."""

    def setup(self):
        self.store = TicketStore(make_engine(self.container.config["DATABASE_URL"]))

    def get_dependency(self, worker_ctx):
        return self.store

    def stop(self):
        self.store.engine.dispose()


class TicketsService:
    name = "tickets"

    store: TicketStore = Store()
    events: EventRelay = EventRelay("tickets")

    # --- complaints in --------------------------------------------------------

    @consume(topology.kombu_complaints_queue(), requeue_on_error=True)
    def handle_complaint(self, body):
        """Ack only after the ticket committed. Unusable input is quarantined
        (kept whole, with the reason); a failing database requeues the message."""
        started = time.monotonic()
        try:
            complaint = ComplaintReceived.from_dict(body)
        except ContractError as exc:
            qid = self.store.quarantine(f"invalid ComplaintReceived: {exc}", _raw(body))
            metrics.QUARANTINED.labels("invalid_contract").inc()
            log.warning("complaint quarantined", extra={"quarantine_id": qid, "reason": str(exc)})
            return
        self._await_verified_reference(complaint)
        try:
            result = self._with_db_retries(lambda: self.store.ingest(complaint))
        except (OperationalError, Conflict):
            raise  # the database is away or busy: the message goes back to the queue
        except Exception as exc:  # this message, as received, cannot be stored: never leave it dead
            result = self._ingest_last_resort(complaint, body, exc)
        metrics.INGESTED.labels(complaint.channel, result.outcome).inc()
        if complaint.repairs and result.outcome != "duplicate":
            metrics.REPAIRED.labels(complaint.channel).inc()
        metrics.INGEST_SECONDS.observe(time.monotonic() - started)
        log.info("complaint %s", result.outcome, extra={
            "intake_id": complaint.intake_id, "reference": result.reference, "channel": complaint.channel,
            "threaded_via": result.threaded_via})
        self._relay_soon()

    def _ingest_last_resort(self, complaint: ComplaintReceived, body: dict, exc: Exception):
        """An ASCII-only copy of the complaint, with the error and the raw message as notes."""
        log.exception("complaint could not be stored as received; storing an ASCII copy with the raw message",
                      extra={"intake_id": complaint.intake_id, "reference": complaint.reference})
        metrics.STORED_AS_ASCII.inc()
        copy, notes_for_agents = salvage.last_resort(complaint, body, f"{type(exc).__name__}: {exc}")
        return self._with_db_retries(lambda: self.store.ingest(copy, tuple(notes_for_agents)))

    def _await_verified_reference(self, complaint: ComplaintReceived) -> None:
        """A follow-up that names its ticket (a chat message, a WhatsApp message in the
        same conversation, a late voicemail transcription) can overtake the first
        message, which another worker may be storing right now. Give that one a few
        seconds to commit instead of opening a second ticket; after the wait the
        follow-up is threaded as well as it can be (logged)."""
        hint = complaint.threading.ticket_reference
        reference = normalize_reference(hint) if hint else None
        if not reference or reference == complaint.reference:
            return
        waited = 0.0
        for delay in (*REFERENCE_WAIT_DELAYS, None):
            if self._with_db_retries(lambda: self.store.knows_reference(reference)):
                return
            if delay is None:
                break
            eventlet.sleep(delay)
            waited += delay
        log.warning("follow-up names a ticket that does not exist after %.0fs; threading it without", waited,
                    extra={"intake_id": complaint.intake_id, "reference": reference})

    def _with_db_retries(self, work):
        for delay in (*DB_RETRY_DELAYS, None):
            try:
                return work()
            except DBAPIError as exc:
                if delay is None or not exc.connection_invalidated and not _is_transient(exc):
                    raise
                log.warning("database unavailable (%s); retrying in %ss", type(exc.orig).__name__, delay)
                eventlet.sleep(delay)

    # --- events out -----------------------------------------------------------

    @timer(interval=1)
    def relay_events(self):
        self.events.relay(self.store.engine, outbox)
        metrics.OUTBOX_PENDING.set(self.store.outbox_pending())

    @timer(interval=SLA_CHECK_SECONDS)
    def check_sla(self):
        """Flag open tickets nobody answered within their priority's target (once each)."""
        for ticket in self.store.flag_sla_breaches(datetime.now(UTC), SLA_TARGETS):
            metrics.SLA_BREACHES.labels(ticket["priority"]).inc()
            log.warning("first-response target missed", extra={"reference": ticket["reference"],
                                                                "priority": ticket["priority"]})
        self._relay_soon()

    @timer(interval=DEAD_LETTER_CHECK_SECONDS)
    def watch_dead_letters(self):
        """Record each dead-lettered complaint (its tracking page then says "delayed"),
        replay it while the database answers, DEAD_LETTER_AUTO_REPLAYS times at most,
        and park the rest again for an operator (replay-dead-letters after a fix)."""
        try:
            self.store.ping()
        except Exception:
            return  # a replay now would only die again; the alert already fires on the depth
        try:
            connection, channel = replay.open_channel(config.amqp_uri())
            try:
                moved = replay.move(channel, self._dead_letter_action)
            finally:
                connection.close()
        except (pika.exceptions.AMQPError, OSError) as exc:  # the broker is away: look again next time
            log.warning("dead-letter watcher could not reach the broker (%s)", type(exc).__name__)
            return
        for action, count in moved.items():
            metrics.DEAD_LETTERS_MOVED.labels(action).inc(count)
        if moved:
            log.warning("dead letters: %s", dict(moved))

    def _dead_letter_action(self, body: bytes, properties) -> str:
        letter = dead_letters.read(body, properties.headers)
        action = dead_letters.decide(letter, DEAD_LETTER_AUTO_REPLAYS)
        try:
            self.store.record_dead_letter(letter, action)
        except Exception:  # recording is for the tracking page; never move a message unrecorded
            log.exception("could not record a dead letter; parking it", extra={"key": letter.key})
            return dead_letters.PARK
        log.error("complaint dead-lettered (%s, %d deaths): %s", letter.reason, letter.deaths, action,
                  extra={"key": letter.key, "reference": letter.reference})
        return action

    def _relay_soon(self):
        try:
            self.events.relay(self.store.engine, outbox)
        except Exception:  # the timer will pick the rows up; never fail the complaint for it
            log.exception("event relay failed; will retry")

    # --- RPC (router, intakes) ----------------------------------------------------
    # A caller's mistake or a race already won (an unknown reference, an illegal
    # change, a claim another replica took) is the caller's answer, not our ERROR:
    # nameko logs expected exceptions as warnings.

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_ticket(self, reference):
        return self.store.get(reference)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_public_view(self, reference):
        return self.store.public_view(reference)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def search(self, filters):
        return self.store.search(**api.search_filters(filters))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def change(self, reference, fields, actor_type="agent", actor=None):
        result = self.store.change(reference, fields, actor_type, actor)
        self._relay_soon()
        return result

    @rpc(expected_exceptions=CALLER_ERRORS)
    def assign(self, reference, assignee, actor_type="system", actor="router", expected_assignee="*"):
        result = self.store.assign(reference, assignee, actor_type, actor, expected_assignee)
        self._relay_soon()
        return result

    @rpc(expected_exceptions=CALLER_ERRORS)
    def add_note(self, reference, author, body):
        return self.store.add_note(reference, author, body)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def reply(self, reference, author, body, status=None):
        """An agent's answer to the customer -> {"ticket", "message"}; the notifier sends it."""
        result = self.store.reply(reference, author, body, status)
        self._relay_soon()
        return result

    @rpc(expected_exceptions=CALLER_ERRORS)
    def record_survey(self, reference, rating, comment=None, source="link"):
        result = self.store.record_survey(reference, rating, comment, source)
        self._relay_soon()
        return result

    @rpc(expected_exceptions=CALLER_ERRORS)
    def set_follow_up(self, reference, channel, address, actor_type="customer", actor=None):
        result = self.store.set_follow_up(reference, channel, address, actor_type, actor)
        self._relay_soon()
        return result

    # --- HTTP API (agents) ------------------------------------------------------

    @http("GET", "/tickets")
    def http_search(self, request):
        return api.respond(lambda: self.store.search(**api.search_filters(request.args)))

    @http("GET", "/tickets/<reference>")
    def http_get(self, request, reference):
        return api.respond(lambda: self.store.get(reference))

    @http("PATCH", "/tickets/<reference>")
    def http_change(self, request, reference):
        def work():
            body = json_body(request)
            fields = {k: body[k] for k in ("status", "priority", "category") if k in body}
            if not fields:
                raise BadRequest("nothing to change: give status, priority and/or category")
            return self.store.change(reference, fields, "agent", api.actor(request, body))
        return self._respond_and_relay(work)

    @http("POST", "/tickets/<reference>/assignee")
    def http_assign(self, request, reference):
        def work():
            body = json_body(request)
            assignee = body.get("assignee")
            if not isinstance(assignee, str) or not assignee.strip():
                raise BadRequest("'assignee' is required (use DELETE to unassign)")
            expected = body.get("expected_assignee", "*")
            return self.store.assign(reference, assignee.strip(), "agent", api.actor(request, body), expected)
        return self._respond_and_relay(work)

    @http("DELETE", "/tickets/<reference>/assignee")
    def http_unassign(self, request, reference):
        return self._respond_and_relay(
            lambda: self.store.assign(reference, None, "agent", api.actor(request, {})))

    @http("POST", "/tickets/<reference>/notes")
    def http_note(self, request, reference):
        def work():
            body = json_body(request)
            return self.store.add_note(reference, api.actor(request, body), body.get("body", ""))
        return api.respond(work, created=True)

    @http("POST", "/tickets/<reference>/replies")
    def http_reply(self, request, reference):
        def work():
            body = json_body(request)
            return self.store.reply(reference, api.actor(request, body), body.get("body"), body.get("status"))
        return self._respond_and_relay(work, created=True)

    @http("POST", "/tickets/<reference>/survey")
    def http_survey(self, request, reference):
        def work():
            body = json_body(request)
            if "rating" not in body:
                raise BadRequest("'rating' (1 to 5) is required")
            return self.store.record_survey(reference, body["rating"], body.get("comment"),
                                            str(body.get("source") or "link"))
        return self._respond_and_relay(work)

    @http("GET", "/dead-letters")
    def http_dead_letters(self, request):
        return api.respond(lambda: {"items": self.store.list_dead_letters()})

    @http("GET", "/quarantine")
    def http_quarantine(self, request):
        return api.respond(lambda: {"items": self.store.list_quarantine()})

    def _respond_and_relay(self, work, created=False):
        response = api.respond(work, created)
        if response.status_code < 300:
            self._relay_soon()
        return response

    # --- operations -------------------------------------------------------------

    @http("GET", "/health/live")
    def live(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/health/ready")
    def ready(self, request):
        return web.readiness({"database": self.store.ping, "broker": self.events.ping})

    @http("GET", "/metrics")
    def metrics(self, request):
        return metrics.render(self.store, lambda: self.events.queue_depth(topology.kombu_dead_letter_queue()))



def _is_transient(exc: DBAPIError) -> bool:
    # Connection-level failures (server restart, network) are worth retrying;
    # constraint violations and programming errors are not.
    return isinstance(exc, OperationalError)


def _raw(body) -> str:
    try:
        return json.dumps(body)
    except (TypeError, ValueError):
        return repr(body)
