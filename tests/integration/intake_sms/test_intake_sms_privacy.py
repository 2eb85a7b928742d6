"""The SMS intake's part of privacy as it runs under gunicorn (every worker consumes the
erasure queue): its export lists what it holds of a number, an erasure leaves the
number nowhere in its tables and is reported, and the retention timer pseudonymises
numbers of old messages on its own (here after a second)."""

from __future__ import annotations

from services.common.privacy.pseudonym import is_pseudonym
from services.common.storage.db import make_engine
from testkit.privacy_events import ask_erasure, export_part, report_of
from testkit.privacy_scan import Person, in_database
from testkit.twilio_intakes import metric
from testkit.twilio_requests import AUTH_TOKEN, Twilio, sid, twiml
from testkit.waiting import wait_for

PUBLIC = "https://example.com/sms"
BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")
CARLA = "+447700900123"


def start_sms(services, tmp_path, **env):
    url = f"sqlite:///{tmp_path / 'intake_sms.db'}"
    proc = services.start("intake_sms", TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_SMS_URL=PUBLIC, INTAKE_SMS_WORKERS=2,
                          INTAKE_SMS_DATABASE_URL=url, **env)
    return proc, Twilio(proc.url, PUBLIC), url


def sms(number: str, body: str, **extra) -> dict:
    message_sid = sid("SM")
    return {"MessageSid": message_sid, "SmsMessageSid": message_sid, "AccountSid": "AC" + "0" * 32, "From": number,
            "To": "+15005550006", "Body": body, "NumMedia": "0", "FromCountry": "PT", **extra}


def test_an_erased_number_is_in_no_table_of_the_sms_intake(services, rabbit, tmp_path):
    intake, twilio, url = start_sms(services, tmp_path)
    assert list(twiml(twilio.post("/messages", sms(BEA.phone, f"I am {BEA.name}, my internet is down.")))) == []
    assert twilio.post("/messages", sms(BEA.phone, "a broken one", NumMedia="lots")).status_code == 400
    twilio.post("/messages", sms(CARLA, "Mine too."))
    engine = make_engine(url)
    assert set(in_database(BEA, engine)) == {"sms_messages", "sms_conversations", "sms_quarantine"}

    part = export_part(intake.url, phone=BEA.phone)
    assert part["service"] == "intake_sms"
    assert [len(part["tables"][t]) for t in ("sms_messages", "sms_conversations", "sms_quarantine")] == [1, 1, 1]

    request_id = ask_erasure(rabbit, "intake_sms", phone="00351 913 572 468")
    report = report_of(rabbit, request_id, "intake_sms")
    assert report[("sms_messages", "pseudonymised")] == 1 and report[("sms_conversations", "deleted")] == 1
    assert report[("sms_quarantine", "deleted")] == 1
    assert in_database(BEA, engine) == {}
    assert export_part(intake.url, phone=CARLA)["tables"]["sms_messages"][0]["number"] == CARLA  # nobody else's

    again = ask_erasure(rabbit, "intake_sms", phone=BEA.phone)  # a request announced again changes nothing
    assert report_of(rabbit, again, "intake_sms")[("sms_messages", "none")] == 0
    engine.dispose()


def test_the_retention_timer_pseudonymises_numbers_of_old_messages(services, rabbit, tmp_path):
    intake, twilio, url = start_sms(services, tmp_path, RETENTION_LEDGER_DAYS="0.00001", RETENTION_CHECK_SECONDS="1")
    twilio.post("/messages", sms(BEA.phone, "Internet down."))
    engine = make_engine(url)

    def numbers():
        with engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT number FROM sms_messages")]
    wait_for(lambda: numbers() and all(is_pseudonym(n) for n in numbers()), timeout=20,
             message="the number pseudonymised by the retention timer")
    assert in_database(BEA, engine) == {}
    wait_for(lambda: metric(intake.url, "complaints_retention_rows_total", service="intake_sms",
                            table="sms_messages", action="pseudonymised") >= 1, message="the retention counted")
    engine.dispose()
