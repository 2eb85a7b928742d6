"""The notifier's part of privacy as it runs (its own process, a real broker, SMTP):
asked to erase a person, it erases the stored copies of what it sent them and its copy
of their ticket, cancels what it has not sent, reports, and sends them nothing more;
its export lists what it sent them; the retention rule erases old message bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.events import event_dispatcher
from sqlalchemy import update

from services.common.contract.events import (
    CustomerView,
    Identity,
    MessageSnapshot,
    TicketCreated,
    TicketSnapshot,
    TicketUpdated,
)
from services.common.contract.vocabulary import ActorType, Priority, Status
from services.common.privacy.pseudonym import pseudonym
from services.common.privacy.retention import Retention
from services.common.storage.db import make_engine
from services.common.time.clock import iso, now
from services.notifier.migrate import upgrade
from services.notifier.privacy import NotifierPrivacy
from services.notifier.schema import notifications
from testkit import api
from testkit.privacy_events import ask_erasure, export_part, report_of
from testkit.privacy_scan import Person, in_database
from testkit.smtp_server import smtp_env
from testkit.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")
REFERENCE = "C-2VVFXBBXSS"
FAST = {"NOTIFIER_SEND_INTERVAL_SECONDS": "0.2", "NOTIFIER_SCHEDULE_SECONDS": "0.5", "RPC_TIMEOUT_SECONDS": "5",
        "NOTIFIER_CATCHUP_SECONDS": "3600"}


def ticket(status=Status.NEW, version=1, erased=False) -> TicketSnapshot:
    identities = ((Identity("email", pseudonym(BEA.email)),) if erased else
                  (Identity("email", BEA.email), Identity("phone", BEA.phone)))
    return TicketSnapshot(reference=REFERENCE, status=status, priority=Priority.MEDIUM, channel="email",
                          version=version, customer=CustomerView(None if erased else BEA.name, False, identities),
                          created_at=iso(now()), updated_at=iso(now()), subject="[erased]" if erased else
                          f"Complaint of {BEA.name}", category="billing")


def dispatch(rabbit, event) -> None:
    payload = {"event_id": str(uuid.uuid4()), "event_type": event.event_type, "occurred_at": iso(now()),
               **event.to_payload()}
    event_dispatcher({"AMQP_URI": rabbit.amqp_uri})("tickets", event.event_type, payload)


def test_an_erased_person_leaves_no_trace_in_the_notifier_and_hears_nothing_more(services, rabbit, tmp_path, smtp):
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    notifier = services.start("notifier", DATABASE_URL=url, **smtp_env(smtp.port), **FAST)
    wait_for(lambda: rabbit.queue("evt-tickets-ticket_created--notifier.on_ticket_created"), message="the queue")
    dispatch(rabbit, TicketCreated(ticket(), str(uuid.uuid4()), iso(now()),
                                   MessageSnapshot(1, "in", "email", iso(now()), "Charged twice.")))
    ack = wait_for(lambda: smtp.to(BEA.email), timeout=20, message="the acknowledgement")[0]
    assert REFERENCE in ack["Subject"]
    engine = make_engine(url)
    assert set(in_database(BEA, engine)) == {"notifications", "notifier_tickets"}

    part = export_part(notifier.url, email=BEA.email)
    assert [n["recipient"] for n in part["tables"]["notifications"]] == [BEA.email]
    assert part["tables"]["notifier_tickets"][0]["reference"] == REFERENCE

    request_id = ask_erasure(rabbit, "notifier", references=[REFERENCE], email=BEA.email, phone=BEA.phone,
                             name=BEA.name)
    report = report_of(rabbit, request_id, "notifier")
    assert report[("notifications", "erased")] == 1 and report[("notifier_tickets", "pseudonymised")] == 1
    assert in_database(BEA, engine) == {}

    # What the tickets service announces of the erased ticket later reaches nobody.
    dispatch(rabbit, TicketUpdated(ticket(Status.RESOLVED, version=3, erased=True),
                                   {"status": {"before": "new", "after": "resolved"}}, ActorType.AGENT, "bruno"))
    wait_for(lambda: 'complaints_notifications_events_total{event_type="ticket_updated"} 1.0'
             in api_metrics(notifier), message="the update handled")
    assert len(smtp.to(BEA.email)) == 1 and in_database(BEA, engine) == {}
    engine.dispose()


def api_metrics(service) -> str:
    return api.get(f"{service.url}/metrics", timeout=5).text


def test_retention_erases_old_message_bodies_and_pseudonymises_their_recipients(tmp_path):
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    upgrade(url)
    engine = make_engine(url)
    old, fresh = now() - timedelta(days=100), now()
    with engine.begin() as conn:
        for key, at in (("old", old), ("fresh", fresh)):
            conn.execute(notifications.insert().values(
                key=f"ack:{REFERENCE}:{key}:email:{BEA.email}", purpose="acknowledgement", channel="email",
                recipient=BEA.email, reference=REFERENCE, subject="Hello", body=f"Dear {BEA.name}", headers={},
                payload={}, urgent=False, status="sent", attempts=1, due_at=at, created_at=at, updated_at=at))
    done = NotifierPrivacy(engine).retain(datetime.now(UTC), Retention())
    assert done[("notifications", "erased")] == 1
    with engine.connect() as conn:
        rows = {r.key.split(":")[2]: r for r in conn.execute(notifications.select())}
    assert rows["old"].body == "[erased]" and rows["old"].recipient == pseudonym(BEA.email)
    assert BEA.email not in rows["old"].key and rows["fresh"].body == f"Dear {BEA.name}"
    with engine.begin() as conn:
        conn.execute(update(notifications).values(updated_at=old))
    assert NotifierPrivacy(engine).retain(datetime.now(UTC), Retention())[("notifications", "erased")] == 1
    engine.dispose()
