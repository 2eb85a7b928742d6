"""The phone intake's part of privacy on its table (SQLite and PostgreSQL, migrated):
an erased caller's numbers become pseudonyms, the recording's link and transcription
go, the recording at Twilio is deleted (or reported as kept there), a call of a
ticket on legal hold is kept; retention does the same to old calls. And the running
service answers an erasure request from its queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contract.events import SubjectErasureRequested
from services.common.privacy.retention import Retention
from services.common.privacy.subject import Subject
from services.common.storage.db import make_engine
from services.intake_voice.migrate import upgrade
from services.intake_voice.privacy import VoicePrivacy
from services.intake_voice.store import VoiceStore
from testkit.privacy_events import ask_erasure, report_of
from testkit.privacy_scan import Person, in_database
from testkit.twilio_requests import AUTH_TOKEN

BEA = Person("beatriz.quental@example.pt", "+351913572468", "Beatriz Quental")


def reference_of(call_sid: str) -> str:
    return f"C-{call_sid[-10:].upper()}"


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield VoiceStore(engine)
    engine.dispose()


def voicemail(store, caller=BEA.phone, **fields) -> str:
    call_sid = "CA" + uuid.uuid4().hex
    store.open(call_sid, from_raw=caller, to="+15005550006")
    values = {"recording_sid": "RE" + uuid.uuid4().hex, "recording_url": "https://api.twilio.com/rec/1",
              "transcription": f"This is {BEA.name}, call me back on 913 572 468.", "callback_number": caller}
    store.save(call_sid, **{**values, **fields})
    return call_sid


def request(held=(), **who) -> SubjectErasureRequested:
    return SubjectErasureRequested("r-1", Subject.given(**who).identifiers(), (), "operator:dpo",
                                   datetime.now(UTC).isoformat(), tuple(held))


def test_an_erased_callers_calls_keep_nothing_of_them_and_their_recordings_go(store):
    deleted = []
    privacy = VoicePrivacy(store.engine, reference_of, deleted.append)
    voicemail(store)
    other = voicemail(store, caller="+447700900123", transcription="Carla here.")
    report = {(e.table, e.action): e.rows for e in privacy.erase(request(phone=BEA.phone))}
    assert report == {("voice_calls", "pseudonymised"): 1, ("recordings at Twilio", "deleted"): 1}
    assert len(deleted) == 1 and in_database(BEA, store.engine) == {}
    assert store.get(other).call.transcription == "Carla here."  # the other caller's call stays
    assert {(e.table, e.action) for e in privacy.erase(request(phone=BEA.phone))} == {("voice_calls", "none")}


def test_without_a_twilio_account_the_recording_is_reported_as_kept_there(store):
    voicemail(store)
    report = VoicePrivacy(store.engine, reference_of).erase(request(phone=BEA.phone))
    [kept] = [e for e in report if e.action == "kept"]
    assert kept.table == "recordings at Twilio" and "Twilio's console" in kept.reason
    assert in_database(BEA, store.engine) == {}  # the link to it is all that stays


def test_a_call_of_a_ticket_on_legal_hold_is_kept(store):
    call_sid = voicemail(store)
    report = VoicePrivacy(store.engine, reference_of).erase(request(held=(reference_of(call_sid),), phone=BEA.phone))
    assert [(e.table, e.action, e.rows) for e in report if e.action == "kept"] == [("voice_calls", "kept", 1)]
    assert store.get(call_sid).call.caller == BEA.phone


def test_retention_erases_old_calls_only(store):
    deleted = []
    old = voicemail(store)
    privacy = VoicePrivacy(store.engine, reference_of, deleted.append)
    assert privacy.retain(datetime.now(UTC), Retention()) == {}
    done = privacy.retain(datetime.now(UTC) + timedelta(days=91), Retention())
    assert done[("voice_calls", "pseudonymised")] == 1 and len(deleted) == 1
    assert store.get(old).call.transcription == "[erased]"


def test_the_running_intake_answers_an_erasure_from_its_queue(services, rabbit, tmp_path):
    url = f"sqlite:///{tmp_path / 'intake_voice.db'}"
    services.start("intake_voice", TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_VOICE_URL="https://example.com/voice",
                   INTAKE_VOICE_DATABASE_URL=url, INTAKE_VOICE_WORKERS=1)
    engine = make_engine(url)
    voicemail(VoiceStore(engine))
    request_id = ask_erasure(rabbit, "intake_voice", phone=BEA.phone)
    assert report_of(rabbit, request_id, "intake_voice")[("voice_calls", "pseudonymised")] == 1
    assert in_database(BEA, engine) == {}
    engine.dispose()
