"""Only Twilio gets in, over real HTTP: each Twilio intake as its own process
behind a (simulated) proxy, refusing every forgery with a 403 and counting it,
and taking the genuine request. The signature check itself, on Twilio's
published test vectors, is tests/unit/test_twilio_signatures.py."""

from __future__ import annotations

import pytest

from testkit import api
from testkit.twilio_intakes import metric, queued, start_intake
from testkit.twilio_requests import Twilio, sid, whatsapp_message
from testkit.waiting import wait_for

SERVICES = {
    # service: public base, a webhook path, its channel, a request Twilio would send there
    "intake_whatsapp": ("https://example.com/whatsapp", "/messages", "whatsapp",
                        lambda: whatsapp_message("+351912345678", "Signed or not?")),
    "intake_voice": ("https://example.com/voice", "/calls", "voice",
                     lambda: {"CallSid": sid("CA"), "AccountSid": "AC1", "From": "+351912345678",
                              "To": "+351210000000", "CallStatus": "ringing", "Direction": "inbound"}),
}


@pytest.mark.parametrize("name", SERVICES)
def test_a_request_rewritten_by_a_proxy_validates_and_forgeries_are_refused(name, services, rabbit, tmp_path):
    public, path, channel, request = SERVICES[name]
    # The proxy takes https://example.com/<svc>/... and forwards it to 127.0.0.1:<port>/...
    proc, twilio = start_intake(services, name, tmp_path, public)
    signed_locally = Twilio(proc.url, proc.url)   # a signature over the URL the app sees is not Twilio's
    other_account = Twilio(proc.url, public, token="another-accounts-token")

    forged = [
        twilio.post(path, request(), signature=None),
        twilio.post(path, request(), signature="RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        signed_locally.post(path, request()),
        other_account.post(path, request()),
    ]
    fields = request()
    tampered = twilio.post(path, {**fields, "From": "+15550001111"}, signature=twilio.signature(path, fields))
    forged.append(tampered)

    assert [r.status_code for r in forged] == [403] * 5
    assert all("signed by Twilio" in r.text for r in forged)
    assert metric(proc.url, "complaints_intake_rejected_total", channel=channel, reason="bad_signature") == 5
    assert queued(rabbit) == []
    # Probes need no signature.
    assert api.get(f"{proc.url}/health/live", timeout=5).status_code == 200

    genuine = twilio.post(path + "?attempt=1", request())
    assert genuine.status_code == 200, genuine.text
    if name == "intake_whatsapp":
        wait_for(lambda: len(queued(rabbit)) == 1, timeout=20, message="only the genuine message published")
    assert metric(proc.url, "complaints_intake_rejected_total", channel=channel, reason="bad_signature") == 5
