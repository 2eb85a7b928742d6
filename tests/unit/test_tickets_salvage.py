"""What a ticket says about text that could not be kept as sent, and what the
dead-letter watcher does with a parked complaint: pure rules, no broker or database."""

from __future__ import annotations

import json
import uuid

from services.common.contract.complaint import ComplaintReceived
from services.common.contract.reference import reference_for
from services.tickets import dead_letters, salvage


def complaint(**fields) -> ComplaintReceived:
    data = {"schema_version": 1, "intake_id": str(uuid.uuid4()), "channel": "web", "external_id": "form-1",
            "received_at": "2026-11-28T10:00:00.000+00:00", "customer": {"name": "Zoë", "email": "zoe@example.org"},
            "subject": "Café", "body": "Ça ne marche pas\ndepuis lundi", **fields}
    return ComplaintReceived.from_dict(data)


def test_no_note_when_nothing_was_repaired():
    assert salvage.repair_note({}) is None


def test_the_repair_note_names_each_field_with_what_the_customer_sent():
    note = salvage.repair_note({"subject": "a\\u0000b", "body": "x\\ud800"})
    assert note.splitlines()[1:] == ["- body: x\\ud800", "- subject: a\\u0000b"]


def test_the_last_resort_copy_is_ascii_only_and_keeps_the_lines_and_the_customer():
    c = complaint(attachments=[{"filename": "foto.jpg", "content_type": "image/jpeg", "size": 3}],
                  extras={"score": 1.5})
    copy, notes = salvage.last_resort(c, c.to_dict(), "DataError: invalid input")
    assert copy.body == "\\xc7a ne marche pas\ndepuis lundi" and copy.subject == "Caf\\xe9"
    assert copy.customer.name == "Zo\\xeb" and copy.customer.email == "zoe@example.org"
    assert (copy.intake_id, copy.channel, copy.reference) == (c.intake_id, c.channel, c.reference)
    assert copy.attachments == () and copy.extras == {}
    assert "DataError: invalid input" in notes[0]
    raw = json.loads(notes[1].split("\n", 1)[1])
    assert raw["attachments"][0]["filename"] == "foto.jpg" and raw["body"] == c.body
    assert all(text.isascii() for text in (copy.body, copy.subject, *notes))


def test_the_last_resort_copy_drops_an_address_it_cannot_keep_and_says_so():
    c = complaint(customer={"email": "jdöe@mächine.example"})
    copy, notes = salvage.last_resort(c, c.to_dict(), "DataError")
    assert copy.customer.email is None
    assert "jd\\xf6e@m\\xe4chine.example" in notes[1]


def test_the_last_resort_copy_writes_nul_as_an_escape():
    c = complaint(body="a\x00b")
    assert salvage.last_resort(c, {}, "e")[0].body == "a\ufffdb".encode("ascii", "backslashreplace").decode()


def death(count, queue="tickets.complaints", reason="delivery_limit"):
    return {"x-death": [{"count": count, "queue": queue, "reason": reason, "exchange": "complaints"}]}


def test_a_complaint_that_died_in_the_work_queue_is_replayed_a_few_times_then_parked():
    intake_id = str(uuid.uuid4())
    body = json.dumps({"intake_id": intake_id, "body": "hi"}).encode()
    first = dead_letters.read(body, death(1))
    assert (first.key, first.reference, first.deaths) == (intake_id, reference_for(intake_id), 1)
    assert "delivery_limit" in first.reason
    assert dead_letters.decide(first, auto_replays=3) == dead_letters.REPLAY
    assert dead_letters.decide(dead_letters.read(body, death(3)), auto_replays=3) == dead_letters.REPLAY
    assert dead_letters.decide(dead_letters.read(body, death(4)), auto_replays=3) == dead_letters.PARK
    assert dead_letters.decide(first, auto_replays=0) == dead_letters.PARK


def test_bytes_that_are_not_a_complaint_are_parked_at_once_under_their_hash():
    for body in (b"{broken json", b"\xff\xfe", b'{"intake_id": "nope"}', b"[1, 2]"):
        letter = dead_letters.read(body, death(1, reason="rejected"))
        assert letter.reference is None and letter.key.startswith("sha256:")
        assert dead_letters.decide(letter, auto_replays=3) == dead_letters.PARK


def test_a_message_without_death_headers_counts_as_one_death():
    letter = dead_letters.read(json.dumps({"intake_id": str(uuid.uuid4())}).encode(), None)
    assert letter.deaths == 1 and letter.reason == "unknown"
