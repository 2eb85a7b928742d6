"""The tickets store on real databases: SQLite and PostgreSQL, schema from the
Alembic migrations (not create_all), so the migrations are what is tested."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from services.tickets import domain
from services.tickets.schema import metadata, outbox
from services.tickets.store import Conflict, NotFound
from testkit.complaints import web_complaint as complaint


def events(store, event_type=None):
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    return [r.payload for r in rows if event_type in (None, r.event_type)]


def test_migrations_create_exactly_the_declared_schema(store):
    tables = set(inspect(store.engine).get_table_names()) - {"alembic_version_tickets"}
    assert tables == set(metadata.tables)
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspect(store.engine).get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_a_complaint_becomes_a_ticket_with_message_audit_and_event(store):
    c = complaint()
    result = store.ingest(c)
    assert (result.outcome, result.reference) == ("created", c.reference)
    ticket = store.get(c.reference)
    assert ticket["status"] == "new" and ticket["priority"] == "medium"
    assert ticket["queue"] == "billing" and ticket["channel"] == "web"
    assert ticket["customer"]["email"] == "ana@example.org"
    assert [m["body"] for m in ticket["messages"]] == ["I was charged twice for order 1234."]
    assert ticket["audit"][0]["action"] == "created" and ticket["audit"][0]["actor_type"] == "customer"
    created = events(store, "ticket_created")
    assert len(created) == 1 and created[0]["ticket"]["reference"] == c.reference
    assert created[0]["event_id"]


def test_the_same_message_three_times_is_one_ticket_with_one_message(store):
    c = complaint()
    outcomes = [store.ingest(c).outcome for _ in range(3)]
    assert outcomes == ["created", "duplicate", "duplicate"]
    assert store.search()["total"] == 1
    assert len(store.get(c.reference)["messages"]) == 1
    assert len(events(store)) == 1


def test_concurrent_duplicates_race_to_one_ticket(store):
    """Several consumers (replicas) get the same message at once."""
    c = complaint()
    outcomes, errors = [], []

    def ingest():
        try:
            outcomes.append(store.ingest(c).outcome)
        except Exception as exc:  # surfaced below with the outcomes
            errors.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 5
    assert len(store.get(c.reference)["messages"]) == 1


def test_same_external_id_on_another_channel_is_a_different_message(store):
    store.ingest(complaint(external_id="SM123", channel="web"))
    assert store.ingest(complaint(external_id="SM123", channel="chat")).outcome == "created"


def test_reply_with_reference_from_the_customer_lands_on_the_ticket(store):
    first = complaint()
    store.ingest(first)
    reply = complaint(subject=f"Re: {first.reference}", body="Any news?", category=None)
    result = store.ingest(reply)
    assert (result.outcome, result.reference, result.threaded_via) == (
        "appended", first.reference, "reference_in_text")
    ticket = store.get(first.reference)
    assert [m["body"] for m in ticket["messages"]] == [first.body, "Any news?"]
    assert store.search()["total"] == 1
    added = events(store, "ticket_message_added")
    assert added[-1]["message"]["body"] == "Any news?"
    # The follow-up's own intake reference still finds the ticket (it was told to the customer).
    assert store.get(reply.reference)["reference"] == first.reference


def test_a_stranger_quoting_a_reference_does_not_enter_the_ticket(store):
    first = complaint()
    store.ingest(first)
    stranger = complaint(customer={"email": "mallory@example.net"}, body=f"About {first.reference}")
    result = store.ingest(stranger)
    assert result.outcome == "created" and result.reference == stranger.reference
    assert len(store.get(first.reference)["messages"]) == 1


def test_email_reply_threads_by_in_reply_to(store):
    first = complaint(channel="email", threading={"message_id": "<abc@mail.example.org>"})
    store.ingest(first)
    reply = complaint(channel="email", customer={"email": "someone.else@example.org"}, subject="Re: hello",
                      threading={"in_reply_to": "<abc@mail.example.org>"})
    assert store.ingest(reply).threaded_via == "in_reply_to"
    assert len(store.get(first.reference)["messages"]) == 2


def test_customer_reply_reopens_a_resolved_ticket_and_a_closed_one_gets_a_new_linked_ticket(store):
    first = complaint()
    store.ingest(first)
    store.change(first.reference, {"status": "resolved"}, "agent", "bob")
    store.ingest(complaint(body=f"Still broken {first.reference}"))
    reopened = store.get(first.reference)
    assert reopened["status"] == "new" and reopened["resolved_at"] is None
    updated = events(store, "ticket_updated")[-1]
    assert updated["changes"]["status"] == {"before": "resolved", "after": "new"}

    store.change(first.reference, {"status": "resolved"}, "agent", "bob")
    store.change(first.reference, {"status": "closed"}, "agent", "bob")
    again = complaint(body=f"Broken again, see {first.reference}")
    result = store.ingest(again)
    assert result.outcome == "created"
    assert store.get(again.reference)["related_reference"] == first.reference
    assert store.get(first.reference)["status"] == "closed"


def test_changes_follow_the_state_machine_and_are_audited(store):
    c = complaint()
    store.ingest(c)
    store.change(c.reference, {"status": "in_progress", "priority": "urgent"}, "agent", "bob")
    with pytest.raises(domain.IllegalTransition, match="in_progress to closed"):
        store.change(c.reference, {"status": "closed"}, "agent", "bob")
    with pytest.raises(domain.TicketError, match="unknown category"):
        store.change(c.reference, {"category": "weather"}, "agent", "bob")
    store.change(c.reference, {"category": "delivery"}, "agent", "bob")
    ticket = store.get(c.reference)
    assert (ticket["status"], ticket["priority"], ticket["queue"]) == ("in_progress", "urgent", "delivery")
    change = ticket["audit"][1]
    assert change["actor"] == "bob" and change["changes"]["status"] == {"before": "new", "after": "in_progress"}
    assert change["changes"]["priority"] == {"before": "medium", "after": "urgent"}
    assert [a["action"] for a in ticket["audit"]] == ["created", "changed", "changed"]


def test_assignment_is_a_conditional_claim(store):
    c = complaint()
    store.ingest(c)
    store.assign(c.reference, "alice", "system", "router", expected_assignee=None)
    with pytest.raises(Conflict, match="assigned to alice"):
        store.assign(c.reference, "bob", "system", "router", expected_assignee=None)
    store.assign(c.reference, None, "agent", "supervisor")
    ticket = store.get(c.reference)
    assert ticket["assignee"] is None
    assert [a["action"] for a in ticket["audit"]][-2:] == ["assigned", "unassigned"]
    assigned = [e for e in events(store, "ticket_updated") if "assignee" in e["changes"]]
    assert assigned[0]["changes"]["assignee"] == {"before": None, "after": "alice"}


def test_concurrent_claims_let_exactly_one_agent_win(store):
    c = complaint()
    store.ingest(c)
    winners = []

    def claim(agent):
        try:
            store.assign(c.reference, agent, "system", "router", expected_assignee=None)
            winners.append(agent)
        except Conflict:
            pass

    threads = [threading.Thread(target=claim, args=(f"agent{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert store.get(c.reference)["assignee"] == winners[0]


def test_notes_are_internal(store):
    c = complaint()
    store.ingest(c)
    store.add_note(c.reference, "bob", "Customer is a VIP")
    assert store.get(c.reference)["notes"][0]["body"] == "Customer is a VIP"
    view = store.public_view(c.reference)
    assert "VIP" not in str(view) and view["messages"][0]["body"] == c.body
    with pytest.raises(domain.TicketError):
        store.add_note(c.reference, "bob", "  ")


def test_search_filters_sort_and_pages(store):
    a = complaint(category="billing", body="refund for order 77")
    b = complaint(category="delivery", customer={"email": "joe@example.com"}, body="parcel lost", region="PT")
    d = complaint(category="delivery", channel="chat", body="parcel late 100%_sure")
    for c in (a, b, d):
        store.ingest(c)
    store.change(b.reference, {"priority": "urgent"}, "agent", "bob")
    store.assign(d.reference, "alice", "agent", "sup")

    def refs(**filters):
        return [t["reference"] for t in store.search(**filters)["items"]]

    assert set(refs(category=["delivery"])) == {b.reference, d.reference}
    assert refs(text="REFUND") == [a.reference]
    assert refs(text="100%_") == [d.reference]  # LIKE wildcards are literal
    assert refs(text="100%x") == []
    assert refs(customer="joe@") == [b.reference]
    assert refs(assignee="alice") == [d.reference]
    assert set(refs(assignee="none")) == {a.reference, b.reference}
    assert refs(channel=["chat"]) == [d.reference]
    assert refs(region="pt") == [b.reference]
    assert refs(sort="-priority")[0] == b.reference
    assert refs(sort="created_at") == [a.reference, b.reference, d.reference]
    page = store.search(sort="created_at", per_page=2, page=2)
    assert page["total"] == 3 and [t["reference"] for t in page["items"]] == [d.reference]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert refs(created_from=future) == [] and len(refs(created_to=future)) == 3


def test_unknown_reference_is_not_found(store):
    with pytest.raises(NotFound):
        store.get("C-0000000000")
    assert store.public_view("C-0000000000") is None


def test_outbox_relay_publishes_in_order_and_keeps_what_failed(store):
    for _ in range(3):
        store.ingest(complaint())
    published = []

    def flaky(event_type, payload):
        if len(published) == 2:
            raise ConnectionError("broker down")
        published.append(payload["event_id"])

    assert store.relay_outbox(flaky) == 2
    assert store.outbox_pending() == 1
    assert store.relay_outbox(lambda t, p: published.append(p["event_id"])) == 1
    assert store.outbox_pending() == 0
    assert published == [e["event_id"] for e in events(store)]


def test_an_unanswered_ticket_past_its_first_response_target_is_flagged_once(store):
    targets = domain.parse_first_response_minutes("medium=60,urgent=10")
    late, answered, urgent, resolved = (complaint() for _ in range(4))
    for c in (late, answered, urgent, resolved):
        store.ingest(c)
    store.change(urgent.reference, {"priority": "urgent"}, "agent", "bob")
    store.reply(answered.reference, "bob", "We are on it.")
    store.change(resolved.reference, {"status": "resolved"}, "agent", "bob")
    created = datetime.fromisoformat(store.get(late.reference)["created_at"])

    # Within every target: nothing.
    assert store.flag_sla_breaches(created + timedelta(minutes=5), targets) == []
    # Past the urgent target only.
    assert [t["reference"] for t in store.flag_sla_breaches(created + timedelta(minutes=15), targets)] == [
        urgent.reference]
    # Past the medium target: the unanswered one; the answered and the resolved ones never.
    flagged = store.flag_sla_breaches(created + timedelta(minutes=61), targets)
    assert [t["reference"] for t in flagged] == [late.reference]
    assert flagged[0]["sla_breached_at"] and store.get(answered.reference)["first_response_at"]
    # Once each, however often it is checked.
    assert store.flag_sla_breaches(created + timedelta(hours=5), targets) == []
    assert len(events(store, "ticket_sla_breached")) == 2
    assert [a["action"] for a in store.get(late.reference)["audit"]][-1] == "sla_breached"
