"""Agent replies, the satisfaction survey and the customer's follow-up channel in
the tickets service: the store on SQLite and PostgreSQL, and the running
service. The rules in plain Python are tests/unit/test_tickets_reply_rules.py."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from services.common.contract.complaint import ComplaintReceived, new_intake_id
from services.tickets import domain
from services.tickets.schema import outbox
from services.tickets.store import NotFound
from testkit import api
from testkit.complaints import web_complaint


def complaint(**overrides) -> ComplaintReceived:
    """An email complaint with its own Message-ID, so replies can thread under it."""
    overrides.setdefault("channel", "email")
    overrides.setdefault("threading", {"message_id": f"<{new_intake_id()}@mail.example.org>"})
    return web_complaint(**overrides)


def events(store, event_type):
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    return [r.payload for r in rows if r.event_type == event_type]


def resolved_ticket(store) -> ComplaintReceived:
    c = complaint()
    store.ingest(c)
    store.change(c.reference, {"status": "resolved"}, "agent", "bob")
    return c


# --- store --------------------------------------------------------------------


def test_a_reply_is_an_outbound_message_threaded_under_the_customers_mail(store):
    c = complaint()
    store.ingest(c)
    result = store.reply(c.reference, "bob", "We refunded the second charge.", status="pending_customer")
    message = result["message"]
    assert message["direction"] == "out" and message["channel"] == "email" and message["author"] == "bob"
    assert message["message_id"].startswith("<") and message["message_id"].endswith("@complaints.localhost>")
    assert message["extras"]["in_reply_to"] == c.threading.message_id
    assert message["extras"]["references"] == [c.threading.message_id]
    assert message["subject"] == f"[{c.reference}] Re: Charged twice"
    assert result["ticket"]["status"] == "pending_customer"
    ticket = store.get(c.reference)
    assert [m["direction"] for m in ticket["messages"]] == ["in", "out"]
    assert ticket["audit"][-1]["action"] == "replied" and ticket["audit"][-1]["actor"] == "bob"
    assert ticket["audit"][-1]["changes"]["status"] == {"before": "new", "after": "pending_customer"}
    created = events(store, "ticket_created")[0]
    assert created["message"]["message_id"] == c.threading.message_id  # the notifier threads its ack under it
    added = events(store, "ticket_reply_added")
    assert len(added) == 1 and added[0]["message"]["id"] == message["id"]
    assert events(store, "ticket_updated")[-1]["changes"]["status"]["after"] == "pending_customer"

    # The customer's email answer to the reply threads back onto the ticket by In-Reply-To.
    answer = complaint(subject="Re: Charged twice", body="Thanks, but the refund is not there yet.",
                       threading={"in_reply_to": message["message_id"],
                                  "message_id": f"<{new_intake_id()}@mail.example.org>"})
    assert store.ingest(answer).reference == c.reference
    assert store.get(c.reference)["status"] == "new"


def test_a_reply_refuses_bad_input_and_closed_tickets(store):
    c = complaint()
    store.ingest(c)
    with pytest.raises(domain.TicketError, match="needs a body"):
        store.reply(c.reference, "bob", "   ")
    with pytest.raises(domain.IllegalTransition):
        store.reply(c.reference, "bob", "Done", status="closed")
    assert len(store.get(c.reference)["messages"]) == 1  # nothing half-stored
    store.change(c.reference, {"status": "resolved"}, "agent", "bob")
    store.change(c.reference, {"status": "closed"}, "agent", "bob")
    with pytest.raises(domain.TicketError, match="closed"):
        store.reply(c.reference, "bob", "One more thing")
    with pytest.raises(NotFound):
        store.reply("C-0000000000", "bob", "hello")


def test_a_reply_goes_to_the_follow_up_channel_the_customer_chose(store):
    c = complaint(channel="web")
    store.ingest(c)
    ticket = store.set_follow_up(c.reference, "whatsapp", "+351 912 345 678", "customer", "ana@example.org")
    assert ticket["follow_up"] == {"channel": "whatsapp", "address": "+351912345678"}
    updated = events(store, "ticket_updated")[-1]
    assert updated["changes"]["follow_up_channel"] == {"before": None, "after": "whatsapp"}
    assert store.reply(c.reference, "bob", "Hello")["message"]["channel"] == "whatsapp"
    with pytest.raises(domain.TicketError):
        store.set_follow_up(c.reference, "pigeon", "x", "customer", None)


def test_the_survey_answer_is_stored_replaced_and_audited(store):
    c = complaint()
    store.ingest(c)
    with pytest.raises(domain.TicketError, match="resolved or closed"):
        store.record_survey(c.reference, 4)
    store.change(c.reference, {"status": "resolved"}, "agent", "bob")
    first = store.record_survey(c.reference, 2, "slow")
    assert first["survey"]["rating"] == 2 and first["survey"]["comment"] == "slow"
    second = store.record_survey(c.reference, "5", "they called back, all good")
    assert second["survey"]["rating"] == 5
    trail = [a for a in store.get(c.reference)["audit"] if a["action"] == "survey_answered"]
    assert [a["changes"]["survey"]["after"]["rating"] for a in trail] == [2, 5]
    assert trail[1]["changes"]["survey"]["before"]["rating"] == 2
    answered = events(store, "ticket_survey_answered")
    assert [e["survey"]["rating"] for e in answered] == [2, 5] and answered[0]["survey"]["source"] == "link"
    view = store.public_view(c.reference)
    assert view["survey"]["rating"] == 5 and view["can_rate"] is True


def test_a_rating_reply_on_a_resolved_ticket_answers_the_survey_instead_of_reopening(store):
    c = resolved_ticket(store)
    answer = complaint(subject=f"Re: [{c.reference}] Resolved", body="4 - quick and kind\n\n> How did we do?",
                       threading={"in_reply_to": c.threading.message_id})
    assert store.ingest(answer).outcome == "appended"
    ticket = store.get(c.reference)
    assert ticket["status"] == "resolved"
    assert ticket["survey"]["rating"] == 4 and ticket["survey"]["comment"] == "quick and kind"
    assert events(store, "ticket_survey_answered")[0]["survey"]["source"] == "reply"
    # A real follow-up still reopens it.
    more = complaint(subject="Re: Resolved", body="Actually I was charged again today.",
                     threading={"in_reply_to": c.threading.message_id})
    store.ingest(more)
    assert store.get(c.reference)["status"] == "new"


def test_a_rating_reply_on_a_closed_ticket_lands_on_it_without_a_new_ticket(store):
    c = resolved_ticket(store)
    store.change(c.reference, {"status": "closed"}, "agent", "bob")
    answer = complaint(body="5", threading={"in_reply_to": c.threading.message_id})
    assert store.ingest(answer).reference == c.reference
    assert store.get(c.reference)["survey"]["rating"] == 5
    assert store.search()["total"] == 1


def test_the_public_view_shows_replies_survey_and_follow_up_but_no_internal_ids(store):
    c = complaint()
    store.ingest(c)
    view = store.public_view(c.reference)
    assert view["survey"] is None and view["can_rate"] is False and view["follow_up"] is None
    store.reply(c.reference, "bob", "We are on it.")
    view = store.public_view(c.reference)
    assert view["messages"][1]["author"] == "bob" and "author" not in view["messages"][0]
    for m in view["messages"]:
        assert not {"id", "external_id", "message_id", "extras"} & set(m)


# --- the running service: HTTP for agents, RPC for the console and intakes ------


def test_replies_and_survey_over_http_and_rpc(tmp_path, rabbit, services):
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.common.messaging.publisher import ComplaintPublisher
    from testkit.waiting import wait_for

    tickets = services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'replies.db'}")
    c = complaint()
    ComplaintPublisher(rabbit.amqp_uri).publish(c)
    url = f"{tickets.url}/tickets/{c.reference}"
    wait_for(lambda: api.get(url, timeout=5).status_code == 200, message="the ticket")

    resp = api.post(f"{url}/replies", json={"body": "Refunded.", "status": "resolved"},
                         agent="bob", timeout=5)
    assert resp.status_code == 201, resp.text
    assert resp.json()["ticket"]["status"] == "resolved" and resp.json()["message"]["author"] == "bob"
    assert requests.post(f"{url}/replies", json={"body": "x"}, headers={"X-Agent": "bob"},
                         timeout=5).status_code == 401  # no credential, whatever a header claims

    assert api.post(f"{url}/survey", json={"rating": 9}, timeout=5).status_code == 422
    resp = api.post(f"{url}/survey", json={"rating": 4, "comment": "fine"}, timeout=5)
    assert resp.status_code == 200 and resp.json()["survey"]["rating"] == 4

    with ServiceRpcProxy("tickets", {"AMQP_URI": rabbit.amqp_uri}, context_data=api.rpc_context(), timeout=10) as proxy:
        proxy.record_survey(c.reference, 5, "better on second thought")
        proxy.set_follow_up(c.reference, "sms", "+351912345678")
        view = proxy.get_public_view(c.reference)
    assert view["survey"]["rating"] == 5 and view["can_rate"] is True
    assert view["follow_up"] == {"channel": "sms", "address": "+351912345678"}
    assert [m.get("author") for m in view["messages"]] == [None, "bob"]
