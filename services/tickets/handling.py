"""What each message and request means for the tickets service, between the
nameko entrypoints (service.py) and the store (store.py and the use-case
modules behind it): validation of what arrived, retries while the database is
briefly away, outcomes counted and logged, and domain errors turned into the
kernel's typed remote errors. No nameko here, so all of it runs in tests
without a container.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager

import eventlet
import pika.exceptions
from sqlalchemy.exc import DBAPIError, OperationalError

from services.common import registry
from services.common.contract.complaint import ComplaintReceived, ContractError
from services.common.contract.errors import Conflict, Invalid
from services.common.contract.events import (
    EventError,
    SubjectErasureCompleted,
    TicketAssigned,
    TicketUnassigned,
    received,
)
from services.common.contract.reference import normalize_reference
from services.common.privacy.subject import redact
from services.common.web import BadRequest

from . import dead_letters, domain, metrics, privacy_requests, replay, salvage
from .consumer import PARK
from .store import TicketStore

log = logging.getLogger("tickets")

# Retries inside one delivery for a database that is briefly away, before the
# message goes back to the queue (where the delivery limit dead-letters it).
DB_RETRY_DELAYS = tuple(float(d) for d in os.environ.get("TICKETS_DB_RETRY_DELAYS", "0.5,1,2,4,8").split(","))
# How long a follow-up waits for the ticket it names (seconds between checks).
REFERENCE_WAIT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1, 1, 2, 2, 3)
ROUTER_DECISIONS = {cls.event_type: cls for cls in (TicketAssigned, TicketUnassigned)}


# --- RPC: the caller's mistakes travel typed ------------------------------------------

@contextmanager
def caller_errors():
    """A broken rule or a bad filter is the caller's answer (Invalid, with the rule's
    message); NotFound and Conflict are raised as the kernel's classes already."""
    try:
        yield
    except (domain.TicketError, BadRequest) as exc:
        raise Invalid(str(exc)) from None


# --- complaints in ------------------------------------------------------------------------

def complaint(store: TicketStore, body) -> None:
    """Ack only after the ticket committed. Unusable input is quarantined (kept whole,
    with the reason); a failing database raises, so the message goes back to the queue."""
    started = time.monotonic()
    try:
        c = ComplaintReceived.from_dict(body)
    except ContractError as exc:
        qid = store.quarantine(f"invalid ComplaintReceived: {exc}", _raw(body))
        metrics.QUARANTINED.labels("invalid_contract").inc()
        log.warning("complaint quarantined", extra={"quarantine_id": qid, "reason": redact(str(exc))})
        return
    _await_verified_reference(store, c)
    try:
        result = with_db_retries(lambda: store.ingest(c))
    except (OperationalError, Conflict):
        raise  # the database is away or busy: the message goes back to the queue
    except Exception as exc:  # this message, as received, cannot be stored: never leave it dead
        result = _ingest_last_resort(store, c, body, exc)
    metrics.INGESTED.labels(c.channel, result.outcome).inc()
    if c.repairs and result.outcome != "duplicate":
        metrics.REPAIRED.labels(c.channel).inc()
    metrics.INGEST_SECONDS.observe(time.monotonic() - started)
    log.info("complaint %s", result.outcome, extra={
        "intake_id": c.intake_id, "reference": result.reference, "channel": c.channel,
        "threaded_via": result.threaded_via})


def _ingest_last_resort(store: TicketStore, c: ComplaintReceived, body: dict, exc: Exception):
    """An ASCII-only copy of the complaint, with the error and the raw message as notes."""
    log.exception("complaint could not be stored as received; storing an ASCII copy with the raw message",
                  extra={"intake_id": c.intake_id, "reference": c.reference})
    metrics.STORED_AS_ASCII.inc()
    copy, notes_for_agents = salvage.last_resort(c, body, f"{type(exc).__name__}: {exc}")
    return with_db_retries(lambda: store.ingest(copy, tuple(notes_for_agents)))


def _await_verified_reference(store: TicketStore, c: ComplaintReceived) -> None:
    """A follow-up that names its ticket (a chat message, a WhatsApp message in the
    same conversation, a late voicemail transcription) can overtake the first
    message, which another worker may be storing right now. Give that one a few
    seconds to commit instead of opening a second ticket; after the wait the
    follow-up is threaded as well as it can be (logged)."""
    hint = c.threading.ticket_reference
    reference = normalize_reference(hint) if hint else None
    if not reference or reference == c.reference:
        return
    waited = 0.0
    for delay in (*REFERENCE_WAIT_DELAYS, None):
        if with_db_retries(lambda: store.knows_reference(reference)):
            return
        if delay is None:
            break
        eventlet.sleep(delay)
        waited += delay
    log.warning("follow-up names a ticket that does not exist after %.0fs; threading it without", waited,
                extra={"intake_id": c.intake_id, "reference": reference})


# --- the router's decisions ------------------------------------------------------------------

def router_decision(store: TicketStore, body, event_type: str | None) -> str:
    """Apply a TicketAssigned / TicketUnassigned; returns the outcome, or PARK for a
    message that is not a valid decision (counted, one ERROR line, parked whole)."""
    try:
        cls = ROUTER_DECISIONS.get(event_type)
        if cls is None:
            raise EventError(str(event_type), {"event_type": f"not a router decision ({', '.join(ROUTER_DECISIONS)})"})
        event = received(cls, body).event
    except EventError as exc:
        metrics.ASSIGNMENTS.labels("malformed").inc()
        log.error("router decision unusable, parked: %s", exc, extra={"event_type": event_type})
        return PARK
    if isinstance(event, TicketAssigned):
        outcome = with_db_retries(lambda: store.apply_router_decision(
            event.reference, event.assignee, event.previous, event.assignment))
        assignee = event.assignee
    else:
        outcome = with_db_retries(lambda: store.apply_router_decision(event.reference, None, event.previous))
        assignee = None
    metrics.ASSIGNMENTS.labels(outcome).inc()
    log.info("router decision %s: %s", event.event_type, outcome, extra={
        "reference": event.reference, "assignee": assignee, "previous": event.previous})
    return outcome


# --- privacy: the services' answers to an erasure request ----------------------------------

def erasure_report(store: TicketStore, body) -> str:
    """Record a service's SubjectErasureCompleted; PARK for one that is not a valid report."""
    try:
        event = received(SubjectErasureCompleted, body).event
    except EventError as exc:
        metrics.ERASURE_REPORTS.labels("unknown", "malformed").inc()
        log.error("erasure report unusable, parked: %s", sorted(exc.errors))
        return PARK
    outcome = with_db_retries(lambda: privacy_requests.record_report(store.engine, event))
    metrics.ERASURE_REPORTS.labels(event.service if event.service in registry.BY_NAME else "other", outcome).inc()
    log.info("privacy: erasure report %s", outcome, extra={"request_id": event.request_id, "service": event.service})
    return outcome


# --- the clocks: SLA and dead letters ----------------------------------------------------------

def sla_check(store: TicketStore, at, targets) -> None:
    """Flag open tickets nobody answered within their priority's target (once each)."""
    for ticket in store.flag_sla_breaches(at, targets):
        metrics.SLA_BREACHES.labels(ticket["priority"]).inc()
        log.warning("first-response target missed", extra={"reference": ticket["reference"],
                                                            "priority": ticket["priority"]})


def watch_dead_letters(store: TicketStore, amqp_uri: str, auto_replays: int) -> None:
    """Record each dead-lettered complaint (its tracking page then says "delayed"),
    replay it while the database answers, `auto_replays` times at most, and park
    the rest again for an operator (replay-dead-letters after a fix)."""
    try:
        store.ping()
    except Exception:
        return  # a replay now would only die again; the alert already fires on the depth
    try:
        connection, channel = replay.open_channel(amqp_uri)
        try:
            moved = replay.move(channel, lambda body, properties: _dead_letter_action(
                store, body, properties, auto_replays))
        finally:
            connection.close()
    except (pika.exceptions.AMQPError, OSError) as exc:  # the broker is away: look again next time
        log.warning("dead-letter watcher could not reach the broker (%s)", type(exc).__name__)
        return
    for action, count in moved.items():
        metrics.DEAD_LETTERS_MOVED.labels(action).inc(count)
    if moved:
        log.warning("dead letters: %s", dict(moved))


def _dead_letter_action(store: TicketStore, body: bytes, properties, auto_replays: int) -> str:
    letter = dead_letters.read(body, properties.headers)
    action = dead_letters.decide(letter, auto_replays)
    try:
        store.record_dead_letter(letter, action)
    except Exception:  # recording is for the tracking page; never move a message unrecorded
        log.exception("could not record a dead letter; parking it", extra={"key": letter.key})
        return dead_letters.PARK
    log.error("complaint dead-lettered (%s, %d deaths): %s", letter.reason, letter.deaths, action,
              extra={"key": letter.key, "reference": letter.reference})
    return action


# --- the database, briefly away ------------------------------------------------------------------

def with_db_retries(work):
    for delay in (*DB_RETRY_DELAYS, None):
        try:
            return work()
        except DBAPIError as exc:
            if delay is None or not exc.connection_invalidated and not _is_transient(exc):
                raise
            log.warning("database unavailable (%s); retrying in %ss", type(exc.orig).__name__, delay)
            eventlet.sleep(delay)


def _is_transient(exc: DBAPIError) -> bool:
    # Connection-level failures (server restart, network) are worth retrying;
    # constraint violations and programming errors are not.
    return isinstance(exc, OperationalError)


def _raw(body) -> str:
    try:
        return json.dumps(body)
    except (TypeError, ValueError):
        return repr(body)
