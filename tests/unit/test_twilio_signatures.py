"""Only Twilio gets in: X-Twilio-Signature checked by services/common/twilio_webhooks.py.

The expected signatures of the first tests are the twilio package's own
published test vectors (twilio-python, tests/unit/test_request_validator.py:
auth token "12345", https://mycompany.com/myapp.php?foo=1&bar=2), fed through
our check the way a request reaches it behind a proxy: the public base URL
from configuration, the path and query as the app received them. The intakes
over real HTTP behind a proxy are tests/integration/common/test_twilio_signatures_behind_a_proxy.py.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from services.common.channels.twilio_webhooks import TwilioSignatureCheck, public_url
from testkit.twilio_requests import AUTH_TOKEN

VECTOR_TOKEN = "12345"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
                 "To": "+18005551212", "Caller": "+14158675309"}
VECTOR_QUERY = "foo=1&bar=2"


@pytest.mark.parametrize("base, signature", [
    ("https://mycompany.com", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),        # signed without a port
    ("https://mycompany.com:1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),   # configured with a port, signed without
    ("http://mycompany.com:1234", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),    # signed with the port
    ("https://mycompany.com", "kvajT1Ptam85bY51eRf/AJRuM3w="),        # signed with the default port 443
    ("http://mycompany.com", "0ZXoZLH/DfblKGATFgpif+LLRf4="),         # signed with the default port 80
])
def test_twilios_published_vectors_pass(base, signature):
    check = TwilioSignatureCheck(VECTOR_TOKEN, base)
    assert check.is_valid("/myapp.php", VECTOR_QUERY.encode(), VECTOR_PARAMS, signature)


def test_twilios_vector_with_repeated_parameters_passes_as_flask_parses_them():
    params = MultiDict([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")])
    check = TwilioSignatureCheck(VECTOR_TOKEN, "https://mycompany.com")
    assert check.is_valid("/myapp.php", VECTOR_QUERY, params, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_twilios_vector_for_a_json_body_passes():
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    check = TwilioSignatureCheck(VECTOR_TOKEN, "https://mycompany.com")
    assert check.is_valid("/myapp.php", f"{VECTOR_QUERY}&bodySHA256={body_hash}",
                          '{"property": "value", "boolean": true}', "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not check.is_valid("/myapp.php", f"{VECTOR_QUERY}&bodySHA256={body_hash}",
                              '{"property": "other", "boolean": true}', "a9nBmqA0ju/hNViExpshrM61xv4=")


@pytest.mark.parametrize("change", [
    {"token": "54321"},                                       # another account's token
    {"base": "https://evil.example.com"},                     # signed for another host
    {"path": "/other.php"},                                   # another path
    {"query": "foo=1&bar=3"},                                 # a query parameter changed
    {"params": {**VECTOR_PARAMS, "Digits": "9999"}},          # a form field changed
    {"signature": ""},                                        # no signature
    {"token": None},                                          # no auth token configured: nothing passes
])
def test_anything_changed_after_signing_fails(change):
    token = change.get("token", VECTOR_TOKEN)
    check = TwilioSignatureCheck(token, change.get("base", "https://mycompany.com"))
    signature = change.get("signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not check.is_valid(change.get("path", "/myapp.php"), change.get("query", VECTOR_QUERY),
                              change.get("params", VECTOR_PARAMS), signature)


def test_the_public_url_is_the_base_then_what_the_app_received():
    assert public_url("https://example.com/whatsapp/", "/messages", b"a=1&b=%20") == \
        "https://example.com/whatsapp/messages?a=1&b=%20"
    assert public_url("https://example.com/voice", "/calls", "") == "https://example.com/voice/calls"
    with pytest.raises(ValueError):
        TwilioSignatureCheck(AUTH_TOKEN, "example.com/voice")
