"""ComplaintReceived (services/common/contract.py) and ticket references
(services/common/reference.py): pure unit tests, no broker, no database.

Expected values are written out by hand here (or computed by an independent
few-line implementation), never taken from the code under test.
"""

from __future__ import annotations

import copy
import json
import random
import uuid

import pytest

from services.common.contract.complaint import ComplaintReceived, ContractError
from services.common.contract.reference import (
    find_references,
    normalize_reference,
    reference_for,
    token_matches,
    tracking_token,
)

INTAKE_ID = "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # written out: no I, L, O, U


def valid() -> dict:
    """A complete complaint, already in canonical form (UTC, milliseconds)."""
    return {
        "schema_version": 1,
        "intake_id": INTAKE_ID,
        "channel": "email",
        "external_id": "<CAF1x2@mail.example.com>|INBOX",
        "received_at": "2024-05-01T10:15:30.123+00:00",
        "customer": {
            "name": "Ana Silva",
            "email": "ana@example.com",
            "phone": "+351912345678",
            "whatsapp": "+351912345679",
            "anonymous": False,
        },
        "body": "The box arrived crushed and the lamp inside is broken.",
        "subject": "Order 1234 arrived broken",
        "category": "delivery",
        "language": "pt-BR",
        "region": "lisbon",
        "attachments": [
            {
                "filename": "photo.jpg",
                "content_type": "image/jpeg",
                "size": 20480,
                "sha256": "ab" * 32,
                "url": "https://files.example.com/a/photo.jpg",
            },
            {"filename": "", "content_type": "application/pdf", "size": 0, "sha256": None, "url": None},
        ],
        "threading": {
            "in_reply_to": "<prev@mail.example.com>",
            "references": ["<first@mail.example.com>", "<prev@mail.example.com>"],
            "ticket_reference": "C-7K3M9QX2AB",
            "message_id": "<CAF1x2@mail.example.com>",
        },
        "extras": {
            "recording_url": "https://api.twilio.example/Recordings/RE123",
            "transcription": "my lamp is broken",
            "callback_requested": True,
            "nested": {"digits": [1, 2, 3]},
        },
    }


def errors_for(data) -> dict[str, str]:
    with pytest.raises(ContractError) as info:
        ComplaintReceived.from_dict(data)
    return info.value.errors


# --- round trip ---------------------------------------------------------------


def test_full_complaint_round_trips_unchanged():
    data = valid()
    complaint = ComplaintReceived.from_dict(copy.deepcopy(data))

    assert complaint.to_dict() == data
    # and through JSON, as it travels over the broker
    again = ComplaintReceived.from_dict(json.loads(json.dumps(complaint.to_dict())))
    assert again == complaint
    assert again.to_dict() == data


def test_parsed_fields_are_what_the_intake_sent():
    c = ComplaintReceived.from_dict(valid())
    assert c.customer.email == "ana@example.com"
    assert c.customer.identities() == {"email": "ana@example.com", "phone": "+351912345678",
                                       "whatsapp": "+351912345679"}
    assert [a.content_type for a in c.attachments] == ["image/jpeg", "application/pdf"]
    assert c.attachments[0].size == 20480
    assert c.threading.in_reply_to == "<prev@mail.example.com>"
    assert c.threading.references == ("<first@mail.example.com>", "<prev@mail.example.com>")
    assert c.threading.ticket_reference == "C-7K3M9QX2AB"
    assert c.extras["callback_requested"] is True


def test_minimal_complaint_gets_empty_defaults():
    c = ComplaintReceived.from_dict({
        "schema_version": 1, "intake_id": INTAKE_ID, "channel": "web", "external_id": "form-1",
        "received_at": "2024-05-01T10:15:30.123+00:00", "body": "hello",
    })
    assert (c.subject, c.category, c.language, c.region) == ("", None, None, None)
    assert c.attachments == ()
    assert c.threading.references == () and c.threading.in_reply_to is None
    assert c.extras == {}
    assert c.customer.identities() == {} and c.customer.anonymous is False


def test_reference_property_is_reference_for_intake_id():
    c = ComplaintReceived.from_dict(valid())
    assert c.reference == reference_for(INTAKE_ID)
    assert c.reference.startswith("C-")


def test_intake_id_is_canonicalised_and_keeps_its_reference():
    data = valid()
    data["intake_id"] = INTAKE_ID.upper()
    c = ComplaintReceived.from_dict(data)
    assert c.intake_id == INTAKE_ID
    assert c.reference == reference_for(INTAKE_ID)


# --- timestamps -----------------------------------------------------------------


@pytest.mark.parametrize("sent, stored", [
    ("2024-05-01T12:15:30.123+02:00", "2024-05-01T10:15:30.123+00:00"),
    ("2024-05-01T05:15:30-05:00", "2024-05-01T10:15:30.000+00:00"),
    ("2024-05-01T15:45:30.5+05:30", "2024-05-01T10:15:30.500+00:00"),
    ("2024-05-01T10:15:30Z", "2024-05-01T10:15:30.000+00:00"),
    ("2024-05-01T00:30:00+01:00", "2024-04-30T23:30:00.000+00:00"),  # crosses midnight
])
def test_received_at_with_offset_is_normalised_to_utc(sent, stored):
    data = valid()
    data["received_at"] = sent
    assert ComplaintReceived.from_dict(data).received_at == stored


@pytest.mark.parametrize("sent", ["2024-05-01T10:15:30", "2024-05-01T10:15:30.123", "2024-05-01"])
def test_received_at_without_timezone_is_rejected(sent):
    data = valid()
    data["received_at"] = sent
    assert errors_for(data) == {"received_at": "needs a timezone offset"}


# --- one rule, one named field --------------------------------------------------


def _set(path, value):
    def mutate(d):
        *parents, last = path
        for p in parents:
            d = d[p]
        d[last] = value
    return mutate


def _del(path):
    def mutate(d):
        *parents, last = path
        for p in parents:
            d = d[p]
        del d[last]
    return mutate


def _no_body_nothing_else(d):
    d["body"] = ""
    d["attachments"] = []
    d["extras"] = {}


def _whitespace_body_nothing_else(d):
    d["body"] = "  \n\t "
    del d["attachments"]
    del d["extras"]


REJECTED = [
    # (id, mutation, field, words a person needs to see in the message)
    ("missing intake_id", _del(["intake_id"]), "intake_id", ["required"]),
    ("empty intake_id", _set(["intake_id"], ""), "intake_id", ["required"]),
    ("intake_id not a uuid", _set(["intake_id"], "12345"), "intake_id", ["UUID"]),
    ("missing channel", _del(["channel"]), "channel", ["required"]),
    ("unknown channel", _set(["channel"], "fax"), "channel",
     ["'fax'", "email", "web", "chat", "whatsapp", "voice"]),
    ("channel not a string", _set(["channel"], 3), "channel", ["string"]),
    ("missing external_id", _del(["external_id"]), "external_id", ["required"]),
    ("too long external_id", _set(["external_id"], "x" * 501), "external_id", ["too long", "500"]),
    ("missing received_at", _del(["received_at"]), "received_at", ["required"]),
    ("received_at not a timestamp", _set(["received_at"], "yesterday"), "received_at", ["ISO 8601"]),
    ("unknown category", _set(["category"], "complaints"), "category",
     ["'complaints'", "billing", "technical", "delivery", "product", "service", "other"]),
    ("bad email", _set(["customer", "email"], "ana.example.com"), "customer.email", ["email address"]),
    ("email with space", _set(["customer", "email"], "ana silva@example.com"), "customer.email",
     ["email address"]),
    ("phone not e164", _set(["customer", "phone"], "912 345 678"), "customer.phone", ["E.164"]),
    ("phone with 00 prefix", _set(["customer", "phone"], "00351912345678"), "customer.phone", ["E.164"]),
    ("phone too long", _set(["customer", "phone"], "+1234567890123456"), "customer.phone", ["E.164"]),
    ("whatsapp with prefix", _set(["customer", "whatsapp"], "whatsapp:+351912345678"), "customer.whatsapp",
     ["E.164"]),
    ("too long name", _set(["customer", "name"], "n" * 201), "customer.name", ["too long"]),
    ("language word", _set(["language"], "English"), "language", ["language tag"]),
    ("language underscore", _set(["language"], "en_US"), "language", ["language tag"]),
    ("wrong schema_version", _set(["schema_version"], 2), "schema_version", ["2", "expected 1"]),
    ("missing schema_version", _del(["schema_version"]), "schema_version", ["None", "expected 1"]),
    ("empty body, nothing else", _no_body_nothing_else, "body", ["empty"]),
    ("whitespace body, nothing else", _whitespace_body_nothing_else, "body", ["empty"]),
    ("anonymous with email", _set(["customer"], {"anonymous": True, "email": "ana@example.com"}),
     "customer.anonymous", ["anonymous", "no name or contact"]),
    ("anonymous with name", _set(["customer"], {"anonymous": True, "name": "Ana"}),
     "customer.anonymous", ["anonymous"]),
    ("customer not an object", _set(["customer"], "Ana"), "customer", ["object"]),
    ("negative attachment size", _set(["attachments", 0, "size"], -1), "attachments[0].size",
     ["non-negative integer"]),
    ("attachment size a string", _set(["attachments", 1, "size"], "20480"), "attachments[1].size",
     ["non-negative integer"]),
    ("attachment size a bool", _set(["attachments", 0, "size"], True), "attachments[0].size",
     ["non-negative integer"]),
    ("attachment without content_type", _del(["attachments", 1, "content_type"]),
     "attachments[1].content_type", ["required"]),
    ("attachment not an object", _set(["attachments", 0], "photo.jpg"), "attachments[0]", ["object"]),
    ("attachments not a list", _set(["attachments"], {"filename": "a"}), "attachments", ["list"]),
    ("references not a list", _set(["threading", "references"], "<a@b>"), "threading.references",
     ["list"]),
    ("references not strings", _set(["threading", "references"], [1, 2]), "threading.references",
     ["list"]),
    ("threading not an object", _set(["threading"], ["<a@b>"]), "threading", ["object"]),
    ("too long subject", _set(["subject"], "s" * 301), "subject", ["too long", "301", "300"]),
    ("extras not an object", _set(["extras"], ["recording"]), "extras", ["object"]),
]


@pytest.mark.parametrize("mutate, field, words", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_each_rule_names_its_field_with_a_readable_message(mutate, field, words):
    data = valid()
    mutate(data)
    errors = errors_for(data)
    assert set(errors) == {field}, errors
    for word in words:
        assert word in errors[field]


def test_error_string_names_the_field_too():
    data = valid()
    data["customer"]["email"] = "nope"
    with pytest.raises(ContractError) as info:
        ComplaintReceived.from_dict(data)
    assert "customer.email: not an email address" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_several_errors_are_all_reported_at_once():
    data = valid()
    del data["intake_id"]
    data["channel"] = "fax"
    data["received_at"] = "2024-05-01T10:15:30"
    data["customer"]["email"] = "nope"
    data["customer"]["phone"] = "12345"
    data["subject"] = "s" * 301
    data["attachments"][0]["size"] = -5
    data["threading"]["references"] = "<a@b>"
    errors = errors_for(data)
    assert set(errors) == {"intake_id", "channel", "received_at", "customer.email", "customer.phone",
                           "subject", "attachments[0].size", "threading.references"}


@pytest.mark.parametrize("data", [None, [], ["a"], "complaint", 42, json.dumps({"body": "x"})])
def test_non_object_input_is_rejected(data):
    errors = errors_for(data)
    assert list(errors) == ["$"]
    assert "object" in errors["$"]


# --- accepted edge cases ----------------------------------------------------------


def test_empty_body_with_an_attachment_is_accepted():
    data = valid()
    data["body"] = ""
    data["extras"] = {}
    c = ComplaintReceived.from_dict(data)
    assert c.body == ""
    assert len(c.attachments) == 2


def test_missing_body_with_a_recording_is_accepted():
    data = valid()
    del data["body"]
    del data["attachments"]
    data["extras"] = {"recording_url": "https://api.twilio.example/Recordings/RE1"}
    c = ComplaintReceived.from_dict(data)
    assert c.body == ""
    assert c.extras == {"recording_url": "https://api.twilio.example/Recordings/RE1"}


def test_anonymous_complaint_without_contacts_is_accepted():
    data = valid()
    data["customer"] = {"anonymous": True}
    c = ComplaintReceived.from_dict(data)
    assert c.customer.anonymous is True
    assert c.customer.identities() == {}


@pytest.mark.parametrize("tag", ["en", "pt-BR", "zh-Hant-TW", "fil", "es-419"])
def test_language_tags_are_accepted(tag):
    data = valid()
    data["language"] = tag
    assert ComplaintReceived.from_dict(data).language == tag


@pytest.mark.parametrize("number", ["+351912345678", "+14155550123", "+4930123456"])
def test_e164_numbers_are_accepted(number):
    data = valid()
    data["customer"]["phone"] = number
    data["customer"]["whatsapp"] = number
    c = ComplaintReceived.from_dict(data)
    assert (c.customer.phone, c.customer.whatsapp) == (number, number)


def test_subject_at_the_limit_is_accepted():
    data = valid()
    data["subject"] = "s" * 300
    assert ComplaintReceived.from_dict(data).subject == "s" * 300


def test_too_long_body_with_an_attachment_says_too_long():
    data = valid()
    data["body"] = "x" * 100_001
    assert "too long" in errors_for(data)["body"]


@pytest.mark.parametrize("body, words", [("x" * 100_001, "too long"), (12345, "expected a string")])
def test_bad_body_without_attachment_keeps_its_own_message(body, words):
    data = valid()
    data["body"] = body
    data["attachments"] = []
    data["extras"] = {}
    assert words in errors_for(data)["body"]


@pytest.mark.parametrize("path, value", [
    (["customer", "email"], "ana@example.com\n"),
    (["customer", "phone"], "+351912345678\n"),
    (["customer", "whatsapp"], "+351912345678\n"),
    (["language"], "en\n"),
])
def test_trailing_newline_is_rejected(path, value):
    data = valid()
    _set(path, value)(data)
    assert ".".join(path) in errors_for(data)


def test_a_complaint_flagged_confidential_keeps_the_flag_on_the_wire():
    data = {**valid(), "confidential": True}
    c = ComplaintReceived.from_dict(copy.deepcopy(data))
    assert c.confidential is True
    assert ComplaintReceived.from_dict(json.loads(json.dumps(c.to_dict()))).to_dict() == data


def test_an_unflagged_complaint_travels_as_it_always_did():
    # Old producers never send the field, and what we send for an ordinary complaint
    # is byte for byte what an older consumer expects.
    c = ComplaintReceived.from_dict(valid())
    assert c.confidential is False and "confidential" not in c.to_dict()
    assert ComplaintReceived.from_dict({**valid(), "confidential": None}).confidential is False


@pytest.mark.parametrize("value", ["true", 1, "yes", []])
def test_confidential_must_be_a_boolean(value):
    assert errors_for({**valid(), "confidential": value})["confidential"] == "expected true or false"


def test_anonymous_must_be_a_boolean():
    data = valid()
    data["customer"] = {"anonymous": "false"}
    assert "customer.anonymous" in errors_for(data)


# --- references -------------------------------------------------------------------


def _uuid4s(n: int, seed: int) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


def _expected_reference(u: uuid.UUID) -> str:
    """Independent reading of the spec: 50 random bits, 5 at a time, Crockford base32."""
    # The 48 random bits before a UUID4's version nibble, then the 2 after it.
    raw = format(u.int, "0128b")
    bits = raw[:48] + raw[52:54]
    return "C-" + "".join(CROCKFORD[int(bits[i:i + 5], 2)] for i in range(0, 50, 5))


@pytest.mark.parametrize("intake_id, expected", [
    ("00000000-0000-0000-0000-000000000000", "C-0000000000"),
    ("ffffffff-ffff-ffff-ffff-ffffffffffff", "C-ZZZZZZZZZZ"),
    ("80000000-0000-0000-0000-000000000000", "C-G000000000"),  # first bit set: 10000 -> G
    ("00000000-0001-0000-0000-000000000000", "C-0000000004"),  # bit 48: the last before the version
    ("00000000-0000-4000-0000-000000000000", "C-0000000000"),  # the version nibble is skipped
    ("00000000-0000-0800-0000-000000000000", "C-0000000002"),  # bit 53, right after the version
    ("00000000-0000-0400-0000-000000000000", "C-0000000001"),  # bit 54: the last one in the reference
    ("00000000-0000-0200-0000-000000000000", "C-0000000000"),  # bit 55 is beyond it
])
def test_reference_encodes_fifty_random_bits(intake_id, expected):
    assert reference_for(intake_id) == expected


def test_reference_is_deterministic_and_well_formed():
    for u in _uuid4s(500, seed=1):
        ref = reference_for(str(u))
        assert ref == reference_for(str(u)) == reference_for(u) == reference_for(str(u).upper())
        assert ref == _expected_reference(u)
        assert ref.startswith("C-") and len(ref) == 12
        assert all(s in CROCKFORD for s in ref[2:])
        assert not set(ref[2:]) & set("ILOU")


def test_ten_thousand_uuid4s_give_ten_thousand_references():
    ids = _uuid4s(10_000, seed=2)
    assert len({reference_for(u) for u in ids}) == 10_000


def test_reference_of_a_non_uuid_raises():
    with pytest.raises(ValueError):
        reference_for("not-a-uuid")


def test_every_symbol_of_a_reference_varies_across_uuid4s():
    refs = [reference_for(u) for u in _uuid4s(3000, seed=3)]
    for position in range(2, 12):
        assert len({r[position] for r in refs}) == 32, f"symbol {position - 1} takes few values"


@pytest.mark.parametrize("typed, canonical", [
    ("C-7K3M9QX2AB", "C-7K3M9QX2AB"),
    ("c-7k3m9qx2ab", "C-7K3M9QX2AB"),
    ("  C-7K3M9QX2AB \n", "C-7K3M9QX2AB"),
    ("c-oi1l0o2345", "C-0111002345"),        # o->0, i->1, l->1
    ("C-OILOIL0000", "C-0110110000"),
])
def test_normalize_reference_accepts_case_and_lookalikes(typed, canonical):
    assert normalize_reference(typed) == canonical


@pytest.mark.parametrize("typed", [
    "", "   ", "hello", "C-", "C-7K3M9QX2A", "C-7K3M9QX2ABC", "C-7K3M9QX2AU", "X-7K3M9QX2AB",
    "C 7K3M9QX2AB", "C7K3M9QX2AB", "C-7K3M9QX2A!", "see C-7K3M9QX2AB", "C-7K3M9QX2AB please",
    "C-7K3M-9QX2", "7K3M9QX2AB",
])
def test_normalize_reference_rejects_garbage(typed):
    assert normalize_reference(typed) is None


@pytest.mark.parametrize("text, found", [
    ("Re: [C-7K3M9QX2AB] my order", ["C-7K3M9QX2AB"]),
    ("ref c-7k3m9qx2ab.", ["C-7K3M9QX2AB"]),
    ("(C-7K3M9QX2AB)", ["C-7K3M9QX2AB"]),
    ("C-7K3M9QX2AB", ["C-7K3M9QX2AB"]),
    ("first C-AAAAAAAAAA then C-BBBBBBBBBB", ["C-AAAAAAAAAA", "C-BBBBBBBBBB"]),
    ("again C-7K3M9QX2AB and c-7k3m9qx2ab and C-7K3M9QX2AB", ["C-7K3M9QX2AB"]),
    ("Ref c-oooo1111ii", ["C-0000111111"]),
    ("ABC-7K3M9QX2AB", []),
    ("xC-7K3M9QX2AB", []),
    ("9C-7K3M9QX2AB", []),
    ("C-7K3M9QX2ABX", []),
    ("C-7K3M9QX2AB9", []),
    ("C-7K3M9QX2A", []),
    ("C-7K3M9QX2AU is not one", []),
    ("no reference here", []),
    ("", []),
])
def test_find_references_in_text(text, found):
    assert find_references(text) == found


def test_find_references_across_subject_and_body_in_order_once_each():
    subject = "Re: [C-BBBBBBBBBB] my order"
    body = "Also see c-aaaaaaaaaa and again C-BBBBBBBBBB, and C-CCCCCCCCCC."
    assert find_references(subject, None, body) == ["C-BBBBBBBBBB", "C-AAAAAAAAAA", "C-CCCCCCCCCC"]
    assert find_references(None) == []
    assert find_references() == []


def test_reference_given_to_the_customer_is_found_when_they_quote_it():
    ref = reference_for(INTAKE_ID)
    assert find_references(f"Re: [{ref}] still waiting") == [ref]
    assert find_references(f"my ref is {ref.lower()}.") == [ref]
    assert normalize_reference(ref.lower()) == ref


# --- tracking tokens ----------------------------------------------------------------


REF = "C-7K3M9QX2AB"


def test_tracking_token_is_stable_for_one_secret():
    assert tracking_token(REF, "s3cret") == tracking_token(REF, "s3cret")
    assert token_matches(REF, tracking_token(REF, "s3cret"), "s3cret")


def test_tracking_token_differs_across_secrets_and_references():
    tokens = {tracking_token(ref, secret)
              for ref in (REF, "C-7K3M9QX2AC", "C-0000000000")
              for secret in ("s3cret", "s3cret2", "other")}
    assert len(tokens) == 9


def test_tracking_token_is_url_safe_and_not_the_secret():
    token = tracking_token(REF, "s3cret")
    assert token and all(ch.isalnum() or ch in "-_=" for ch in token)
    assert "s3cret" not in token and REF not in token


@pytest.mark.parametrize("token", [
    None,
    "",
    "x",
    "wrong-token-wrong-token",
    tracking_token("C-7K3M9QX2AC", "s3cret"),   # another ticket's token
    tracking_token(REF, "other"),               # signed with another secret
    tracking_token(REF, "s3cret")[:-1],         # truncated
    tracking_token(REF, "s3cret") + "A",        # extended
])
def test_token_matches_rejects_missing_and_wrong_tokens(token):
    assert token_matches(REF, token, "s3cret") is False


def test_token_matches_rejects_non_ascii_token():
    assert token_matches(REF, "é" * 24, "s3cret") is False


# --- text no database can hold (NUL, lone surrogates) ----------------------------


def with_fields(**fields) -> dict:
    data = valid()
    for dotted, value in fields.items():
        section, _, key = dotted.rpartition("__")
        (data[section] if section else data)[key] = value
    return data


@pytest.mark.parametrize("field, value, stored", [
    ("body", "lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("subject", "NUL\x00in subject", "NUL\ufffdin subject"),
    ("customer__name", "J\udcc3\udcb6hn", "J\ufffd\ufffdhn"),
    ("region", "lis\x00bon", "lis\ufffdbon"),
])
def test_unstorable_text_is_replaced_and_the_original_kept_escaped(field, value, stored):
    complaint = ComplaintReceived.from_dict(with_fields(**{field: value}))
    section, _, key = field.rpartition("__")
    assert getattr(getattr(complaint, section) if section else complaint, key) == stored
    dotted = field.replace("__", ".")
    assert complaint.repairs == {dotted: json.dumps(value)[1:-1]}
    assert complaint.repairs[dotted].isascii()


def test_repairs_travel_with_the_complaint_to_the_tickets_service():
    complaint = ComplaintReceived.from_dict(with_fields(body="a\x00b"))
    wire = json.loads(json.dumps(complaint.to_dict()))
    assert wire["repairs"] == {"body": "a\\u0000b"}
    assert ComplaintReceived.from_dict(wire) == complaint


def test_a_clean_complaint_carries_no_repairs_on_the_wire():
    assert "repairs" not in ComplaintReceived.from_dict(valid()).to_dict()


@pytest.mark.parametrize("field, value", [
    ("customer__email", "a\ud800b@b.co"),
    ("customer__email", "a\x00b@b.co"),
    ("customer__phone", "+35191234\x005678"),
    ("customer__whatsapp", "+3519123\udc805679"),
])
def test_contact_details_with_unstorable_characters_are_refused_not_repaired(field, value):
    with pytest.raises(ContractError) as caught:
        ComplaintReceived.from_dict(with_fields(**{field: value}))
    assert caught.value.errors == {field.replace("__", "."): "contains a character that is not text "
                                                             "(NUL or a lone surrogate)"}


def test_ids_with_unstorable_characters_stay_distinct():
    one = ComplaintReceived.from_dict(with_fields(external_id="<a\ud800@x>"))
    two = ComplaintReceived.from_dict(with_fields(external_id="<a\ud801@x>"))
    assert one.external_id == "<a\\ud800@x>" and two.external_id == "<a\\ud801@x>"
    threaded = ComplaintReceived.from_dict(with_fields(threading__references=["<ok@x>", "<b\x00@x>"]))
    assert threaded.threading.references == ("<ok@x>", "<b\\u0000@x>")


def test_a_language_tag_longer_than_any_real_one_is_refused():
    with pytest.raises(ContractError) as caught:
        ComplaintReceived.from_dict(with_fields(language="en" + "-abcdefgh" * 4))
    assert caught.value.errors["language"].startswith("too long")


def test_an_address_with_control_characters_is_not_an_email_address():
    with pytest.raises(ContractError) as caught:
        ComplaintReceived.from_dict(with_fields(customer__email="ana\x07@example.com"))
    assert caught.value.errors == {"customer.email": "not an email address"}
