"""The email intake's tables on SQLite and PostgreSQL: checkpoints that only
move forward and restart on a new UIDVALIDITY, one ledger row per message
whatever happens, the quarantine keeping the raw bytes."""

from __future__ import annotations

import base64
import json

from services.intake_email import migrate
from services.intake_email.store import INGESTED, QUARANTINED, SKIPPED, EmailStore


def store_for(url) -> EmailStore:
    migrate.upgrade(url)
    return EmailStore(url)


def test_checkpoint_moves_forward_only_and_restarts_on_a_new_uidvalidity(database_url):
    store = store_for(database_url)
    assert store.checkpoint("support", 100).last_uid == 0
    store.record("support", 100, 5, "support|<a@x>", INGESTED, reference="C-0000000001")
    store.advance("support", 100, 3)          # never backwards
    assert store.checkpoint("support", 100).last_uid == 5
    store.advance("support", 99, 9)           # a UID of another UIDVALIDITY moves nothing
    assert store.checkpoint("support", 100).last_uid == 5
    assert store.checkpoint("support", 200).last_uid == 0   # renumbered folder: read it all again
    assert store.previous_uidvalidity("support") == 200
    assert store.all_checkpoints()["support"]["uidvalidity"] == 200
    store.close()


def test_the_ledger_records_each_message_once(database_url):
    store = store_for(database_url)
    store.checkpoint("support", 1)
    assert store.record("support", 1, 1, "support|<a@x>", INGESTED, reference="C-0000000001") is True
    assert store.record("support", 1, 2, "support|<a@x>", INGESTED, reference="C-0000000001") is False
    assert store.outcome("support", "support|<a@x>") == INGESTED
    assert store.outcome("billing", "support|<a@x>") is None
    # The checkpoint moved even for the second copy: it was handled.
    assert store.checkpoint("support", 1).last_uid == 2
    assert store.counts("support") == {INGESTED: 1}
    store.close()


def test_quarantine_keeps_raw_bytes_and_reason_and_skips_keep_their_reason(database_url):
    store = store_for(database_url)
    store.checkpoint("support", 1)
    raw = b"Frm garbage\r\n\x00\xff\r\n"
    store.record("support", 1, 3, "support|sha256:abc", QUARANTINED, reason="not an email: no header lines",
                 raw=raw, size=len(raw))
    store.record("support", 1, 3, "support|sha256:abc", QUARANTINED, reason="again", raw=raw)  # no second row
    store.record("support", 1, 4, "support|<ooo@x>", SKIPPED, reason="auto_reply",
                 detail="Auto-Submitted: auto-replied", sender="kim@example.org", subject="Out of office")
    q = store.quarantined()
    assert q["total"] == 1
    [item] = q["items"]
    assert item["reason"] == "not an email: no header lines" and base64.b64decode(item["raw_base64"]) == raw
    assert store.quarantined_raw(item["id"]) == raw
    [skip] = store.skipped_list()["items"]
    assert (skip["reason"], skip["sender"], skip["uid"]) == ("auto_reply", "kim@example.org", 4)
    assert store.counts("support") == {QUARANTINED: 1, SKIPPED: 1}
    store.ping()
    store.close()


def test_migrations_apply_twice_without_harm(database_url):
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)
    store = EmailStore(database_url)
    assert store.quarantined()["total"] == 0
    store.close()


def test_a_message_that_breaks_the_reader_is_quarantined_and_the_next_one_goes_through(
        tmp_path, rabbit, monkeypatch):
    from services.common.messaging.publisher import ComplaintPublisher
    from services.intake_email import ingest
    from services.intake_email.ingest import Fetched, Ingestor
    from testkit.sample_mail import message

    url = f"sqlite:///{tmp_path / 'email.db'}"
    store = store_for(url)
    store.checkpoint("support", 1)
    publisher = ComplaintPublisher(rabbit.amqp_uri)
    ingestor = Ingestor(store, publisher, max_attachment_bytes=1000, max_message_bytes=10_000)
    poison = message(subject="poison", message_id="<poison@x.org>")
    real_skip_reason = ingest.skip_reason

    def buggy(facts):   # a bug nobody foresaw, hit by one message only
        if facts.subject == "poison":
            raise KeyError("unexpected")
        return real_skip_reason(facts)

    monkeypatch.setattr(ingest, "skip_reason", buggy)
    assert ingestor.handle("support", "INBOX", 1, Fetched(1, poison, len(poison), None)) == QUARANTINED
    good = message(subject="fine", message_id="<fine@x.org>")
    assert ingestor.handle("support", "INBOX", 1, Fetched(2, good, len(good), None)) == INGESTED
    assert ingestor.handle("support", "INBOX", 1, Fetched(3, good, len(good), None)) == "duplicate"
    [item] = store.quarantined()["items"]
    assert item["reason"] == "could not be read: KeyError: 'unexpected'" and item["uid"] == 1
    assert store.checkpoint("support", 1).last_uid == 3
    [published] = rabbit.get_messages("tickets.complaints", count=5)   # only the good one, once
    assert json.loads(published["payload"])["subject"] == "fine"
    publisher.close()
    store.close()


def test_text_no_database_holds_is_stored_repaired_in_every_record(database_url):
    store = store_for(database_url)
    store.checkpoint("support", 1)
    bad = "Weekly\x00 offers \udcff"     # NUL (PostgreSQL refuses it) and a surrogate escape (no UTF-8)
    store.record("support", 1, 1, "support|<a\x00@x>", SKIPPED, reason="bulk", detail=f"Precedence: bulk {bad}",
                 sender="news\x00@shop.example", subject=bad)
    store.record("support", 1, 2, "support|<b\udcff@x>", QUARANTINED, reason=f"bad: {bad}", raw=b"\x00\xff")
    [skip] = store.skipped_list()["items"]
    assert (skip["subject"], skip["sender"]) == ("Weekly\ufffd offers \ufffd", "news\ufffd@shop.example")
    assert skip["detail"] == "Precedence: bulk Weekly\ufffd offers \ufffd"
    [item] = store.quarantined()["items"]
    assert item["reason"] == "bad: Weekly\ufffd offers \ufffd" and store.quarantined_raw(item["id"]) == b"\x00\xff"
    assert store.outcome("support", "support|<a\x00@x>") == SKIPPED     # found again by the same key
    assert store.checkpoint("support", 1).last_uid == 2
    store.close()
