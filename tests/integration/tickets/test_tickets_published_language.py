"""What the tickets store announces and keeps, on SQLite and PostgreSQL: every
event in the outbox reads back as its typed class (services/common/contract/
events.py), identities are rows that threading matches on whatever their kind,
the region and where it came from travel with the ticket, and the router's
decisions apply quietly: once, never over an agent's later choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.common.contract.complaint import ComplaintReceived, new_intake_id, utc_now_iso
from services.common.contract.errors import Conflict
from services.common.contract.events import BY_TYPE, Assignment, TicketUpdated, received
from services.common.storage.db import make_engine
from services.tickets.migrate import upgrade
from services.tickets.schema import outbox
from services.tickets.store import TicketStore


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield TicketStore(engine)
    engine.dispose()


def complaint(customer=None, **overrides) -> ComplaintReceived:
    data = {"schema_version": 1, "intake_id": new_intake_id(), "channel": "web", "received_at": utc_now_iso(),
            "customer": customer or {"name": "Ana", "email": "Ana@Example.org"}, "subject": "Charged twice",
            "body": "I was charged twice.", "category": "billing"}
    data["external_id"] = data["intake_id"]
    data.update(overrides)
    return ComplaintReceived.from_dict(data)


def events(store, event_type=None):
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    return [received(BY_TYPE[("tickets", r.event_type)], r.payload).event for r in rows
            if event_type in (None, r.event_type)]


def test_every_event_of_a_tickets_life_reads_back_as_its_typed_class(store):
    c = complaint(region="pt", region_source="phone +351 (PT)")
    store.ingest(c)
    store.assign(c.reference, "ana", "agent", "sup")
    store.reply(c.reference, "ana", "Refunded.", status="resolved")
    store.record_survey(c.reference, 5, "quick")
    store.ingest(complaint(body="4 - thanks", threading={"ticket_reference": c.reference}))
    store.flag_sla_breaches(datetime.now(UTC) + timedelta(days=2), {"medium": 1})  # nothing open: no event
    store.ingest(other := complaint(customer={"phone": "+351912345678"}))
    store.flag_sla_breaches(datetime.now(UTC) + timedelta(days=2), {"medium": 1})
    kinds = [type(e).__name__ for e in events(store)]  # received() raised on any malformed one
    assert kinds == ["TicketCreated", "TicketUpdated", "TicketReplyAdded", "TicketUpdated", "TicketSurveyAnswered",
                     "TicketSurveyAnswered", "TicketCreated", "TicketSlaBreached"]
    created = events(store, "ticket_created")[0]
    assert (created.ticket.region, created.ticket.region_source) == ("pt", "phone +351 (PT)")
    assert created.ticket.customer.address("email") == "ana@example.org"
    assert events(store, "ticket_sla_breached")[0].ticket.reference == other.reference


def test_the_agents_view_keeps_its_customer_shape_and_lists_every_identity(store):
    c = complaint(customer={"name": "Ana", "email": "ana@example.org", "whatsapp": "+351912345678"},
                  region="pt", region_source="whatsapp +351 (PT)")
    store.ingest(c)
    ticket = store.get(c.reference)
    assert ticket["customer"] == {
        "name": "Ana", "anonymous": False, "email": "ana@example.org", "phone": None, "whatsapp": "+351912345678",
        "identities": [{"kind": "email", "value": "ana@example.org"}, {"kind": "whatsapp", "value": "+351912345678"}]}
    assert (ticket["region"], ticket["region_source"]) == ("pt", "whatsapp +351 (PT)")
    assert store.search(customer="912345")["items"][0]["reference"] == c.reference


def test_a_typed_reference_threads_by_identity_rows_whatever_the_channel(store):
    first = complaint(customer={"whatsapp": "+351912345678"}, channel="whatsapp")
    store.ingest(first)
    by_phone = complaint(customer={"phone": "+351912345678"}, channel="voice", body=f"About {first.reference}")
    assert store.ingest(by_phone).outcome == "appended"
    stranger = complaint(customer={"phone": "+351999999999"}, channel="voice", body=f"About {first.reference}")
    assert store.ingest(stranger).outcome == "created"


def test_a_router_decision_is_applied_once_and_announced_with_its_assignment(store):
    c = complaint()
    store.ingest(c)
    decision = Assignment(kind="ranked", step="exact", rule="billing/pt")
    assert store.apply_router_decision(c.reference, "ana", None, decision) == "applied"
    assert store.apply_router_decision(c.reference, "ana", None, decision) == "no_op"  # redelivered
    assert store.get(c.reference)["assignee"] == "ana"
    updates = events(store, "ticket_updated")
    assert len(updates) == 1
    update = updates[0]
    assert isinstance(update, TicketUpdated)
    assert (update.actor_type, update.actor, update.assignment) == ("system", "router", decision)
    assert update.changes == {"assignee": {"before": None, "after": "ana"}}
    audit = store.get(c.reference)["audit"][-1]
    assert (audit["action"], audit["actor"], audit["changes"]["assignment"]["kind"]) == ("assigned", "router", "ranked")


def test_a_decision_an_agent_overtook_or_a_closed_ticket_changes_nothing(store):
    c = complaint()
    store.ingest(c)
    store.assign(c.reference, "carla", "agent", "carla")
    assert store.apply_router_decision(c.reference, "ana", None, Assignment(kind="ranked")) == "superseded"
    assert store.apply_router_decision(c.reference, None, "bob") == "superseded"  # unassign from whom?
    assert store.get(c.reference)["assignee"] == "carla"
    assert store.apply_router_decision(c.reference, None, "carla") == "applied"
    assert store.get(c.reference)["assignee"] is None
    store.change(c.reference, {"status": "resolved"}, "agent", "carla")
    assert store.apply_router_decision(c.reference, "ana", None, Assignment(kind="ranked")) == "skipped"
    assert store.apply_router_decision("C-0000000000", "ana", None, Assignment(kind="ranked")) == "skipped"
    assert store.get(c.reference)["assignee"] is None
    updates = events(store, "ticket_updated")
    assert [(u.actor, u.assignment) for u in updates] == [("carla", None), ("router", None), ("carla", None)]


def test_an_agent_assigning_whom_the_ticket_already_has_is_a_quiet_no_op(store):
    c = complaint()
    store.ingest(c)
    store.assign(c.reference, "ana", "agent", "sup")
    again = store.assign(c.reference, "ana", "agent", "sup", expected_assignee=None)  # stale view, same wish
    assert again["assignee"] == "ana" and again["version"] == 2
    with pytest.raises(Conflict):
        store.assign(c.reference, "bob", "agent", "sup", expected_assignee=None)
    assert len(events(store, "ticket_updated")) == 1
