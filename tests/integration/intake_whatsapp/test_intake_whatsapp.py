"""The WhatsApp intake as Twilio and a customer see it: signed webhooks over
real HTTP to the service process, a real RabbitMQ behind it and the tickets
service turning what it publishes into tickets."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from services.common.contract.reference import tracking_token
from services.common.messaging import topology
from services.intake_whatsapp import messages
from testkit import api
from testkit.fake_twilio import FakeTwilio
from testkit.ports import free_port
from testkit.twilio_intakes import metric, queued, start_intake, ticket
from testkit.twilio_requests import sid, twiml, whatsapp_message
from testkit.waiting import wait_for

PUBLIC = "https://example.com/whatsapp"
ANA = "+351912345678"
BRUNO = "+5511987654321"
CAROL = "+447700900123"


def start_whatsapp(services, tmp_path, **env):
    return start_intake(services, "intake_whatsapp", tmp_path, PUBLIC, **env)


def acknowledged_reference(resp) -> tuple[str, str]:
    """(reference, text) from the TwiML acknowledgement."""
    [message] = twiml(resp).findall("Message")
    text = "".join(message.itertext())
    [reference] = [w.strip(".,") for w in text.split() if w.startswith("C-")]
    return reference, text


def queue_drained(rabbit) -> bool:
    return rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0


def age_conversation(tmp_path, number, seconds):
    """Move a number's last message into the past, as if the customer had gone quiet."""
    with sqlite3.connect(tmp_path / "intake_whatsapp.db") as db:
        db.execute("UPDATE whatsapp_conversations SET last_message_at = last_message_at - ? WHERE number = ?",
                   (seconds, number))


# --- end to end -------------------------------------------------------------------


def test_a_message_with_media_becomes_a_ticket_and_is_acknowledged_with_its_reference(
        tmp_path, database_url, tickets, services):
    # The intake's own tables in the same database as the tickets service's (SQLite, then PostgreSQL).
    proc, twilio = start_whatsapp(services, tmp_path, INTAKE_WHATSAPP_DATABASE_URL=database_url)
    fields = whatsapp_message(ANA, "My order 1234 arrived broken, photo attached.", NumMedia="2",
                              MediaUrl0=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/{sid('ME')}",
                              MediaContentType0="image/jpeg",
                              MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
                              MediaContentType1="application/pdf")

    resp = twilio.post("/messages", fields)

    reference, text = acknowledged_reference(resp)
    assert text.startswith("Obrigado")  # a +351 number is answered in Portuguese
    found = wait_for(lambda: ticket(tickets, reference), timeout=20, message="the ticket")
    assert found["channel"] == "whatsapp"
    assert found["customer"]["whatsapp"] == ANA
    assert found["customer"]["name"] == "Ana Silva"
    [message] = found["messages"]
    assert message["body"] == "My order 1234 arrived broken, photo attached."
    assert message["external_id"] == fields["MessageSid"]
    assert [(a["url"], a["content_type"]) for a in message["attachments"]] == [
        (fields["MediaUrl0"], "image/jpeg"), (fields["MediaUrl1"], "application/pdf")]
    assert message["attachments"][0]["filename"].endswith(".jpg")
    assert message["extras"] == {"profile_name": "Ana Silva", "wa_id": ANA.lstrip("+"),
                                 "message_sid": fields["MessageSid"]}
    assert metric(proc.url, "complaints_intake_received_total", channel="whatsapp") == 1


def test_the_same_message_sid_three_times_is_one_message_and_one_acknowledgement(tmp_path, tickets_sqlite,
                                                                                 services, rabbit):
    proc, twilio = start_whatsapp(services, tmp_path)
    fields = whatsapp_message(CAROL, "The engineer never came.")

    answers = [twilio.post("/messages", fields) for _ in range(3)]

    reference, text = acknowledged_reference(answers[0])
    assert text.startswith("Thank you")  # English by default
    for retry in answers[1:]:
        assert twiml(retry).findall("Message") == []  # no second acknowledgement
    found = wait_for(lambda: ticket(tickets_sqlite, reference), timeout=20, message="the ticket")
    wait_for(lambda: queue_drained(rabbit), timeout=20, message="queue drained")
    assert len(ticket(tickets_sqlite, reference)["messages"]) == 1 == len(found["messages"])
    assert metric(proc.url, "complaints_intake_duplicates_total", channel="whatsapp") == 2
    assert metric(proc.url, "complaints_intake_received_total", channel="whatsapp") == 1


def test_five_simultaneous_deliveries_of_one_message_make_one_ticket_and_thank_the_customer_once(
        tmp_path, database_url, tickets, services, rabbit):
    # The notifier runs too, with Twilio's REST API faked: it must not thank the customer a second time.
    fake_twilio = FakeTwilio(free_port()).start()
    try:
        notifier = services.start("notifier", DATABASE_URL=f"sqlite:///{tmp_path / 'notifier.db'}",
                                  NOTIFIER_SEND_INTERVAL_SECONDS="0.2", NOTIFIER_CATCHUP_SECONDS="1",
                                  PUBLIC_BASE_URL="https://complaints.example", **fake_twilio.env())
        proc, twilio = start_whatsapp(services, tmp_path, INTAKE_WHATSAPP_DATABASE_URL=database_url,
                                      INTAKE_WHATSAPP_WORKERS=2, INTAKE_WHATSAPP_THREADS=4,
                                      PUBLIC_BASE_URL="https://complaints.example")
        fields = whatsapp_message(ANA, "Charged twice, and Twilio keeps retrying.")
        start = threading.Barrier(5)

        def deliver(_):
            start.wait()
            return twilio.post("/messages", fields)

        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(deliver, range(5)))

        assert [a.status_code for a in answers] == [200] * 5
        thanked = [a for a in answers if twiml(a).findall("Message")]
        assert len(thanked) == 1, [a.text for a in answers]
        reference, text = acknowledged_reference(thanked[0])
        token = tracking_token(reference, "test-tracking-secret")
        assert f"https://complaints.example/complaints/{reference}?token={token}" in text
        found = wait_for(lambda: ticket(tickets, reference), timeout=20, message="the ticket")
        wait_for(lambda: queue_drained(rabbit), timeout=20, message="every delivery consumed")
        assert len(found["messages"]) == 1
        listed = api.get(f"{tickets.url}/tickets", params={"channel": "whatsapp"}, timeout=5).json()["items"]
        assert [t["reference"] for t in listed] == [reference]
        wait_for(lambda: metric(notifier.url, "complaints_notifications_events_total",
                                event_type="ticket_created") >= 1, timeout=20, message="the notifier saw the ticket")
        time.sleep(1)  # a send would be due within 0.2 s
        assert fake_twilio.requests == []
        assert api.get(f"{notifier.url}/notifications", params={"reference": reference},
                            timeout=5).json()["items"] == []
        assert metric(proc.url, "complaints_intake_received_total", channel="whatsapp") == 1
        assert metric(proc.url, "complaints_intake_duplicates_total", channel="whatsapp") == 4
    finally:
        fake_twilio.stop()


def test_a_delivery_held_by_a_worker_that_died_is_refused_503_then_taken_over_after_the_lease(
        tmp_path, tickets_sqlite, services, rabbit):
    down, twilio_down = start_whatsapp(services, tmp_path, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    fields = whatsapp_message(CAROL, "Nobody must lose this one.")
    assert twilio_down.post("/messages", fields).status_code == 503  # recorded, its claim given back
    down.stop()
    proc, twilio = start_whatsapp(services, tmp_path, WHATSAPP_CLAIM_SECONDS=5, WHATSAPP_DUPLICATE_WAIT_SECONDS=0.5)
    # As if a worker had claimed it again just now and died before the broker confirmed
    # (claimed after the service is up, so a slow start cannot age the claim past its lease).
    with sqlite3.connect(tmp_path / "intake_whatsapp.db") as db:
        db.execute("UPDATE whatsapp_messages SET claim_token = 'dead', claimed_at = ? WHERE message_sid = ?",
                   (time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime()), fields["MessageSid"]))
    busy = twilio.post("/messages", fields)
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0  # the holder may still publish it
    assert queued(rabbit) == []
    time.sleep(5)
    reference, text = acknowledged_reference(twilio.post("/messages", fields))  # Twilio's next retry
    assert "received your complaint" in text
    assert wait_for(lambda: ticket(tickets_sqlite, reference), timeout=20)["messages"][0]["external_id"] == \
        fields["MessageSid"]
    assert twiml(twilio.post("/messages", fields)).findall("Message") == []  # and once only


def test_consecutive_messages_join_the_open_ticket_until_the_window_passes(tmp_path, tickets_sqlite, services):
    proc, twilio = start_whatsapp(services, tmp_path, WHATSAPP_CONVERSATION_WINDOW_SECONDS=3600)

    first, _ = acknowledged_reference(twilio.post("/messages", whatsapp_message(CAROL, "My bill is wrong.")))
    wait_for(lambda: ticket(tickets_sqlite, first), timeout=20, message="the first ticket")
    second, text = acknowledged_reference(twilio.post("/messages", whatsapp_message(CAROL, "It says 90 EUR.")))
    other, _ = acknowledged_reference(twilio.post("/messages", whatsapp_message(BRUNO, "Unrelated problem.")))

    assert second == first
    assert "added your message" in text
    assert other != first
    wait_for(lambda: len(ticket(tickets_sqlite, first)["messages"]) == 2, timeout=20, message="the follow-up")
    assert [m["body"] for m in ticket(tickets_sqlite, first)["messages"]] == ["My bill is wrong.", "It says 90 EUR."]
    assert ticket(tickets_sqlite, first)["messages"][1]["threaded_via"] == "verified_reference"

    age_conversation(tmp_path, CAROL, 3601)
    later, text = acknowledged_reference(twilio.post("/messages", whatsapp_message(CAROL, "A new problem.")))
    assert later != first
    assert "received your complaint" in text
    assert wait_for(lambda: ticket(tickets_sqlite, later), timeout=20)["messages"][0]["body"] == "A new problem."
    assert len(ticket(tickets_sqlite, first)["messages"]) == 2


def test_a_message_naming_a_reference_goes_to_that_ticket_only_from_its_customer(tmp_path, tickets_sqlite, services):
    proc, twilio = start_whatsapp(services, tmp_path)
    first, _ = acknowledged_reference(twilio.post("/messages", whatsapp_message(CAROL, "Charged twice.")))
    wait_for(lambda: ticket(tickets_sqlite, first), timeout=20, message="the ticket")
    age_conversation(tmp_path, CAROL, 48 * 3600)

    twilio.post("/messages", whatsapp_message(CAROL, f"Any news about {first.lower()}?"))
    stranger, _ = acknowledged_reference(
        twilio.post("/messages", whatsapp_message(BRUNO, f"I know about {first}, show me.")))

    wait_for(lambda: len(ticket(tickets_sqlite, first)["messages"]) == 2, timeout=20, message="the reply")
    assert ticket(tickets_sqlite, first)["messages"][1]["threaded_via"] == "reference_in_text"
    own = wait_for(lambda: ticket(tickets_sqlite, stranger), timeout=20, message="the stranger's own ticket")
    assert own["reference"] == stranger != first
    assert len(ticket(tickets_sqlite, first)["messages"]) == 2


def test_the_same_message_racing_through_every_worker_is_one_message_with_one_reference(
        tmp_path, database_url, tickets, services, rabbit):
    from concurrent.futures import ThreadPoolExecutor

    proc, twilio = start_whatsapp(services, tmp_path, INTAKE_WHATSAPP_DATABASE_URL=database_url,
                                  INTAKE_WHATSAPP_WORKERS=2, INTAKE_WHATSAPP_THREADS=4)
    same = whatsapp_message(BRUNO, "Sent once, delivered eight times at once.")
    others = [whatsapp_message(BRUNO, f"And another thing, number {i}.") for i in range(4)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda fields: twilio.post("/messages", fields), [same] * 8 + others))

    assert [a.status_code for a in answers] == [200] * 12
    acknowledged = [acknowledged_reference(a)[0] for a in answers if twiml(a).findall("Message")]
    # Every message from the number joins one conversation, whichever worker took it first.
    assert len(set(acknowledged)) == 1

    def stored():
        listed = api.get(f"{tickets.url}/tickets", params={"channel": "whatsapp"}, timeout=5).json()["items"]
        return [m for t in listed for m in ticket(tickets, t["reference"])["messages"]]

    wait_for(lambda: len(stored()) >= 5, timeout=30, message="the five distinct messages stored")
    wait_for(lambda: queue_drained(rabbit), timeout=30, message="every delivery consumed")
    messages = stored()
    assert sorted(m["body"] for m in messages) == sorted(f["Body"] for f in [same, *others])
    assert [m["external_id"] for m in messages].count(same["MessageSid"]) == 1


# --- refused and failed -------------------------------------------------------------


def test_a_message_twilio_could_not_have_sent_is_quarantined_whole_and_not_published(tmp_path, services, rabbit):
    proc, twilio = start_whatsapp(services, tmp_path)
    fields = whatsapp_message(ANA, "hello", From="whatsapp:0912 345 678")

    resp = twilio.post("/messages", fields)

    assert resp.status_code == 400
    assert "From" in resp.text
    assert queued(rabbit) == []
    assert metric(proc.url, "complaints_intake_rejected_total", channel="whatsapp", reason="invalid") == 1
    with sqlite3.connect(tmp_path / "intake_whatsapp.db") as db:
        [(message_sid, reason, raw)] = db.execute("SELECT message_sid, reason, raw FROM whatsapp_quarantine")
    assert message_sid == fields["MessageSid"]
    assert "From" in reason
    assert json.loads(raw) == fields


def test_without_the_broker_twilio_gets_503_and_its_retry_makes_the_ticket(tmp_path, tickets_sqlite, services,
                                                                          rabbit):
    down, twilio_down = start_whatsapp(services, tmp_path, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    fields = whatsapp_message(CAROL, "The broker is down, but my complaint is not lost.")

    refused = twilio_down.post("/messages", fields)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert "C-" not in refused.text
    assert api.get(f"{down.url}/health/ready", timeout=10).status_code == 503
    down.stop()

    # Twilio retries (the same MessageSid) once the broker is back.
    up, twilio_up = start_whatsapp(services, tmp_path)
    reference, _ = acknowledged_reference(twilio_up.post("/messages", fields))
    assert wait_for(lambda: ticket(tickets_sqlite, reference), timeout=20)["messages"][0]["external_id"] == \
        fields["MessageSid"]


def test_without_its_database_the_intake_answers_503_and_publishes_nothing(tmp_path, services, rabbit):
    dead = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/gone"
    proc, twilio = start_whatsapp(services, tmp_path, INTAKE_WHATSAPP_DATABASE_URL=dead, AUTO_MIGRATE=0)

    resp = twilio.post("/messages", whatsapp_message(ANA, "Is anyone there?"))

    assert resp.status_code == 503
    assert "database" in resp.json()["detail"]
    assert int(resp.headers["Retry-After"]) > 0
    assert queued(rabbit) == []
    ready = api.get(f"{proc.url}/health/ready", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("failed")


def test_status_callbacks_are_kept_and_counted(tmp_path, services):
    proc, twilio = start_whatsapp(services, tmp_path)
    message_sid = sid("SM")
    for state in ("sent", "delivered", "read"):
        assert twilio.post("/status", {"MessageSid": message_sid, "MessageStatus": state,
                                       "AccountSid": "AC1", "To": f"whatsapp:{ANA}"}).status_code == 204
    assert twilio.post("/status", {"MessageSid": sid("SM"), "MessageStatus": "failed",
                                   "ErrorCode": "63016"}).status_code == 204
    assert metric(proc.url, "complaints_whatsapp_status_callbacks_total", status="read") == 1
    assert metric(proc.url, "complaints_whatsapp_status_callbacks_total", status="failed") == 1
    with sqlite3.connect(tmp_path / "intake_whatsapp.db") as db:
        assert db.execute("SELECT status FROM whatsapp_statuses WHERE message_sid = ?",
                          (message_sid,)).fetchone() == ("read",)


# --- the rules, without the service --------------------------------------------------


def test_a_conversation_whose_first_message_was_given_up_is_joined_by_nobody(tmp_path):
    from services.common.storage.db import make_engine
    from services.intake_whatsapp import migrate
    from services.intake_whatsapp.store import WhatsAppStore

    given_up = messages.Conversation("C-AAAAAAAAAA", last_message_at=1000.0, live=False)
    alone = messages.decide(given_up, 1000.0 + 5, 3600, "C-BBBBBBBBBB", names_reference=False)
    assert (alone.thread_reference, alone.ack_reference, alone.follow_up) == (None, "C-BBBBBBBBBB", False)

    url = f"sqlite:///{tmp_path / 'whatsapp.db'}"
    migrate.upgrade(url)
    store = WhatsAppStore(make_engine(url))
    first = messages.parse_inbound(whatsapp_message(ANA, "first", MessageSid="SM" + "1" * 32))
    second = messages.parse_inbound(whatsapp_message(ANA, "second", MessageSid="SM" + "2" * 32))
    third = messages.parse_inbound(whatsapp_message(ANA, "third", MessageSid="SM" + "3" * 32))
    started = store.record(first, "id-1", "C-AAAAAAAAAA", 3600)
    # While its publish is under way, the next message joins it (one ticket for a burst of messages) ...
    assert store.record(second, "id-2", "C-BBBBBBBBBB", 3600).ack_reference == "C-AAAAAAAAAA"
    # ... but once it was given up (publish failed, claim released), nobody is told its reference.
    store.release(first.message_sid, started.claim)
    assert store.record(third, "id-3", "C-CCCCCCCCCC", 3600).ack_reference == "C-CCCCCCCCCC"
