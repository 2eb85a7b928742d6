"""The phone intake as Twilio and a caller see it: every webhook signed and
sent over real HTTP to the service process, every TwiML answer parsed and
followed the way Twilio follows it, a real RabbitMQ behind, and the tickets
service turning what is published into tickets."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.common.messaging import topology
from services.intake_voice import complaints
from services.intake_voice.outcomes import Outcomes, Refused
from testkit import api
from testkit.fake_twilio import FakeTwilio
from testkit.ports import free_port
from testkit.twilio_intakes import metric, queued, start_intake, ticket
from testkit.twilio_requests import RECORDING_URL as RECORDING
from testkit.twilio_requests import recording_params, sid, twiml
from testkit.waiting import wait_for

PUBLIC = "https://example.com/voice"
CALLER = "+351912345678"
OUR_NUMBER = "+351210000000"


def start_voice(services, tmp_path, **env):
    return start_intake(services, "intake_voice", tmp_path, PUBLIC, **env)


def call_params(call_sid, status="in-progress", caller=CALLER, **extra) -> dict:
    """What Twilio posts with every request about a call."""
    return {"CallSid": call_sid, "AccountSid": "AC" + "0" * 32, "From": caller, "Caller": caller,
            "To": OUR_NUMBER, "Called": OUR_NUMBER, "CallStatus": status, "Direction": "inbound",
            "ApiVersion": "2010-04-01", **extra}


def the(root, tag):
    [element] = root.iter(tag)
    return element


def says(root) -> list[tuple[str, str]]:
    return [(say.get("language"), say.text) for say in root.iter("Say")]


def spoken_reference(root) -> str:
    """The reference the caller heard, read out one symbol at a time."""
    text = " ".join(t for _, t in says(root))
    spelled = text.split("C, ", 1)[1].split(".")[0]
    return "C-" + spelled.replace(", ", "")


def queue_drained(rabbit):
    return rabbit.queue_depth(topology.COMPLAINTS_QUEUE) == 0


# --- a voicemail, and its transcription arriving late --------------------------------------


def test_a_call_walks_the_menu_leaves_a_voicemail_and_the_late_transcription_joins_its_ticket(
        tmp_path, database_url, tickets, services, rabbit):
    # The intake's own table in the same database as the tickets service's (SQLite, then PostgreSQL).
    proc, twilio = start_voice(services, tmp_path, INTAKE_VOICE_DATABASE_URL=database_url,
                               VOICE_MAX_RECORDING_SECONDS=120)
    call_sid, recording_sid = sid("CA"), sid("RE")

    # 1. The call comes in: the language menu, in both languages, keys or speech.
    root = twiml(twilio.post("/calls", call_params(call_sid, status="ringing")))
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/language?attempt=1"
    assert (gather.get("input"), gather.get("numDigits"), gather.get("actionOnEmptyResult")) == \
        ("dtmf speech", "1", "true")
    assert ("en-US", "Thank you for calling. For English, press 1.") in says(root)
    assert ("pt-BR", "Para português, prima 2.") in says(root)

    # 2. Portuguese by key: the category menu, in Portuguese.
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, Digits="2")))
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/category?attempt=1"
    assert gather.get("language") == "pt-BR"
    assert "Faturação, prima 1" in says(root)[0][1]

    # 3. The category by speech.
    root = twiml(twilio.follow(gather.get("action"), call_params(
        call_sid, SpeechResult="é sobre a minha fatura", Confidence="0.91")))
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/mode?attempt=1"
    assert says(root) == [("pt-BR", "Para nos deixar uma mensagem, prima 1. Para que lhe liguemos, prima 2.")]

    # 4. A message: Record, with transcription and the callbacks Twilio will call.
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, Digits="1")))
    record = the(root, "Record")
    assert record.get("action") == f"{PUBLIC}/recording"
    assert (record.get("transcribe"), record.get("transcribeCallback")) == ("true", f"{PUBLIC}/transcription")
    assert record.get("recordingStatusCallback") == f"{PUBLIC}/recording-status"
    assert (record.get("maxLength"), record.get("finishOnKey"), record.get("playBeep")) == ("120", "#", "true")
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]

    # 5. The recording ends: the caller hears the reference, and the ticket exists.
    recorded = call_params(call_sid, **recording_params(call_sid, recording_sid))
    root = twiml(twilio.follow(record.get("action"), recorded))
    assert root[-1].tag == "Hangup"
    reference = spoken_reference(root)
    found = wait_for(lambda: ticket(tickets, reference), timeout=20, message="the voicemail's ticket")
    assert (found["channel"], found["category"], found["language"]) == ("voice", "billing", "pt")
    assert found["customer"]["phone"] == CALLER
    [voicemail] = found["messages"]
    assert voicemail["external_id"] == call_sid
    assert voicemail["attachments"][0]["url"] == RECORDING + recording_sid
    assert voicemail["attachments"][0]["content_type"] == "audio/wav"
    assert voicemail["extras"] == {
        "call_sid": call_sid, "recording_url": RECORDING + recording_sid, "recording_duration": 42,
        "transcription": None, "ivr": {"category": "billing", "language": "pt"}, "missed_call": False}

    # 6. The recording status and the end of the call add nothing (it is one complaint per call).
    assert twilio.post("/recording-status", {"CallSid": call_sid, "AccountSid": "AC1", "RecordingStatus": "completed",
                                             **recording_params(call_sid, recording_sid)}).status_code == 204
    assert twilio.post("/status", call_params(call_sid, status="completed", CallDuration="70")).status_code == 204

    # 7. The transcription comes late, twice (a retry): once on the same ticket.
    late = call_params(call_sid, status="completed", TranscriptionSid=sid("TR"), TranscriptionStatus="completed",
                       TranscriptionText="Fui cobrado duas vezes pela encomenda 1234.",
                       **recording_params(call_sid, recording_sid))
    assert twilio.post("/transcription", late).status_code == 204
    assert twilio.post("/transcription", late).status_code == 204
    wait_for(lambda: len(ticket(tickets, reference)["messages"]) == 2, timeout=20, message="the transcription")
    wait_for(lambda: queue_drained(rabbit), timeout=20, message="every delivery consumed")
    messages = ticket(tickets, reference)["messages"]
    assert len(messages) == 2
    assert messages[1]["external_id"] == f"{call_sid}:transcription"
    assert messages[1]["body"] == "Fui cobrado duas vezes pela encomenda 1234."
    assert messages[1]["threaded_via"] == "verified_reference"
    assert messages[1]["extras"]["transcription"] == "Fui cobrado duas vezes pela encomenda 1234."
    assert metric(proc.url, "complaints_voice_calls_total", kind="voicemail") == 1
    assert metric(proc.url, "complaints_voice_calls_total", kind="missed") == 0


def test_a_transcription_that_comes_before_the_recording_callbacks_is_in_the_one_message(
        tmp_path, tickets_sqlite, services, rabbit):
    proc, twilio = start_voice(services, tmp_path)
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.post("/calls", call_params(call_sid)))
    twiml(twilio.post("/ivr/language?attempt=1", call_params(call_sid, Digits="1")))
    twiml(twilio.post("/ivr/category?attempt=1", call_params(call_sid, Digits="3")))
    twiml(twilio.post("/ivr/mode?attempt=1", call_params(call_sid, Digits="1")))

    # Twilio's callbacks in an unusual order: the transcription first.
    assert twilio.post("/transcription", call_params(
        call_sid, TranscriptionStatus="completed", TranscriptionText="My parcel never came.",
        **recording_params(call_sid, recording_sid))).status_code == 204
    root = twiml(twilio.post("/recording", call_params(call_sid, **recording_params(call_sid, recording_sid))))
    assert twilio.post("/recording-status", {"CallSid": call_sid, "RecordingStatus": "completed",
                                             **recording_params(call_sid, recording_sid)}).status_code == 204

    reference = spoken_reference(root)
    found = wait_for(lambda: ticket(tickets_sqlite, reference), timeout=20, message="the ticket")
    wait_for(lambda: queue_drained(rabbit), timeout=20, message="every delivery consumed")
    [message] = ticket(tickets_sqlite, reference)["messages"]
    assert message["body"] == "My parcel never came."
    assert message["extras"]["transcription"] == "My parcel never came."
    assert found["category"] == "delivery"


def test_five_simultaneous_retries_of_a_recording_callback_make_one_ticket_and_one_text_to_the_caller(
        tmp_path, database_url, tickets, services, rabbit):
    # The caller heard the reference on the call; the notifier's SMS writes it down, once.
    fake_twilio = FakeTwilio(free_port()).start()
    try:
        services.start("notifier", DATABASE_URL=f"sqlite:///{tmp_path / 'notifier.db'}",
                       NOTIFIER_SEND_INTERVAL_SECONDS="0.2", **fake_twilio.env())
        proc, twilio = start_voice(services, tmp_path, INTAKE_VOICE_DATABASE_URL=database_url,
                                   INTAKE_VOICE_WORKERS=2, INTAKE_VOICE_THREADS=4)
        call_sid, recording_sid = sid("CA"), sid("RE")
        twiml(twilio.post("/calls", call_params(call_sid)))
        twiml(twilio.post("/ivr/mode?attempt=1", call_params(call_sid, Digits="1")))
        recorded = {"CallSid": call_sid, "RecordingStatus": "completed", **recording_params(call_sid, recording_sid)}
        posts = [("/recording-status", recorded)] * 5
        start = threading.Barrier(len(posts))

        def deliver(post):
            start.wait()
            return twilio.post(*post)

        with ThreadPoolExecutor(len(posts)) as pool:
            answers = list(pool.map(deliver, posts))

        assert [a.status_code for a in answers] == [204] * len(posts)
        assert twilio.post("/status", call_params(call_sid, status="completed")).status_code == 204
        reference = spoken_reference(twiml(twilio.post("/recording", call_params(
            call_sid, **recording_params(call_sid, recording_sid)))))
        found = wait_for(lambda: ticket(tickets, reference), timeout=20, message="the ticket")
        wait_for(lambda: queue_drained(rabbit), timeout=20, message="every delivery consumed")
        assert len(ticket(tickets, reference)["messages"]) == 1 == len(found["messages"])
        texts = wait_for(lambda: fake_twilio.sent(to=CALLER), timeout=20, message="the SMS")
        time.sleep(1)  # a second one would be due within 0.2 s
        assert len(fake_twilio.sent(to=CALLER)) == 1 and reference in texts[0].form["Body"]
    finally:
        fake_twilio.stop()


# --- a callback request ---------------------------------------------------------------


def test_a_callback_request_reaches_the_ticket_with_its_number_and_window(tmp_path, tickets_sqlite, services):
    proc, twilio = start_voice(services, tmp_path, VOICE_CALLBACK_TIMEZONE="Europe/Lisbon",
                               VOICE_CALLBACK_SLOTS="09-12,12-18,18-21")
    call_sid = sid("CA")
    twiml(twilio.post("/calls", call_params(call_sid)))
    twiml(twilio.post("/ivr/language?attempt=1", call_params(call_sid, Digits="1")))
    root = twiml(twilio.post("/ivr/category?attempt=1", call_params(call_sid, Digits="5")))

    # A callback: the caller's own number is read back for confirmation.
    root = twiml(twilio.follow(the(root, "Gather").get("action"), call_params(call_sid, Digits="2")))
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/confirm?attempt=1"
    assert "We will call you back on 3, 5, 1, 9, 1, 2, 3, 4, 5, 6, 7, 8." in says(root)[0][1]

    # Another number, typed on the keypad with 00 and its country code.
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, Digits="2")))
    gather = the(root, "Gather")
    assert (gather.get("action"), gather.get("finishOnKey"), gather.get("input")) == \
        (f"{PUBLIC}/ivr/number?attempt=1", "#", "dtmf")
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, Digits="123")))  # too short: again
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/number?attempt=2"
    assert says(root)[0][1] == "Sorry, that is not a number we can call."
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, Digits="00447700900123")))
    gather = the(root, "Gather")
    assert gather.get("action") == f"{PUBLIC}/ivr/window?attempt=1"

    # In the morning, by speech.
    root = twiml(twilio.follow(gather.get("action"), call_params(call_sid, SpeechResult="In the morning please")))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "We will call you back on 4, 4, 7, 7, 0, 0, 9, 0, 0, 1, 2, 3." in says(root)[0][1]
    reference = spoken_reference(root)

    found = wait_for(lambda: ticket(tickets_sqlite, reference), timeout=20, message="the callback request")
    [message] = found["messages"]
    assert message["subject"] == "Callback request"
    callback = message["extras"]["callback"]
    assert callback["number"] == "+447700900123"
    start, end = (datetime.fromisoformat(callback[k]) for k in ("window_start", "window_end"))
    lisbon = ZoneInfo("Europe/Lisbon")
    assert (start.astimezone(lisbon).hour, end.astimezone(lisbon).hour) == (9, 12)
    assert datetime.now(UTC) < end  # the next morning slot that has not ended yet
    assert message["extras"]["ivr"] == {"category": "service", "language": "en"}
    assert found["customer"]["phone"] == CALLER

    # The end of the call makes no second complaint.
    assert twilio.post("/status", call_params(call_sid, status="completed")).status_code == 204
    assert len(ticket(tickets_sqlite, reference)["messages"]) == 1


# --- calls that end early, menus without an answer, a broker away ------------------------------


def test_a_caller_who_hangs_up_leaves_a_missed_call_with_their_number(tmp_path, tickets_sqlite, services):
    proc, twilio = start_voice(services, tmp_path)
    call_sid = sid("CA")
    twiml(twilio.post("/calls", call_params(call_sid, status="ringing")))

    # Nothing pressed or said: asked again once, then English is taken.
    root = twiml(twilio.post("/ivr/language?attempt=1", call_params(call_sid, Digits="")))
    assert the(root, "Gather").get("action") == f"{PUBLIC}/ivr/language?attempt=2"
    assert says(root)[0] == ("en-US", "Sorry, we did not get that.")
    root = twiml(twilio.post("/ivr/language?attempt=2", call_params(call_sid)))
    assert the(root, "Gather").get("action") == f"{PUBLIC}/ivr/category?attempt=1"

    assert twilio.post("/status", call_params(call_sid, status="completed", CallDuration="9")).status_code == 204

    def missed():
        items = api.get(f"{tickets_sqlite.url}/tickets", params={"channel": "voice"}, timeout=5).json()["items"]
        return items[0] if items else None

    summary = wait_for(missed, timeout=20, message="the missed call's ticket")
    found = ticket(tickets_sqlite, summary["reference"])
    [message] = found["messages"]
    assert message["subject"] == "Missed call"
    assert message["extras"]["missed_call"] is True
    assert message["external_id"] == call_sid
    assert found["customer"]["phone"] == CALLER


def test_missed_calls_can_be_switched_off(tmp_path, services, rabbit):
    proc, twilio = start_voice(services, tmp_path, VOICE_MISSED_CALLS=0)
    call_sid = sid("CA")
    twiml(twilio.post("/calls", call_params(call_sid)))
    assert twilio.post("/status", call_params(call_sid, status="no-answer")).status_code == 204
    assert queued(rabbit) == []


def test_a_call_from_a_portuguese_number_is_region_pt_and_a_withheld_one_takes_the_numbers_region(
        tmp_path, services, rabbit):
    proc, twilio = start_voice(services, tmp_path, VOICE_NUMBER_REGION="ES")
    portuguese, withheld = sid("CA"), sid("CA")
    for call_sid, caller in ((portuguese, CALLER), (withheld, "anonymous")):
        twiml(twilio.post("/calls", call_params(call_sid, caller=caller)))
        assert twilio.post("/status", call_params(call_sid, status="completed", caller=caller)).status_code == 204

    regions = {c.external_id: (c.region, c.region_source) for c in queued(rabbit)}
    assert regions == {portuguese: ("pt", "caller +351 (PT)"), withheld: ("es", "VOICE_NUMBER_REGION")}


def test_a_bad_region_map_stops_the_start(tmp_path, services):
    with pytest.raises(RuntimeError) as failed:
        start_voice(services, tmp_path, REGION_BY_COUNTRY="PT=")
    assert "REGION_BY_COUNTRY: 'PT=' is not KEY=region" in str(failed.value)


def test_without_the_broker_callbacks_get_503_and_twilios_retry_publishes(tmp_path, tickets_sqlite, services,
                                                                          rabbit):
    down, twilio_down = start_voice(services, tmp_path, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio_down.post("/calls", call_params(call_sid)))
    # The caller still hears that the message was recorded: Twilio keeps it, and
    # its recording status callback (answered 503 until confirmed) brings it.
    root = twiml(twilio_down.post("/recording", call_params(call_sid, **recording_params(call_sid, recording_sid))))
    status = {"CallSid": call_sid, "RecordingStatus": "completed", **recording_params(call_sid, recording_sid)}
    refused = twilio_down.post("/recording-status", status)
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0

    # A callback request that cannot be confirmed during the call is not claimed as taken...
    callback_sid = sid("CA")
    twiml(twilio_down.post("/calls", call_params(callback_sid)))
    twiml(twilio_down.post("/ivr/mode?attempt=1", call_params(callback_sid, Digits="2")))
    twiml(twilio_down.post("/ivr/confirm?attempt=1", call_params(callback_sid, Digits="1")))
    root_callback = twiml(twilio_down.post("/ivr/window?attempt=1", call_params(callback_sid, Digits="1")))
    assert says(root_callback)[0][1].startswith("Sorry, we could not confirm your request")
    assert "C, " not in says(root_callback)[0][1]
    down.stop()

    up, twilio_up = start_voice(services, tmp_path)
    assert twilio_up.post("/recording-status", status).status_code == 204
    found = wait_for(lambda: ticket(tickets_sqlite, spoken_reference(root)), timeout=20, message="the voicemail")
    assert found["messages"][0]["attachments"][0]["url"] == RECORDING + recording_sid
    with sqlite3.connect(tmp_path / "intake_voice.db") as db:
        assert db.execute("SELECT primary_kind FROM voice_calls WHERE call_sid = ?", (call_sid,)).fetchone() == \
            ("voicemail",)

    # ...and the end of that call brings it, as a callback request with the caller's number.
    assert twilio_up.post("/status", call_params(callback_sid, status="completed")).status_code == 204
    listed = wait_for(lambda: [t for t in api.get(f"{tickets_sqlite.url}/tickets", timeout=5).json()["items"]
                               if t["subject"] == "Callback request"], timeout=20, message="the callback request")
    [message] = ticket(tickets_sqlite, listed[0]["reference"])["messages"]
    assert message["external_id"] == callback_sid
    assert message["extras"]["callback"] == {"number": CALLER, "window_start": None, "window_end": None}
    assert message["extras"]["missed_call"] is False


# --- what the callbacks keep, and what a refused call leaves behind ----------------------------


def _voice_store(tmp_path):
    from services.common.storage.db import make_engine
    from services.intake_voice import migrate
    from services.intake_voice.store import VoiceStore

    url = f"sqlite:///{tmp_path / 'voice.db'}"
    migrate.upgrade(url)
    return VoiceStore(make_engine(url))


def test_a_transcription_holding_a_nul_is_stored_storable_and_read_back_as_sent(tmp_path):
    store = _voice_store(tmp_path)
    store.open("CA1", CALLER)
    state = store.save("CA1", transcription="Hello\x00world")
    assert state.call.transcription == "Hello\x00world"   # the contract repairs the complaint's copy, and notes it
    complaint = complaints.primary(state.call, complaints.VOICEMAIL, "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60",
                                   state.received_at)
    assert complaint.body == "Hello\ufffdworld" and complaint.repairs["body"] == "Hello\\u0000world"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT transcription FROM voice_calls")).scalar() == "Hello\ufffdworld"
    assert store.save("CA1", transcription="Fine").call.transcription == "Fine"


class _Intake:
    """Publishes nothing: a refused complaint never gets that far."""

    def intake_id(self, key):
        return "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"

    def publish(self, complaint):
        raise AssertionError("published a complaint the contract refused")


def test_a_call_whose_complaint_the_contract_refuses_is_refused_every_time_never_stuck_on_its_claim(tmp_path):
    store = _voice_store(tmp_path)
    outcomes = Outcomes(_Intake(), store)
    store.open("CA1", CALLER)
    store.save("CA1", transcription="x" * 100_001)   # what the views refuse now; any unforeseen refusal alike
    for _ in range(2):
        with pytest.raises(Refused) as caught:
            outcomes.finish("CA1", complaints.VOICEMAIL)
        assert "body" in caught.value.errors
        assert store.get("CA1").primary_kind is None   # the claim was given back
