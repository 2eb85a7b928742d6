"""The content an idempotency key is bound to (services/intake_chat/fingerprint.py):
a genuine retry has the fingerprint of the first post, anything a customer
would call another complaint has another, and the fingerprint tells nothing
of what was written."""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake_chat import form
from services.intake_chat.fingerprint import (
    COMPLAINT,
    COMPLAINT_FIELDS,
    MESSAGE,
    canonical,
    complaint_content,
    fingerprint,
    message_content,
)

SECRET = "fingerprint-test-secret"
PROPERTY = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 200)), deadline=None)
ANA = {"name": "Ana Silva", "email": "ana@example.org", "phone": "+351912345678", "anonymous": False,
       "subject": "Charged twice", "body": "I was charged twice for order 1234.", "category": "billing",
       "language": "pt", "country": "PT"}

text = st.one_of(st.none(), st.text(st.characters(exclude_categories=()), max_size=40))   # surrogates too
contents = st.fixed_dictionaries({name: (st.booleans() if name == "anonymous" else text) for name in COMPLAINT_FIELDS})


def fp(content, kind=COMPLAINT, secret=SECRET):
    return fingerprint(kind, content, secret)


# --- a retry is the same content ----------------------------------------------------------


@PROPERTY
@given(contents, st.randoms())
def test_the_order_of_the_fields_does_not_matter(content, rnd):
    shuffled = list(content.items())
    rnd.shuffle(shuffled)
    assert fp(dict(shuffled)) == fp(content)


@PROPERTY
@given(contents, st.sampled_from(["", " ", "\t", "\n", " \r\n"]))
def test_surrounding_blanks_and_line_endings_never_change_it(content, pad):
    def resent(value):
        if not isinstance(value, str) or "\r" in value:
            return value
        return pad + value.replace("\n", "\r\n") + pad   # as a browser's textarea sends it

    assert fp({name: resent(value) for name, value in content.items()}) == fp(content)


def test_what_looks_the_same_is_the_same():
    # A browser sends a textarea with CRLF, a program with LF; composed and decomposed accents look alike.
    retry = {**ANA, "body": "  I was charged twice\r\nfor order 1234.  ", "name": unicodedata.normalize("NFD", "Ána")}
    first = {**ANA, "body": "I was charged twice\nfor order 1234.", "name": "Ána"}
    assert fp(retry) == fp(first)


def test_broken_text_as_sent_has_a_fingerprint_of_its_own():
    # A JSON body may carry a lone surrogate; it is repaired later, by the tickets service.
    assert fp({**ANA, "body": "x\ud800 y"}) != fp({**ANA, "body": "x\udfff y"}) != fp({**ANA, "body": "x\ufffd y"})
    assert fp({**ANA, "body": "nul\x00"}) != fp({**ANA, "body": "nul"})


def test_an_absent_field_is_absent_however_it_is_left_out():
    without_subject = {k: v for k, v in ANA.items() if k != "subject"}
    assert fp({**ANA, "subject": None}) == fp({**ANA, "subject": ""}) == fp({**ANA, "subject": "   "}) \
        == fp(without_subject)


def test_a_form_post_and_its_retry_from_the_parsed_complaint_agree():
    fields = {"name": " Ana Silva ", "email": "ana@example.org", "phone": "+351 912 345 678",
              "subject": "Charged twice", "body": "I was charged twice.", "category": "billing",
              "submission_id": "a" * 32}
    first = form.parse(fields, SECRET)
    retry = form.parse({**fields, "phone": "00351912345678", "name": "Ana Silva"}, SECRET)
    assert first.intake_id == retry.intake_id
    assert fp(complaint_content(first, "PT")) == fp(complaint_content(retry, "PT"))


# --- another complaint is another content ---------------------------------------------------


@pytest.mark.parametrize("field, other", [
    ("body", "My parcel never came."), ("email", "bruno@example.org"), ("name", "Bruno"),
    ("phone", "+351912345679"), ("subject", "Charged three times"), ("category", "delivery"),
    ("language", "en"), ("country", "ES"), ("anonymous", True), ("body", "I was charged twice for order 1235."),
])
def test_any_field_a_customer_typed_differently_changes_the_fingerprint(field, other):
    assert fp({**ANA, field: other}) != fp(ANA)


def test_text_cannot_move_between_fields_unnoticed():
    assert fp({**ANA, "subject": "Charged", "body": "twice"}) != fp({**ANA, "subject": "Charged twice", "body": ""})
    assert fp({**ANA, "name": "Ana", "email": None}) != fp({**ANA, "name": None, "email": "Ana"})


def test_a_message_and_a_complaint_with_one_text_differ():
    assert fp({"body": "Hello"}, MESSAGE) != fp({"body": "Hello"}, COMPLAINT)


def test_a_follow_up_counts_its_text_only():
    first = form.follow_up("C-ABCDEFGHJK", {"body": "Any news?", "message_id": "m" * 16}, SECRET, "chat")
    again = form.follow_up("C-ABCDEFGHJK", {"body": "Any news?", "message_id": "m" * 16}, SECRET, "chat")
    edited = form.follow_up("C-ABCDEFGHJK", {"body": "Any news??", "message_id": "m" * 16}, SECRET, "chat")
    assert fp(message_content(first), MESSAGE) == fp(message_content(again), MESSAGE)
    assert fp(message_content(edited), MESSAGE) != fp(message_content(first), MESSAGE)


@PROPERTY
@given(contents, st.sampled_from([name for name in COMPLAINT_FIELDS if name != "anonymous"]),
       st.text(alphabet=st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=5))
def test_any_visible_text_added_to_any_field_changes_the_fingerprint(content, field, extra):
    assert fp({**content, field: (content[field] or "") + extra}) != fp(content)


# --- what the ledger keeps -------------------------------------------------------------------


def test_the_fingerprint_is_an_hmac_that_shows_nothing_of_the_content():
    value = fp(ANA)
    assert len(value) == 64 and int(value, 16) >= 0
    assert fp(ANA, secret="another secret") != value
    # Without the secret, a guess of the content cannot be checked against it.
    assert hashlib.sha256(canonical(COMPLAINT, ANA)).hexdigest() != value


def test_the_canonical_form_is_versioned_json_with_every_field_named():
    document = json.loads(canonical(COMPLAINT, {"body": "Hi"}))
    assert document["v"] == 1 and document["kind"] == COMPLAINT
    assert set(document["fields"]) == set(COMPLAINT_FIELDS)
    assert document["fields"]["body"] == "Hi" and document["fields"]["email"] is None


@pytest.mark.parametrize("kind, content, says", [
    ("receipt", {"body": "x"}, "unknown kind"),
    (MESSAGE, {"body": "x", "email": "a@b.c"}, "email"),
    (COMPLAINT, {"received_at": "2026-01-01"}, "received_at"),
    (COMPLAINT, {"body": 7}, "body: expected text"),
])
def test_a_field_outside_the_recipe_is_a_programming_error_not_ignored(kind, content, says):
    with pytest.raises(ValueError, match=says):
        canonical(kind, content)


def test_only_a_post_with_a_client_key_has_one_to_bind():
    keyed = form.parse({"email": "a@example.org", "body": "x", "submission_id": "k" * 20}, SECRET)
    unkeyed = form.parse({"email": "a@example.org", "body": "x"}, SECRET)
    chat = form.parse({"body": "x", "submission_id": "k" * 20}, SECRET, channel="chat", require_contact=False)
    message = form.follow_up("C-ABCDEFGHJK", {"body": "x", "message_id": "m" * 16}, SECRET, "web")
    assert form.client_key(keyed) == form.client_key(chat) == "k" * 20
    assert form.client_key(unkeyed) is None
    assert form.client_key(message) == "C-ABCDEFGHJK:" + "m" * 16
