"""The WhatsApp intake's part of privacy as it runs: an erased person's number (and the
profile name WhatsApp sent in a quarantined webhook) is in none of its tables after
the erasure it reports. (Its tables and their privacy code are every Twilio messaging
intake's: the SMS intake's tests cover export and retention.)"""

from __future__ import annotations

from services.common.storage.db import make_engine
from testkit.privacy_events import ask_erasure, report_of
from testkit.privacy_scan import Person, in_database
from testkit.twilio_intakes import start_intake
from testkit.twilio_requests import whatsapp_message

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")


def test_an_erased_number_is_in_no_table_of_the_whatsapp_intake(services, rabbit, tmp_path):
    _, twilio = start_intake(services, "intake_whatsapp", tmp_path, "https://example.com/whatsapp")
    assert twilio.post("/messages", whatsapp_message(BEA.phone, "My order arrived broken.",
                                                     ProfileName=BEA.name)).status_code == 200
    assert twilio.post("/messages", whatsapp_message(BEA.phone, "broken", ProfileName=BEA.name,
                                                     NumMedia="many")).status_code == 400
    engine = make_engine(f"sqlite:///{tmp_path / 'intake_whatsapp.db'}")
    assert set(in_database(BEA, engine)) == {"whatsapp_messages", "whatsapp_conversations", "whatsapp_quarantine"}

    request_id = ask_erasure(rabbit, "intake_whatsapp", phone=BEA.phone, name=BEA.name)
    assert report_of(rabbit, request_id, "intake_whatsapp") == {
        ("whatsapp_messages", "pseudonymised"): 1, ("whatsapp_conversations", "deleted"): 1,
        ("whatsapp_quarantine", "deleted"): 1, ("whatsapp_statuses", "none"): 0}
    assert in_database(BEA, engine) == {}
    engine.dispose()
