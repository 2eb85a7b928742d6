"""The tickets service's part of privacy on SQLite and PostgreSQL (its store, migrated):
a person's erasure request erases them from every table and announces it, the
services' answers complete it, a legal hold keeps a ticket, the export finds every
ticket of theirs, and the retention rule pseudonymises tickets closed long ago.
A scan of every row (testkit/privacy_scan.py) is the judge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from services.common.contract.events import ErasureEntry, SubjectErasureCompleted, SubjectErasureRequested
from services.common.privacy.retention import Retention
from services.common.privacy.subject import Subject
from services.tickets import privacy, privacy_requests
from services.tickets.schema import outbox, privacy_erasures, tickets
from testkit.complaints import web_complaint as complaint
from testkit.privacy_scan import Person, in_database

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")
SERVICES = ("tickets", "notifier", "intake_sms")


def bea_on_web(**overrides):
    return complaint(customer={"name": BEA.name, "email": BEA.email}, subject="Charged twice, Beatriz here",
                     body=f"I am {BEA.name}; call me on +351 913 572 468.", **overrides)


def bea_by_sms():
    return complaint(channel="sms", customer={"phone": BEA.phone}, subject="", body="Internet down since Monday.")


def someone_else():
    return complaint(customer={"name": "Carla Dias", "email": "carla@example.org"}, body="My parcel is late.")


def publish_all(store):
    store.relay_outbox(lambda event_type, payload: None)


def erase(store, **who):
    subject = Subject.given(**who)
    return privacy_requests.request(store.engine, subject, (), "operator:dpo", SERVICES)


def requests_in_outbox(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [r.payload for r in conn.execute(select(outbox).where(
            outbox.c.event_type == SubjectErasureRequested.event_type).order_by(outbox.c.id))]


def test_an_erasure_by_email_reaches_every_ticket_and_table_of_the_person(store):
    web, sms, other = bea_on_web(), bea_by_sms(), someone_else()
    for c in (web, other):
        store.ingest(c)
    # Her SMS ticket carries her phone only; her email ticket says the number in its text
    # and she chose SMS for follow-ups there: the phone is hers, and goes too.
    store.set_follow_up(web.reference, "sms", BEA.phone, "customer", None)
    store.ingest(sms)
    store.add_note(web.reference, "bruno", f"Called {BEA.name} at {BEA.email}")
    store.change(web.reference, {"status": "in_progress"}, "agent", "bruno")
    store.reply(web.reference, "bruno", f"Dear {BEA.name}, refunded.", "resolved")
    store.record_survey(web.reference, 2, "slow, ask Beatriz", "link", None)
    store.quarantine("invalid ComplaintReceived: body: required", f'{{"customer": {{"email": "{BEA.email}"}}}}')
    publish_all(store)
    assert set(in_database(BEA, store.engine)) >= {"tickets", "ticket_identities", "messages", "notes", "audit",
                                                   "outbox", "quarantine"}

    status = erase(store, email=BEA.email.upper())

    assert status["status"] == "pending" and status["tickets"] == 2
    assert status["services"]["tickets"]["status"] == "done"
    assert {s for s, v in status["services"].items() if v["status"] == "pending"} == {"notifier", "intake_sms"}
    [announced] = requests_in_outbox(store)
    # What the other services must erase: everything her tickets knew of her.
    assert announced["identifiers"] == {"emails": [BEA.email], "phones": [BEA.phone], "names": [BEA.name]}
    assert set(announced["references"]) == {web.reference, sms.reference}
    assert in_database(BEA, store.engine) == {"privacy_erasures": ["email", "phone", "name"],
                                              "outbox": ["email", "phone", "name"]}  # the request itself
    kept = store.get(web.reference)
    assert (kept["status"], kept["category"], kept["channel"], kept["survey"]["rating"]) == \
        ("resolved", "billing", "web", 2)
    assert kept["customer"]["email"].startswith("erased-") and kept["customer"]["name"] is None
    assert [m["body"] for m in kept["messages"]] == ["[erased]", "[erased]"]
    assert store.get(other.reference)["customer"]["email"] == "carla@example.org"  # nobody else's
    assert store.get(other.reference)["messages"][0]["body"] == "My parcel is late."
    # Both tickets still group under one pseudonym per address.
    assert store.get(sms.reference)["customer"]["phone"] == kept["follow_up"]["address"]


def test_the_request_completes_when_every_service_answered_and_keeps_no_identifier(store):
    store.ingest(bea_on_web())
    publish_all(store)
    request_id = erase(store, email=BEA.email)["request_id"]
    publish_all(store)
    for service in ("notifier", "intake_sms", "notifier"):  # an answer may come twice
        outcome = privacy_requests.record_report(store.engine, SubjectErasureCompleted(
            request_id, service, (ErasureEntry("notifications", "erased", 2),), "2026-12-10T10:00:00.000+00:00"))
    assert outcome == "again"
    status = privacy_requests.status(store.engine, request_id)
    assert status["status"] == "completed" and status["services"]["notifier"]["report"] == \
        [{"table": "notifications", "action": "erased", "rows": 2, "reason": None}]
    assert requests_in_outbox(store) == [] and in_database(BEA, store.engine) == {}
    unknown = SubjectErasureCompleted("no-such-request", "notifier", (), "2026-12-10T10:00:00.000+00:00")
    assert privacy_requests.record_report(store.engine, unknown) == "unknown"


def test_an_unanswered_request_is_announced_again(store):
    store.ingest(bea_on_web())
    request_id = erase(store, phone="+351 913 572 468", email=BEA.email)["request_id"]
    assert privacy_requests.reannounce(store.engine, 3600) == 0
    with store.engine.begin() as conn:
        conn.execute(update(privacy_erasures).values(announced_at=datetime.now(UTC) - timedelta(hours=2)))
    assert privacy_requests.reannounce(store.engine, 3600) == 1
    first, again = requests_in_outbox(store)
    assert again["request_id"] == first["request_id"] == request_id and again["event_id"] != first["event_id"]
    assert privacy_requests.status(store.engine, request_id)["announcements"] == 2


def test_a_ticket_on_legal_hold_is_kept_and_reported_so(store):
    held, erased = bea_on_web(), bea_on_web()
    store.ingest(held)
    store.ingest(erased)
    privacy.set_legal_hold(store.engine, held.reference, True, "court case 12/2026", "operator:dpo")
    status = erase(store, email=BEA.email)
    assert status["tickets"] == 1 and status["held_references"] == 1
    assert {"table": "tickets", "action": "kept", "rows": 1, "reason": "legal hold: court case 12/2026"} in \
        status["services"]["tickets"]["report"]
    assert store.get(held.reference)["customer"]["email"] == BEA.email
    assert store.get(erased.reference)["customer"]["email"].startswith("erased-")
    [announced] = requests_in_outbox(store)
    assert announced["held_references"] == [held.reference] and announced["references"] == [erased.reference]
    assert store.get(held.reference)["audit"][-1]["action"] == "legal_hold_set"


def test_the_export_holds_every_ticket_of_the_person_whole(store):
    web, sms, other = bea_on_web(), bea_by_sms(), someone_else()
    for c in (web, sms, other):
        store.ingest(c)
    part = privacy.TicketsPrivacy(store.engine).export(Subject.given(email=BEA.email, phone=BEA.phone), ())
    assert set(part["references"]) == {web.reference, sms.reference}
    bodies = {t["reference"]: t["messages"][0]["body"] for t in part["tables"]["tickets"]}
    assert bodies[sms.reference] == "Internet down since Monday." and BEA.name in bodies[web.reference]
    assert all(t["legal_hold"] is False for t in part["tables"]["tickets"])


def test_retention_pseudonymises_tickets_closed_long_ago_and_drops_old_raw_input(store):
    old, recent, on_hold = bea_on_web(), bea_on_web(), bea_on_web()
    for c in (old, recent, on_hold):
        store.ingest(c)
        for status in ("in_progress", "resolved", "closed"):
            store.change(c.reference, {"status": status}, "agent", "bruno")
    privacy.set_legal_hold(store.engine, on_hold.reference, True, None, "operator:dpo")
    store.quarantine("invalid", "{}")
    publish_all(store)
    long_ago = datetime.now(UTC) - timedelta(days=800)
    with store.engine.begin() as conn:
        conn.execute(update(tickets).where(tickets.c.reference.in_([old.reference, on_hold.reference]))
                     .values(closed_at=long_ago))
    done = privacy.TicketsPrivacy(store.engine).retain(datetime.now(UTC) + timedelta(days=31), Retention())
    assert done[("tickets", "pseudonymised")] == 1 and done[("quarantine", "deleted")] == 1
    assert store.get(old.reference)["customer"]["email"].startswith("erased-")
    assert store.get(recent.reference)["customer"]["email"] == BEA.email
    assert store.get(on_hold.reference)["customer"]["email"] == BEA.email
    again = privacy.TicketsPrivacy(store.engine).retain(datetime.now(UTC), Retention())
    assert again.get(("tickets", "pseudonymised"), 0) == 0


@pytest.mark.parametrize("hold", ["yes", None])
def test_a_legal_hold_must_say_true_or_false(store, hold):
    c = bea_on_web()
    store.ingest(c)
    with pytest.raises(ValueError, match="true or false"):
        privacy.set_legal_hold(store.engine, c.reference, hold, None, "operator:dpo")
