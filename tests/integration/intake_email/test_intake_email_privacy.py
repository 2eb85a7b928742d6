"""The email intake's part of privacy as it runs (its process reading a real Dovecot):
its export lists what it holds of a sender (ledger, skipped and quarantined mail), an
erasure leaves their address, number and name in none of its tables and is reported,
and retention deletes old raw mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.privacy.retention import Retention
from services.common.storage.db import make_engine
from services.intake_email.privacy import EmailPrivacy
from testkit.email_intake import SLOW, last_uid, start_intake
from testkit.privacy_events import ask_erasure, export_part, report_of
from testkit.privacy_scan import Person, in_database
from testkit.sample_mail import message
from testkit.waiting import wait_for

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")
SENDER = f"{BEA.name} <{BEA.email}>"


def test_an_erased_sender_is_in_no_table_of_the_email_intake(dovecot, services, rabbit, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    complaint = message(sender=SENDER, subject="Charged twice", body="Call me on +351 913 572 468.",
                        message_id="<bea-1@example.pt>")
    out_of_office = message(sender=SENDER, subject="Out of office", body="Back Monday.",
                            headers={"Auto-Submitted": "auto-replied"}, message_id="<bea-2@example.pt>")
    too_big = message(sender=SENDER, subject="Photos", body="x" * 5000, message_id="<bea-3@example.pt>")
    someone_else = message(sender="Carla <carla@example.org>", message_id="<carla-1@example.org>")
    dovecot.append([complaint, out_of_office, too_big, someone_else])
    intake = start_intake(services, url, dovecot, EMAIL_MAX_MESSAGE_BYTES="2000")
    wait_for(lambda: last_uid(intake) == 4, timeout=SLOW, message="every message handled")
    engine = make_engine(url)
    assert set(in_database(BEA, engine)) == {"intake_email_seen", "intake_email_skipped", "intake_email_quarantine"}

    part = export_part(intake.url, email=BEA.email)
    tables = part["tables"]
    # The ledger knows her complaint and her auto-reply (the mail too large to read has no sender on it).
    assert [len(tables[t]) for t in ("intake_email_seen", "intake_email_skipped", "intake_email_quarantine")] == \
        [2, 1, 1]
    assert BEA.email in tables["intake_email_quarantine"][0]["raw"]

    request_id = ask_erasure(rabbit, "intake_email", email=BEA.email, name=BEA.name)
    report = report_of(rabbit, request_id, "intake_email")
    assert report == {("intake_email_seen", "pseudonymised"): 2, ("intake_email_skipped", "deleted"): 1,
                      ("intake_email_quarantine", "deleted"): 1}
    assert in_database(BEA, engine) == {}
    assert export_part(intake.url, email="carla@example.org")["tables"]["intake_email_seen"][0]["sender"] == \
        "carla@example.org"
    engine.dispose()


def test_retention_deletes_old_raw_mail_and_pseudonymises_old_senders(dovecot, services, tmp_path):
    url = f"sqlite:///{tmp_path / 'email.db'}"
    dovecot.append([message(sender=SENDER, subject="Out of office", headers={"Auto-Submitted": "auto-replied"})])
    intake = start_intake(services, url, dovecot)
    wait_for(lambda: last_uid(intake) == 1, timeout=SLOW, message="the message handled")
    engine = make_engine(url)
    privacy = EmailPrivacy(engine)
    assert privacy.retain(datetime.now(UTC), Retention()) == {}
    done = privacy.retain(datetime.now(UTC) + timedelta(days=91), Retention())
    assert done == {("intake_email_seen", "pseudonymised"): 1, ("intake_email_skipped", "deleted"): 1}
    assert in_database(BEA, engine) == {}
    engine.dispose()
