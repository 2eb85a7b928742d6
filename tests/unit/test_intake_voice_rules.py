"""The phone intake's rules without the service: menu choices by key or by
speech, typed callback numbers, callback windows, the contract's callback
block, and which recording fields are kept. The intake as Twilio and a caller
see it is tests/integration/intake_voice."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.common.contract.complaint import ComplaintReceived, ContractError
from services.intake_voice import callbacks, ivr
from testkit.twilio_requests import RECORDING_URL, recording_params

CALLER = "+351912345678"


def test_menu_choices_by_key_or_by_speech():
    assert ivr.choose("category", "3", None) == "delivery"
    assert ivr.choose("category", None, "It is about my BILL") == "billing"
    assert ivr.choose("category", "9", "mumble") is None
    assert ivr.choose("language", "", "português por favor") == "pt"
    assert ivr.choose("mode", None, "please call me back") == "callback"
    assert ivr.choose("confirm", None, "no") == "other_number"   # not fooled by "another" inside words
    assert ivr.choose("window", None, "tonight") is None


def test_typed_callback_numbers_become_e164_or_nothing():
    assert ivr.typed_number("00351912345678") == "+351912345678"
    assert ivr.typed_number("351912345678#") == "+351912345678"
    assert ivr.typed_number("123") is None
    assert ivr.typed_number("0912345678") is None   # no country code
    assert ivr.caller_number("anonymous") is None
    assert ivr.caller_number("+266696687") == "+266696687"


def test_callback_windows_are_the_next_slot_not_yet_over():
    zone = ZoneInfo("Europe/Lisbon")
    slots = ivr.parse_slots("09-12,12-18,18-21")
    before = datetime(2026, 7, 1, 7, 30, tzinfo=zone)
    assert ivr.callback_window("morning", before, zone, slots) == \
        ("2026-07-01T09:00:00+01:00", "2026-07-01T12:00:00+01:00")
    during = datetime(2026, 7, 1, 10, 0, tzinfo=zone)
    assert ivr.callback_window("morning", during, zone, slots)[0] == "2026-07-01T09:00:00+01:00"
    after = datetime(2026, 12, 31, 13, 0, tzinfo=zone)
    assert ivr.callback_window("morning", after, zone, slots) == \
        ("2027-01-01T09:00:00+00:00", "2027-01-01T12:00:00+00:00")
    assert ivr.callback_window("any", after, zone, slots) == (None, None)
    with pytest.raises(ValueError):
        ivr.parse_slots("9-12,12-18")


def _voice_complaint(callback) -> dict:
    return {"schema_version": 1, "intake_id": "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "channel": "voice",
            "external_id": "CA1", "received_at": "2026-07-01T10:00:00+00:00", "customer": {"phone": CALLER},
            "extras": {"callback": callback}}


def test_the_contract_checks_the_callback_block():
    good = {"number": "+447700900123", "window_start": "2026-07-01T09:00:00+01:00",
            "window_end": "2026-07-01T12:00:00+01:00"}
    assert ComplaintReceived.from_dict(_voice_complaint(good)).extras["callback"] == good
    assert ComplaintReceived.from_dict(_voice_complaint({"number": CALLER, "window_start": None,
                                                         "window_end": None}))
    with pytest.raises(ContractError) as caught:
        ComplaintReceived.from_dict(_voice_complaint({"number": "0912", "window_start": "tomorrow",
                                                      "window_end": "2026-07-01T12:00:00"}))
    assert set(caught.value.errors) == {"extras.callback.number", "extras.callback.window_start",
                                        "extras.callback.window_end"}
    with pytest.raises(ContractError) as caught:
        ComplaintReceived.from_dict(_voice_complaint({**good, "window_end": good["window_start"]}))
    assert caught.value.errors == {"extras.callback.window_end": "must be after window_start"}
    with pytest.raises(ContractError):
        ComplaintReceived.from_dict(_voice_complaint("call me"))


@pytest.mark.parametrize("sent, seconds", [("42", 42), (" 7 ", 7), ("0", 0), ("86400", 86400), ("86401", None),
                                           ("²", None), ("٣", None), ("-3", None), ("x", None), ("2147483648", None),
                                           ("99999999999999999999", None)])
def test_a_recording_duration_is_ascii_seconds_up_to_a_day_or_nothing(sent, seconds):
    assert callbacks.duration_seconds(sent) == seconds


def test_recording_fields_twilio_could_never_send_are_left_out_and_named():
    kept = callbacks.recording({"RecordingUrl": "https://x.example/" + "r" * 2000, "RecordingSid": "RE" + "1" * 300,
                                "RecordingDuration": "²"})
    assert kept.fields == {}
    assert set(kept.dropped) == {"RecordingUrl", "RecordingSid", "RecordingDuration"}
    assert "2018 characters" in kept.dropped["RecordingUrl"] and "'\\\\u00b2'" in kept.dropped["RecordingDuration"]
    good = callbacks.recording(recording_params("CA1", "RE" + "a" * 32, duration="17"))
    assert good.dropped == {}
    assert good.fields == {"recording_url": RECORDING_URL + "RE" + "a" * 32, "recording_sid": "RE" + "a" * 32,
                           "recording_duration": 17}
    assert callbacks.recording({"RecordingUrl": "javascript:alert(1)"}).fields == {}
