"""The privacy kernel in plain Python: recognising a person however their phone or email
is written, scrubbing them out of text, stable pseudonyms, what an export or erasure
request may say, the retention rules and the export archive."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.privacy import archive, transport
from services.common.privacy.pseudonym import is_pseudonym, pseudonym
from services.common.privacy.retention import Retention, RetentionError
from services.common.privacy.subject import ERASED, Subject, SubjectError, read_request, redact

PROPERTY = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 200)), deadline=None)
ANA = Subject.given(email="Ana.Lima@Example.org", phone="+351 912 345 678", name="Ana Lima")
KEY = b"test pseudonym key"

SPELLINGS = ["+351912345678", "+351 912 345 678", "00351 912-345-678", "(+351) 912.345.678", "912 345 678",
             "351912345678", "whatsapp:+351912345678", "%2B351912345678"]


@pytest.mark.parametrize("text", [f"call me on {s} please" for s in SPELLINGS])
def test_a_phone_is_recognised_however_it_is_written(text):
    assert ANA.mentioned_in(text)
    assert "912" not in ANA.scrub(text) and ERASED in ANA.scrub(text)


@pytest.mark.parametrize("text", ["call +351 912 345 679", "order 3519123456789", "ref 19123456780",
                                  "xana.lima@example.org", "ana.lima@example.org.pt", "Ana Limas"])
def test_a_longer_number_or_another_address_is_not_theirs(text):
    assert not ANA.mentioned_in(text) and not ANA.named_in(text)


def test_an_email_is_recognised_in_any_case_and_url_encoded():
    assert ANA.mentioned_in("From: ANA.LIMA@EXAMPLE.ORG") and ANA.mentioned_in("?email=ana.lima%40example.org")
    assert ANA.mentioned_in("ana.lima@example.org".encode("utf-16-le")) is False  # not text we could read
    assert ANA.mentioned_in(b"From: Ana <ana.lima@example.org>\r\n\xff\xfe")


def test_scrubbing_removes_names_and_their_parts_but_not_other_words():
    text = "Dear Ana Lima, LIMA here. Ana's order; a banana; Analia"
    assert ANA.scrub(text) == f"Dear {ERASED}, {ERASED} here. {ERASED}'s order; a banana; Analia"
    assert ANA.scrub_deep({"body": "hi", "note": ["ana.lima@example.org"], "n": 3}, frozenset({"body"})) == \
        {"body": ERASED, "note": [ERASED], "n": 3}


def test_identifiers_are_normalised_and_every_bad_one_is_named():
    assert ANA == Subject(("ana.lima@example.org",), ("+351912345678",), ("Ana Lima",))
    assert ANA.owns("whatsapp:+351912345678") and ANA.owns("ANA.LIMA@example.org") and not ANA.owns("+351912345679")
    with pytest.raises(SubjectError) as caught:
        Subject.given(email="not-an-address", phone="12", name=3)
    assert set(caught.value.errors) == {"email", "phone", "name"}


@PROPERTY
@given(st.sampled_from([s for s in SPELLINGS[:7] if "351" in s]))  # a national spelling names no country
def test_every_spelling_of_an_address_has_one_pseudonym_that_reaches_nobody(spelling):
    value = pseudonym(spelling, KEY)
    assert value == pseudonym("+351912345678", KEY) and is_pseudonym(value)
    assert "@" not in value and "+" not in value and len(value) <= 20  # fits a phone column
    assert pseudonym(value, KEY) == value  # erasing twice changes nothing
    assert pseudonym("Ana.Lima@EXAMPLE.org", KEY) == pseudonym("ana.lima@example.org", KEY) != value
    assert pseudonym("+351912345678", b"another key") != value


@PROPERTY
@given(st.text(alphabet="abc 123.-", max_size=40), st.sampled_from(SPELLINGS[:6]),
       st.text(alphabet="xyz ", max_size=20))
def test_a_scrubbed_text_never_still_mentions_them(before, spelling, after):
    text = f"{before} {spelling} {after} Ana.Lima@example.org"
    assert not ANA.mentioned_in(ANA.scrub(text))


def test_a_request_names_a_person_by_email_phone_or_references_never_by_name_alone():
    subject, references = read_request({"email": ["a@b.pt", "A@B.PT"], "references": ["c-7k3m9qx2ab"]})
    assert subject.emails == ("a@b.pt",) and references == ("C-7K3M9QX2AB",)
    for body, field in (({"name": "Ana"}, "email"), ({"email": "a@b.pt", "ssn": "1"}, "ssn"),
                        ({"references": ["nope"]}, "references"), ([], "$"), ({"phone": {"x": 1}}, "phone")):
        with pytest.raises(SubjectError) as caught:
            read_request(body)
        assert field in caught.value.errors


def test_retention_rules_come_from_the_environment_and_zero_turns_one_off():
    rules = Retention.from_env({"RETENTION_CONTACT_MONTHS": "0.5", "RETENTION_RAW_DAYS": "0"})
    now = datetime(2026, 12, 10, tzinfo=UTC)
    assert rules.contact_cutoff(now) == now - timedelta(days=365.25 / 24)
    assert rules.raw_cutoff(now) is None and rules.message_cutoff(now) == now - timedelta(days=90)
    assert Retention.from_env({}) == Retention()
    for bad in ({"RETENTION_LEDGER_DAYS": "ninety"}, {"RETENTION_MESSAGE_DAYS": "-1"},
                {"RETENTION_CHECK_SECONDS": "0"}):
        with pytest.raises(RetentionError, match=next(iter(bad))):
            Retention.from_env(bad)


def test_the_export_archive_holds_a_file_per_service_and_says_what_is_missing():
    parts = {"tickets": {"service": "tickets", "tables": {"tickets": [{"reference": "C-1"}, {"reference": "C-2"}]}},
             "notifier": {"service": "notifier", "tables": {"notifications": [{"id": 1}]}}}
    data = archive.build(parts, {"intake_sms": "not reachable"}, {"email": "ana@example.org"}, "2026-12-10T10:00Z")
    manifest, read_back = archive.read(data)
    assert read_back == parts and manifest["complete"] is False
    assert manifest["services"]["tickets"] == {"file": "tickets.json", "status": "ok", "records": 2}
    assert manifest["services"]["intake_sms"]["status"] == "unavailable"


def test_an_erasure_waits_for_the_services_the_registry_or_the_installation_names():
    assert transport.expected_services({}) == ("tickets", "notifier", "intake_whatsapp", "intake_voice",
                                               "intake_sms", "intake_email")
    assert transport.expected_services({"PRIVACY_SERVICES": "intake_sms, notifier"}) == \
        ("tickets", "intake_sms", "notifier")
    with pytest.raises(ValueError, match="router"):
        transport.expected_services({"PRIVACY_SERVICES": "router"})


def test_log_lines_carrying_a_remote_error_mask_every_address_and_number():
    error = ("SMTPRecipientsRefused: {'ana@example.org': (550, b'<ana@example.org> unknown')}; "
             "Twilio: the 'To' number +351 912 345 678 (whatsapp:00351912345678) is invalid, at 2026-11-28 17:21:03")
    assert redact(error) == ("SMTPRecipientsRefused: {'[email]': (550, b'<[email]> unknown')}; "
                             "Twilio: the 'To' number [phone] (whatsapp:[phone]) is invalid, at 2026-11-28 17:21:03")
