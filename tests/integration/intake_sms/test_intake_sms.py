"""The SMS intake as Twilio sees it: signed webhooks over real HTTP to the
service process (`python -m services.intake_sms`), a real RabbitMQ behind it,
its tables on SQLite and on PostgreSQL. What it publishes is read from the
complaints queue, where the tickets service would take it."""

from __future__ import annotations

import json
import sqlite3

from testkit import api
from testkit.ports import free_port
from testkit.twilio_intakes import metric, queued
from testkit.twilio_requests import AUTH_TOKEN, Twilio, sid, twiml
from testkit.waiting import wait_for

PUBLIC = "https://example.com/sms"
OUR_NUMBER = "+15005550006"
ANA = "+351912345678"       # Portugal
CAROL = "+447700900123"     # the United Kingdom
FREEPHONE = "+80012345678"  # a number of no country


def start_sms(services, tmp_path, **env):
    """The SMS intake on its own SQLite file unless told otherwise -> (process, Twilio calling it)."""
    env.setdefault("INTAKE_SMS_DATABASE_URL", f"sqlite:///{tmp_path / 'intake_sms.db'}")
    env.setdefault("INTAKE_SMS_WORKERS", 2)
    proc = services.start("intake_sms", TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_SMS_URL=PUBLIC, **env)
    return proc, Twilio(proc.url, PUBLIC)


def sms(number: str, body: str, **extra) -> dict:
    """The fields Twilio posts for an inbound SMS."""
    message_sid = extra.pop("MessageSid", None) or sid("SM")
    fields = {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": message_sid, "NumMedia": "0", "ToCity": "",
              "FromZip": "", "SmsSid": message_sid, "FromState": "", "SmsStatus": "received", "FromCity": "LISBOA",
              "Body": body, "FromCountry": "PT", "To": OUR_NUMBER, "ToZip": "", "NumSegments": "1",
              "MessageSid": message_sid, "AccountSid": "AC" + "0" * 32, "From": number, "ApiVersion": "2010-04-01"}
    fields.update(extra)
    return fields


def answered_with_nothing(resp) -> bool:
    """200 with empty TwiML: Twilio sends nothing back (the notifier acknowledges)."""
    return list(twiml(resp)) == []


def complaints(rabbit, count: int):
    return wait_for(lambda: (found := queued(rabbit)) and len(found) >= count and found, timeout=10,
                    message=f"{count} complaint(s) on the queue")


def age_conversation(tmp_path, number, seconds):
    """Move a number's last message into the past, as if the customer had gone quiet."""
    with sqlite3.connect(tmp_path / "intake_sms.db") as db:
        db.execute("UPDATE sms_conversations SET last_message_at = last_message_at - ? WHERE number = ?",
                   (seconds, number))


# --- taken -------------------------------------------------------------------------------


def test_a_signed_sms_becomes_a_complaint_on_the_sms_channel_from_portugal(tmp_path, database_url, services, rabbit):
    proc, twilio = start_sms(services, tmp_path, INTAKE_SMS_DATABASE_URL=database_url)
    fields = sms(ANA, "  My internet is down since Monday. Photo attached.  ", NumMedia="1",
                 MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                 MediaContentType0="image/jpeg")

    resp = twilio.post("/messages", fields)

    assert answered_with_nothing(resp)
    [complaint] = complaints(rabbit, 1)
    assert complaint.channel == "sms"
    assert complaint.external_id == fields["MessageSid"]
    assert complaint.customer.phone == ANA
    assert complaint.body == "My internet is down since Monday. Photo attached."
    assert (complaint.region, complaint.region_source) == ("pt", "SMS number +351 (PT)")
    assert complaint.threading.ticket_reference is None
    [photo] = complaint.attachments
    assert (photo.url, photo.content_type, photo.filename) == (fields["MediaUrl0"], "image/jpeg", "ME1.jpg")
    assert complaint.extras == {"message_sid": fields["MessageSid"], "to": OUR_NUMBER, "from_city": "LISBOA",
                                "from_country": "PT"}
    assert metric(proc.url, "complaints_intake_received_total", channel="sms") == 1


def test_a_sender_whose_number_says_no_country_gets_our_numbers_region(tmp_path, services, rabbit):
    proc, twilio = start_sms(services, tmp_path, SMS_NUMBER_REGION="Iberia")

    assert answered_with_nothing(twilio.post("/messages", sms(FREEPHONE, "Calling from a freephone line.")))

    [complaint] = complaints(rabbit, 1)
    assert (complaint.region, complaint.region_source) == ("iberia", f"Twilio number {OUR_NUMBER}")


def test_the_same_message_sid_twice_is_one_complaint(tmp_path, database_url, services, rabbit):
    proc, twilio = start_sms(services, tmp_path, INTAKE_SMS_DATABASE_URL=database_url)
    fields = sms(CAROL, "Charged twice for one month.")

    answers = [twilio.post("/messages", fields) for _ in range(2)]

    assert all(answered_with_nothing(a) for a in answers)
    [complaint] = complaints(rabbit, 1)
    assert complaint.external_id == fields["MessageSid"]
    assert queued(rabbit) == [complaint]  # still one, after the redelivery was answered
    assert metric(proc.url, "complaints_intake_duplicates_total", channel="sms") == 1
    assert metric(proc.url, "complaints_intake_received_total", channel="sms") == 1


def test_a_second_sms_within_the_window_threads_to_the_first_and_a_later_one_does_not(
        tmp_path, services, rabbit):
    proc, twilio = start_sms(services, tmp_path, SMS_CONVERSATION_WINDOW_SECONDS=3600)

    twilio.post("/messages", sms(CAROL, "My bill is wrong."))
    twilio.post("/messages", sms(CAROL, "It says 90 EUR."))
    twilio.post("/messages", sms(ANA, "Unrelated problem."))
    first, second, other = complaints(rabbit, 3)

    assert first.threading.ticket_reference is None
    assert second.threading.ticket_reference == first.reference
    assert other.threading.ticket_reference is None and other.reference != first.reference

    age_conversation(tmp_path, CAROL, 3601)
    twilio.post("/messages", sms(CAROL, "A new problem, days later."))
    later = complaints(rabbit, 4)[3]
    assert later.body == "A new problem, days later."
    assert later.threading.ticket_reference is None


# --- refused and failed ------------------------------------------------------------------


def test_a_bad_signature_is_refused_403_and_nothing_is_published(tmp_path, services, rabbit):
    proc, twilio = start_sms(services, tmp_path)
    fields = sms(ANA, "Forged.")

    wrong = twilio.post("/messages", fields, signature=Twilio(proc.url, PUBLIC, token="another-token")
                        .signature("/messages", fields))
    unsigned = twilio.post("/messages", fields, signature=None)

    assert (wrong.status_code, unsigned.status_code) == (403, 403)
    assert queued(rabbit) == []
    assert metric(proc.url, "complaints_intake_rejected_total", channel="sms", reason="bad_signature") == 2
    assert metric(proc.url, "complaints_intake_received_total", channel="sms") == 0


def test_a_message_missing_its_fields_is_refused_400_naming_them_and_kept(tmp_path, services, rabbit):
    proc, twilio = start_sms(services, tmp_path)
    fields = {"Body": "no sender", "NumMedia": "1", "To": ""}

    resp = twilio.post("/messages", fields)

    assert resp.status_code == 400
    for name in ("MessageSid", "From", "To", "MediaUrl0"):
        assert name in resp.text
    assert queued(rabbit) == []
    assert metric(proc.url, "complaints_intake_rejected_total", channel="sms", reason="invalid") == 1
    with sqlite3.connect(tmp_path / "intake_sms.db") as db:
        [(reason, raw)] = db.execute("SELECT reason, raw FROM sms_quarantine")
    assert "From" in reason and json.loads(raw) == fields


def test_an_oversized_request_is_refused_413(tmp_path, services, rabbit):
    proc, twilio = start_sms(services, tmp_path, MAX_BODY_BYTES=4096)

    resp = twilio.post("/messages", sms(ANA, "x" * 8000))

    assert resp.status_code == 413
    assert queued(rabbit) == []


def test_without_the_broker_twilio_gets_503_and_its_retry_is_published(tmp_path, services, rabbit):
    down, twilio_down = start_sms(services, tmp_path, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    fields = sms(CAROL, "The broker is down, but my complaint is not lost.")

    refused = twilio_down.post("/messages", fields)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert metric(down.url, "complaints_intake_rejected_total", channel="sms", reason="broker_unavailable") == 1
    assert api.get(f"{down.url}/health/ready", timeout=10).status_code == 503
    down.stop()
    assert queued(rabbit) == []

    up, twilio_up = start_sms(services, tmp_path)  # Twilio retries the same MessageSid
    assert answered_with_nothing(twilio_up.post("/messages", fields))
    [complaint] = complaints(rabbit, 1)
    assert complaint.external_id == fields["MessageSid"]


def test_status_callbacks_are_kept_and_counted(tmp_path, services):
    proc, twilio = start_sms(services, tmp_path)
    message_sid = sid("SM")
    for state in ("queued", "sent", "delivered"):
        assert twilio.post("/status", {"MessageSid": message_sid, "MessageStatus": state, "To": ANA}).status_code == 204
    assert twilio.post("/status", {"MessageSid": sid("SM"), "MessageStatus": "undelivered",
                                   "ErrorCode": "30003"}).status_code == 204
    assert twilio.post("/status", {"MessageStatus": "sent"}).status_code == 400

    assert metric(proc.url, "complaints_sms_status_callbacks_total", status="delivered") == 1
    assert metric(proc.url, "complaints_sms_status_callbacks_total", status="undelivered") == 1
    with sqlite3.connect(tmp_path / "intake_sms.db") as db:
        assert db.execute("SELECT status FROM sms_statuses WHERE message_sid = ?", (message_sid,)).fetchone() == \
            ("delivered",)


def test_the_probes_answer_without_a_signature(tmp_path, services):
    proc, _ = start_sms(services, tmp_path)
    assert api.get(f"{proc.url}/health/live", timeout=5).json() == {"status": "ok"}
    assert api.get(f"{proc.url}/health/ready", timeout=5).json()["checks"] == {"rabbitmq": "ok",
                                                                                    "database": "ok"}
