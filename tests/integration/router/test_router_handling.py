"""The router's handling layer on real databases (SQLite and PostgreSQL): tickets
events as the tickets service publishes them (typed, validated), the decisions they
lead to as the router announces them (its outbox, as its relay publishes it), and
reconcile healing a decision the tickets service never applied."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contract.events import (
    Assignment,
    CustomerView,
    MessageSnapshot,
    TicketAssigned,
    TicketCreated,
    TicketSnapshot,
    TicketUpdated,
    received,
)
from services.common.contract.vocabulary import ActorType, Priority, Status
from services.common.messaging import outbox
from services.router import metrics, roster, settings
from services.router.schema import outbox as router_outbox


@pytest.fixture
def router(store):
    """The router's handling layer on a migrated database (conftest.py's store)."""
    return store


def snapshot(reference=None, **fields) -> TicketSnapshot:
    at = datetime.now(UTC).isoformat()
    return TicketSnapshot(**{"reference": reference or f"C-{uuid.uuid4().hex[:10].upper()}", "status": Status.NEW,
                             "priority": Priority.MEDIUM, "channel": "web", "version": 1, "category": "billing",
                             "customer": CustomerView(name="Rita"), "created_at": at, "updated_at": at, **fields})


def delivery(event) -> dict:
    """An event as it arrives from the tickets service's outbox relay."""
    return {"event_id": str(uuid.uuid4()), "event_type": event.event_type,
            "occurred_at": datetime.now(UTC).isoformat(), **event.to_payload()}


def created(ticket: TicketSnapshot) -> dict:
    message = MessageSnapshot(id=1, direction="in", channel=ticket.channel, created_at=ticket.created_at, body="Hi")
    return delivery(TicketCreated(ticket=ticket, intake_id=str(uuid.uuid4()), received_at=ticket.created_at,
                                  message=message))


def announced(router) -> list[tuple[str, dict]]:
    """What the router's relay publishes now (event type, payload)."""
    published = []
    outbox.relay(router.engine, router_outbox, lambda event_type, payload: published.append((event_type, payload)))
    return published


def test_a_ticket_from_portugal_goes_to_the_agent_serving_only_portugal_and_explain_says_where_from(router):
    router.import_roster(roster.parse_json([
        {"name": "ines", "skills": ["billing"], "regions": ["pt"], "capacity": 1},
        {"name": "uma", "skills": ["billing"], "regions": ["us"], "capacity": 50}]))
    ticket = snapshot(region="pt", region_source="phone +351 (PT)")
    decision = router.ticket_event(TicketCreated, created(ticket))
    assert decision.winner == "ines"
    explained = router.explain(ticket.reference)
    assert (explained["assignee"], explained["region"], explained["region_source"]) == (
        "ines", "pt", "phone +351 (PT)")
    rules = {c["agent"]: c["failed_rule"] for c in explained["decisions"][0]["candidates"]}
    assert rules == {"ines": None, "uma": "region"}
    [(event_type, payload)] = announced(router)
    event = received(TicketAssigned, payload).event
    assert (event_type, event.reference, event.assignee, event.previous) == (
        "ticket_assigned", ticket.reference, "ines", None)


def test_a_redelivered_event_announces_its_assignment_once(router, caplog):
    router.import_roster(roster.parse_json([{"name": "ana", "skills": ["billing"], "capacity": 3}]))
    event = created(snapshot())
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            router.ticket_event(TicketCreated, event)
    assert [t for t, _ in announced(router)] == ["ticket_assigned"]
    assert [d["kind"] for d in router.explain(event["ticket"]["reference"])["decisions"]] == ["assign"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_echo_of_the_routers_own_assignment_changes_nothing(router):
    router.import_roster(roster.parse_json([{"name": "ana", "skills": ["billing"], "capacity": 3},
                                            {"name": "bo", "skills": ["billing"], "capacity": 3}]))
    ticket = snapshot()
    winner = router.ticket_event(TicketCreated, created(ticket)).winner
    announced(router)
    echo = TicketUpdated(ticket=replace(ticket, assignee=winner, version=2),
                         changes={"assignee": {"before": None, "after": winner}},
                         actor_type=ActorType.SYSTEM, actor="router",
                         assignment=Assignment(kind="assign", step="strict", rule="lowest load"))
    assert router.ticket_event(TicketUpdated, delivery(echo)) is None
    assert [d["kind"] for d in router.explain(ticket.reference)["decisions"]] == ["assign"]
    assert announced(router) == []
    assert {a["name"]: a["load"] for a in router.roster.agents_as_dicts()}[winner] == 1
    assert router.mirror.ticket(ticket.reference).version == 2


def test_a_malformed_event_is_counted_logged_once_with_its_fields_and_dropped(router, caplog):
    bad = created(snapshot())
    bad["ticket"] = {**bad["ticket"], "status": "sleeping"}
    del bad["ticket"]["channel"]
    before = metrics.BAD_EVENTS._value.get()
    with caplog.at_level(logging.INFO):
        assert router.ticket_event(TicketCreated, bad) is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ticket.status" in errors[0].getMessage() and "ticket.channel" in errors[0].getMessage()
    assert metrics.BAD_EVENTS._value.get() == before + 1
    assert router.mirror.waiting() == []


def test_a_decision_the_tickets_service_does_not_show_is_announced_again_after_the_grace_period(router):
    """The TicketAssigned was lost or parked: reconcile sees the ticket still unassigned in
    the tickets service, at the version the router last applied, and announces it again,
    once per grace period; a ticket the tickets service changed since is left to its event."""
    router.import_roster(roster.parse_json([{"name": "ana", "skills": ["billing"], "capacity": 3}]))
    ticket = snapshot()
    router.ticket_event(TicketCreated, created(ticket))
    announced(router)
    shown = {"reference": ticket.reference, "status": "new", "priority": "medium", "channel": "web",
             "assignee": None, "version": 1, "created_at": ticket.created_at}
    grace = timedelta(seconds=settings.reannounce_seconds())
    start = datetime.now(UTC)
    assert router.reconcile_page([shown], start) == 0  # within the grace period: it may be on its way
    assert router.reconcile_page([{**shown, "version": 2}], start + grace * 2) == 0  # tickets moved on
    assert router.reconcile_page([{**shown, "assignee": "ana"}], start + grace * 2) == 0  # applied
    assert router.reconcile_page([shown], start + grace * 2) == 1
    assert router.reconcile_page([shown], start + grace * 2) == 0  # once per grace period
    [(event_type, payload)] = announced(router)
    event = received(TicketAssigned, payload).event
    assert (event.reference, event.assignee, event.previous, event.assignment.kind) == (
        ticket.reference, "ana", None, "assign")
    assert [d["kind"] for d in router.explain(ticket.reference)["decisions"]] == ["assign"]  # not a new decision


def test_reconcile_adopts_a_ticket_the_router_never_heard_of(router):
    router.import_roster(roster.parse_json([{"name": "ana", "skills": ["billing"], "capacity": 3}]))
    early = {"reference": "C-EARLY00001", "status": "new", "priority": "high", "channel": "email",
             "category": "billing", "region": "pt", "region_source": "mailbox pt", "assignee": None, "version": 1,
             "created_at": datetime.now(UTC).isoformat()}
    router.reconcile(lambda page: {"items": [early], "total": 1, "per_page": 100, "page": page})
    assert router.explain("C-EARLY00001")["region_source"] == "mailbox pt"
    assert [d.winner for d in router.drain_waiting()] == ["ana"]
