"""Whatever reaches the Twilio webhooks, nobody gets a server error: a body
Twilio could not have signed is refused 403, an oversized one 413, fields
Twilio could not have sent 400, and what is left is taken (or 503 while a
peer is down). Real service processes, over HTTP, on SQLite and PostgreSQL
(which, unlike SQLite, refuses NUL and over-long values).

The property tests send what hypothesis makes up: any content type, body and
headers unsigned, and any form fields signed with the right token (so they
reach the routes themselves).
"""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from testkit import api
from testkit.twilio_intakes import queued, start_intake
from testkit.twilio_requests import sid, whatsapp_message

WHATSAPP = ("intake_whatsapp", "https://example.com/whatsapp", ("/messages", "/status"))
VOICE = ("intake_voice", "https://example.com/voice",
         ("/calls", "/ivr/language", "/ivr/category", "/ivr/mode", "/ivr/confirm", "/ivr/number", "/ivr/window",
          "/recording", "/recording-status", "/transcription", "/status"))
SERVICES = {"intake_whatsapp": WHATSAPP, "intake_voice": VOICE}

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(params=list(SERVICES))
def webhook(request, database_url, services, rabbit, tmp_path):
    """(service name, its paths, the Twilio that calls it), its tables in `database_url`."""
    name, public, paths = SERVICES[request.param]
    proc, twilio = start_intake(services, name, tmp_path, public, **{f"{name.upper()}_DATABASE_URL": database_url})
    return name, paths, twilio


def post_signed(twilio, path: str, fields: list[tuple[str, str]], **kwargs) -> requests.Response:
    """Form fields (names may repeat) signed as Twilio signs them."""
    signature = twilio.validator.compute_signature(twilio.public_url + path, MultiDict(fields))
    return api.post(twilio.local_url + path, data=fields, timeout=20,
                         headers={"X-Twilio-Signature": signature}, **kwargs)


# --- bodies Twilio never signs --------------------------------------------------------


@pytest.mark.parametrize("content_type, body", [
    ("application/json", json.dumps({"MessageSid": "SM1", "CallSid": "CA1", "From": "whatsapp:+351912345678"})),
    ("text/plain", "MessageSid=SM1&From=whatsapp:+351912345678"),
    ("application/octet-stream", b"\xff\xfe\x00garbage"),
    ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"),
])
def test_a_body_twilio_could_not_have_signed_is_refused_403_not_a_server_error(webhook, rabbit, content_type, body):
    name, paths, twilio = webhook
    for path in paths:
        resp = api.post(twilio.local_url + path, data=body, timeout=20,
                             headers={"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmVk"})
        assert resp.status_code == 403, f"{path}: {resp.status_code} {resp.text[:200]}"
        assert "signed by Twilio" in resp.text
    assert queued(rabbit) == []


def test_an_oversized_signed_body_is_refused_413(webhook, rabbit):
    name, paths, twilio = webhook
    resp = post_signed(twilio, paths[0], [("MessageSid", sid("SM")), ("CallSid", sid("CA")),
                                          ("Body", "x" * 300_000)])
    assert resp.status_code == 413
    assert queued(rabbit) == []


def test_signed_fields_twilio_could_not_have_sent_get_a_4xx_naming_them(webhook, rabbit):
    name, paths, twilio = webhook
    if name == "intake_whatsapp":
        fields = whatsapp_message("+351912345678", "hello", MessageSid="SM\x00" + "f" * 100)
        resp = post_signed(twilio, "/messages", list(fields.items()))
        assert resp.status_code == 400 and "MessageSid" in resp.text, resp.text
    else:
        resp = post_signed(twilio, "/calls", [("CallSid", "CA\x00" + "f" * 100), ("From", "+351912345678")])
        assert resp.status_code == 400 and "CallSid" in resp.text, resp.text
    assert queued(rabbit) == []


# --- anything at all ------------------------------------------------------------------------

HEADER_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60)


@PROPERTY
@given(data=st.data())
def test_no_unsigned_request_of_any_kind_gets_a_server_error(webhook, data):
    name, paths, twilio = webhook
    path = data.draw(st.sampled_from(paths), label="path")
    content_type = data.draw(st.one_of(
        st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", "text/xml",
                         "multipart/form-data", "application/x-www-form-urlencoded; charset=latin-1", ""]),
        HEADER_TEXT), label="content type")
    body = data.draw(st.binary(max_size=2000), label="body")
    query = data.draw(st.sampled_from(["", "?attempt=2", "?attempt=x", "?bodySHA256=abc", "?a=%ff&a=%00"]))
    headers = {"Content-Type": content_type}
    signature = data.draw(st.one_of(st.none(), HEADER_TEXT), label="signature")
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    resp = api.post(twilio.local_url + path + query, data=body, headers=headers, timeout=20)
    assert resp.status_code < 500, f"{path}{query}: {resp.status_code} {resp.text[:300]}"


FIELD_NAMES = ("MessageSid", "SmsMessageSid", "CallSid", "From", "To", "Body", "NumMedia", "MediaUrl0",
               "MediaContentType0", "ProfileName", "WaId", "Latitude", "Longitude", "MessageStatus", "ErrorCode",
               "Digits", "SpeechResult", "RecordingUrl", "RecordingSid", "RecordingDuration", "RecordingStatus",
               "TranscriptionStatus", "TranscriptionText", "CallStatus")
PLAUSIBLE = ("whatsapp:+351912345678", "+351912345678", "anonymous", "1", "2", "11", "completed", "ringing",
             "https://api.twilio.com/rec/RE1", "00351912345678#", "delivered", "failed")
VALUES = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=30), st.text(min_size=65, max_size=400),
                   st.builds(lambda: sid("SM")), st.builds(lambda: sid("CA")), st.just("CA" + "0" * 32))


@PROPERTY
@given(data=st.data())
def test_no_signed_form_of_any_fields_gets_a_server_error(webhook, data):
    name, paths, twilio = webhook
    path = data.draw(st.sampled_from(paths), label="path")
    names = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=20))
    # Mostly a plausible request with some fields changed, repeated or added, so
    # that the routes' own work is reached, not only their first check.
    base = data.draw(st.sampled_from([[], [("MessageSid", sid("SM")), ("From", "whatsapp:+351912345678")],
                                      [("CallSid", sid("CA")), ("From", "+351912345678")]]), label="base")
    fields = base + data.draw(st.lists(st.tuples(names, VALUES), max_size=12), label="fields")
    resp = post_signed(twilio, path, fields)
    # Every peer is up: a 503 here would be a database refusing what the intake let through.
    assert resp.status_code < 500, f"{path} {fields!r}: {resp.status_code} {resp.text[:300]}"
