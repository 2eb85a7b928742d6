"""The promise every intake makes, as a property: whatever an intake answered
2xx for becomes exactly one ticket (or exactly one message on the ticket it
follows up), holding the text the customer sent (NUL and lone surrogates
replaced by U+FFFD, and a note naming the field); whatever it refused was a
4xx saying why, and created nothing; no 5xx, nothing dead-lettered or
quarantined, no error in the tickets service's log. On SQLite and PostgreSQL.

Hypothesis sends arbitrary Unicode (NUL, lone surrogates as JSON escapes,
controls, bidi marks, emoji, combining marks, text at the length limits) and
arbitrary JSON types through every field of the web form, the web chat and its
messages, WhatsApp and the voice callbacks that publish a complaint. The
intakes run in process (their app factories, a real publisher, Flask's test
client); the tickets service is a real process on a real vhost
(testkit/invariant.py).

Examples are derandomized: CI runs the same examples every time, so a red run
reproduces locally and is never a matter of luck; INVARIANT_EXAMPLES raises
the count, and INVARIANT_RANDOM=1 explores new examples, when hunting.

Email (IMAP) is not here yet: its intake is being reworked. It joins as one
more test: deliver a generated message to the test IMAP server
(testkit/imap_server.py), run the intake's poll once, and record each message
it acknowledged with `system.accepted` (the reference from its auto-reply or
from reference_for(intake id)) like the others.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.channels.twilio_ids import is_sid
from services.common.contract.complaint import CATEGORIES
from services.common.contract.reference import reference_for, tracking_token
from services.intake_chat import form
from services.intake_voice import ivr
from services.intake_voice.texts import spelled
from testkit.invariant import (
    ABSENT,
    SECRET,
    Expected,
    System,
    free_texts,
    fresh_or,
    needs_repair,
    nonblank_texts,
    padded,
    repaired,
    spoiled,
    stripped,
    texts,
)

EXAMPLES = int(os.environ.get("INVARIANT_EXAMPLES", 150))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("INVARIANT_RANDOM"),
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])

# --- the web form and the web chat ------------------------------------------------------

NAMES = st.sampled_from(["Ana Silva", "Zoë O'Brien", "محمد", "李雷", " "])
EMAILS = st.one_of(st.emails(), padded(["ana@example.org", "josé@exämple.pt", "a+b@x.io"]))
PHONES = padded(["+351912345678", "00351 912 345 678", "(+44) 7700-900123", "912345678"])
FLAGS = st.one_of(st.booleans(), padded(["true", "no", "on", "0", "maybe"]))
IDS = st.one_of(st.uuids().map(str), texts(max_size=130))

TEXT = free_texts()
COMPLAINT_FIELDS = {
    "name": st.one_of(NAMES, TEXT), "email": EMAILS, "phone": st.one_of(st.just(ABSENT), PHONES),
    "subject": st.one_of(st.just(ABSENT), TEXT), "body": nonblank_texts(),
    "category": st.one_of(st.just(ABSENT), padded(CATEGORIES)),
    "language": st.one_of(st.just(ABSENT), padded(["en", "pt-BR", "EN", "pt-br-x-a"])),
    "anonymous": st.one_of(st.just(ABSENT), FLAGS),
}
# How the body travels: JSON with \u escapes, JSON as raw UTF-8 (a lone surrogate
# cannot be encoded and is sent as its broken bytes), or a urlencoded form.
TRANSPORTS = st.sampled_from(["json", "json-utf8", "form"])
FOLLOW_UPS = st.lists(spoiled({"body": nonblank_texts(), "message_id": fresh_or(IDS)}), max_size=2)


# Here, not in a conftest.py: its name is the one the whole-system fixture of
# tests/conftest.py has, and this module needs its own system instead.
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def system(request, tmp_path_factory):
    """The system on one database, for every test of the module (the last one settles it)."""
    monkeypatch = pytest.MonkeyPatch()
    running = System(request.param, tmp_path_factory.mktemp(f"invariant-{request.param}"))
    try:
        yield running.start(monkeypatch)
    except BaseException:
        print(running.tickets_log()[-8000:] if hasattr(running, "tickets") else "tickets did not start")
        raise
    finally:
        if hasattr(running, "tickets"):
            running.stop()
        monkeypatch.undo()
        print(f"invariant on {request.param}: {running.counts}\nrefused: {running.reasons.most_common()}")


def encode(fields: dict, transport: str) -> tuple[bytes | dict, str]:
    """(the request body, its content type)."""
    present = {k: v for k, v in fields.items() if v is not ABSENT}
    if transport == "form" and not any(isinstance(v, str) and needs_surrogatepass(v) for v in present.values()):
        # A browser's form: strings only (anything else as its JSON text).
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in present.items()}, \
            "application/x-www-form-urlencoded"
    text = json.dumps(present, ensure_ascii=transport != "json-utf8")
    return text.encode("utf-8", "surrogatepass"), "application/json"


def needs_surrogatepass(value: str) -> bool:
    return any(0xD800 <= ord(c) < 0xE000 for c in value)


def as_sent(fields: dict, body) -> dict:
    """The fields as the intake read them: a form sends JSON values as their text, and
    JSON reads back as any parser reads it (an escaped surrogate pair, "\\ud800\\udfff",
    is one character, not two lone surrogates)."""
    if isinstance(body, bytes):
        body = json.loads(body.decode("utf-8", "surrogatepass"))
    return {k: body.get(k, ABSENT) for k in fields}


def is_anonymous(value) -> bool:
    return value is True or isinstance(value, str) and value.strip().lower() in form.TRUE


def expected_complaint(label: str, reference: str, sent: dict, channel: str) -> Expected:
    """What a web or chat complaint the intake accepted must be on its ticket."""
    def given(name):
        value = sent.get(name, ABSENT)
        return None if value is ABSENT else value

    anonymous = is_anonymous(given("anonymous"))
    name = None if anonymous else stripped(given("name"))
    customer = {"name": repaired(name), "anonymous": anonymous,
                "email": None if anonymous else (stripped(given("email")) or "").lower() or None,  # tickets lowercases
                "phone": None if anonymous else form.tidy_phone(stripped(given("phone")))}
    subject, body = stripped(given("subject")), stripped(given("body"))
    repairs = tuple(field for field, value in (("customer.name", name), ("subject", subject), ("body", body))
                    if needs_repair(value))
    return Expected(label, reference, reference, repaired(body) or "", repaired(subject) or "", customer,
                    repairs, channel)


def send_follow_ups(system, intake: str, reference: str, follow_ups: list[dict], channel: str) -> None:  # noqa: F811
    """Further messages on the ticket, as the tracking page or the chat sends them."""
    token = tracking_token(reference, SECRET)
    for message in follow_ups:
        message_id = message["message_id"] or str(uuid.uuid4())
        fields = {"body": message["body"], "message_id": message_id,
                  "channel": channel if channel == "chat" else ABSENT}
        data, content_type = encode(fields, "json")
        fields = as_sent(fields, data)
        resp = system.chat.post(f"/complaints/{reference}/messages?token={quote(token)}", data=data,
                                content_type=content_type)
        label = f"{intake} follow-up {fields!r}"
        if resp.status_code != 202:
            system.refused(intake, resp, fields)
            continue
        assert resp.get_json()["reference"] == reference, label
        external_id = f"{reference}:{stripped(fields['message_id'])}"
        own = reference_for(form.intake_id_for(f"{channel}:{external_id}", SECRET))
        body = stripped(fields["body"])
        system.accepted(intake, Expected(label, reference, own, repaired(body),
                                         repairs=("body",) if needs_repair(body) else (), channel=channel))


@PROPERTY
@given(fields=spoiled({**COMPLAINT_FIELDS, "submission_id": st.one_of(st.just(ABSENT), IDS)}), transport=TRANSPORTS,
       follow_ups=FOLLOW_UPS)
def _web_form(system, fields, transport, follow_ups):  # noqa: F811
    data, content_type = encode(fields, transport)
    resp = system.chat.post("/complaints", data=data, content_type=content_type,
                            headers={"Accept": "application/json"})
    label = f"web form {transport} {fields!r}"
    if resp.status_code != 202:
        system.refused("web form", resp, fields)
        return
    answer = resp.get_json()
    reference = answer["reference"]
    assert answer["tracking_url"].endswith(f"/complaints/{reference}?token={quote(answer['tracking_token'])}")
    system.accepted("web form", expected_complaint(label, reference, as_sent(fields, data), "web"))
    send_follow_ups(system, "web form", reference, follow_ups, "web")


def test_a_web_form_complaint_the_intake_accepted_is_one_ticket_with_the_text_sent(system):  # noqa: F811
    _web_form(system)
    assert system.counts["web form"]["accepted"] > 0


@PROPERTY
@given(fields=spoiled({**COMPLAINT_FIELDS, "chat_id": fresh_or(IDS)}), transport=TRANSPORTS,
       follow_ups=FOLLOW_UPS)
def _chat(system, fields, transport, follow_ups):  # noqa: F811
    fields = {**fields, "chat_id": fields["chat_id"] or str(uuid.uuid4())}
    data, content_type = encode(fields, transport)
    resp = system.chat.post("/chat", data=data, content_type=content_type)
    label = f"chat {transport} {fields!r}"
    if resp.status_code != 202:
        system.refused("chat", resp, fields)
        return
    reference = resp.get_json()["reference"]
    system.accepted("chat", expected_complaint(label, reference, as_sent(fields, data), "chat"))
    send_follow_ups(system, "chat", reference, follow_ups, "chat")


def test_a_chat_the_intake_started_is_one_ticket_and_each_message_one_message_on_it(system):  # noqa: F811
    _chat(system)
    assert system.counts["chat"]["accepted"] > 0


def test_an_escaped_surrogate_pair_is_one_character_not_two_repaired_ones(system):  # noqa: F811
    """JSON's "\\ud83d\\ude00" is an emoji: only a surrogate without its partner is repaired."""
    fields = {"name": "Ana Silva", "email": "ana@example.org", "chat_id": str(uuid.uuid4()),
              "body": "x\ud800\udfff and \ud83d\ude00, but \udfff\ud800 alone"}
    data, content_type = encode(fields, "json")
    resp = system.chat.post("/chat", data=data, content_type=content_type)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    expected = expected_complaint("pair", resp.get_json()["reference"], as_sent(fields, data), "chat")
    assert expected.body == "x\U000103ff and \U0001f600, but \ufffd\ufffd alone"
    system.accepted("chat", expected)


# --- WhatsApp --------------------------------------------------------------------------

# A form body is UTF-8: no lone surrogates on the Twilio webhooks (they cannot be sent).
TWILIO_TEXT = free_texts(surrogates=False)
# Twilio's ids, for MessageSid and CallSid: mostly fresh ones (None: made by the test), some
# taken before (a retry: SAME as the example's previous message, or one shared across
# examples), and a minority that cannot be Twilio's and must be refused with a 4xx.
SAME = "same as the previous message"
SHARED_SIDS = ("SM" + "0" * 32, "SM" + "f" * 32)


def junk_sids(prefix: str) -> st.SearchStrategy[str]:
    known = ["", " ", f"{prefix}\x00" + "0" * 32, prefix + "0" * 63, f"{prefix} 0123", f"{prefix}-" + "0" * 32]
    anything = st.one_of(st.sampled_from(known), texts(surrogates=False, max_size=70))
    return anything.filter(lambda s: not is_sid(s.strip()))


MESSAGE_SIDS = st.one_of(st.none(), st.none(), st.none(), st.none(), st.none(), st.just(SAME),
                         st.sampled_from(SHARED_SIDS), junk_sids("SM"))
WHATSAPP_MESSAGE = st.fixed_dictionaries({
    "Body": st.one_of(st.just(ABSENT), TWILIO_TEXT, nonblank_texts(surrogates=False)),
    "ProfileName": st.one_of(st.just(ABSENT), st.sampled_from(["Ana Silva", "Zoë", "محمد"]), TWILIO_TEXT),
    "MessageSid": MESSAGE_SIDS,
    "media": st.one_of(st.none(), st.fixed_dictionaries({
        "NumMedia": st.sampled_from(["1", "2", "0", "-1", "x", "11"]),
        "MediaUrl0": st.one_of(st.just("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"),
                               TWILIO_TEXT),
        "MediaContentType0": st.one_of(st.just("image/jpeg"), TWILIO_TEXT)})),
})
SENDERS = st.one_of(st.none(), st.none(), st.none(), padded(["whatsapp:+351912345678", "+351912345678"]),
                    st.builds(lambda t: f"whatsapp:{t}", TWILIO_TEXT))
ACK_REFERENCE = re.compile(r"\bC-[0-9A-Z]{10}\b")


@PROPERTY
@given(sender=SENDERS, messages=st.lists(WHATSAPP_MESSAGE, min_size=1, max_size=2))
def _whatsapp(system, sender, messages):  # noqa: F811
    intake = system.whatsapp_app.extensions["intake_whatsapp"]
    sender = sender or fresh_sender()
    previous = None
    for message in messages:
        sid = message["MessageSid"]
        if sid is None or sid == SAME and previous is None:
            sid = "SM" + uuid.uuid4().hex
        elif sid == SAME:
            sid = previous
        previous = sid
        params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
                  "To": "whatsapp:+14155238886", "Body": message["Body"], "ProfileName": message["ProfileName"],
                  **(message["media"] or {})}
        params = {k: v for k, v in params.items() if v is not ABSENT}
        resp = system.whatsapp.post("/messages", params)
        label = f"whatsapp {params!r}"
        if not is_sid(sid.strip()):
            assert resp.status_code != 200, f"{label}: a MessageSid that is no Twilio id was taken"
        if resp.status_code != 200:
            system.refused("whatsapp", resp, params)
            continue
        own = reference_for(intake.intake_id(sid.strip()))
        said = "".join(resp.get_data(as_text=True))
        # The acknowledgement names the reference, and again in its tracking link: one reference.
        announced = set(ACK_REFERENCE.findall(said))
        if not announced:  # a MessageSid taken before: no second acknowledgement, one message
            assert own in system.expected, f"{label}: answered {said!r} for a message never acknowledged"
            system.accepted("whatsapp", system.expected[own])
            continue
        [announced] = announced
        body = stripped(params.get("Body")) or ""
        profile = stripped(params.get("ProfileName"))
        customer = {"whatsapp": sender.strip().removeprefix("whatsapp:"), "name": repaired(profile)} \
            if announced == own else {}
        repairs = tuple(f for f, v in (("body", body), ("customer.name", profile)) if needs_repair(v))
        system.accepted("whatsapp", Expected(label, announced, own, repaired(body), customer=customer,
                                             repairs=repairs, channel="whatsapp"))


def fresh_sender() -> str:
    return f"whatsapp:+1{uuid.uuid4().int % 10**11:011d}"


def whatsapp_message(system, sender: str, body: str):  # noqa: F811
    sid = "SM" + uuid.uuid4().hex
    resp = system.whatsapp.post("/messages", {"MessageSid": sid, "From": sender, "Body": body})
    own = reference_for(system.whatsapp_app.extensions["intake_whatsapp"].intake_id(sid))
    return resp, own


def test_a_whatsapp_message_the_intake_acknowledged_is_one_message_on_the_ticket_it_names(system):  # noqa: F811
    _whatsapp(system)
    assert system.counts["whatsapp"]["accepted"] > 0


def test_a_whatsapp_message_after_a_refused_one_is_told_the_reference_of_the_ticket_it_joins(system):  # noqa: F811
    sender = fresh_sender()
    refused, refused_own = whatsapp_message(system, sender, "x" * 100_001)  # over the contract's body limit
    assert refused.status_code == 400, refused.get_data(as_text=True)
    system.count("whatsapp", "refused")
    resp, own = whatsapp_message(system, sender, "Hello?")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [announced] = set(ACK_REFERENCE.findall(resp.get_data(as_text=True)))
    assert announced == own != refused_own, "told the refused message's reference, which is no ticket"
    system.accepted("whatsapp", Expected("whatsapp after a refused one", announced, own, "Hello?"))


@pytest.mark.parametrize("sid", ["SM\x00" + "0" * 32, "SM" + "0" * 63],
                         ids=["a MessageSid holding a NUL", "a MessageSid longer than Twilio makes"])
def test_an_odd_whatsapp_message_sid_is_refused_with_a_4xx_naming_it(system, sid):  # noqa: F811
    resp = system.whatsapp.post("/messages", {"MessageSid": sid, "From": fresh_sender(), "Body": "Hello?"})
    system.refused("whatsapp", resp, sid)
    assert "MessageSid" in resp.get_data(as_text=True)


# --- voice ---------------------------------------------------------------------------------

CALLERS = st.one_of(st.none(), st.none(), padded(["+351912345678", "anonymous", "+266696687", ""]), TWILIO_TEXT)
CALL = st.fixed_dictionaries({
    "CallSid": st.one_of(st.none(), st.none(), st.none(), st.none(), junk_sids("CA")),
    "From": CALLERS,
    "way": st.sampled_from(["voicemail", "callback", "missed"]),
    "RecordingUrl": st.one_of(st.just("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"),
                              st.just(""), TWILIO_TEXT),
    "RecordingSid": st.one_of(st.none(), st.just("RE" + "1" * 32), TWILIO_TEXT),
    "RecordingDuration": st.one_of(st.none(), st.sampled_from(["0", "17", "-3", "x", "٣", "²", "86401", "2147483647",
                                                               "2147483648", "99999999999999999999"])),
    "TranscriptionText": st.one_of(st.none(), TWILIO_TEXT, nonblank_texts(surrogates=False)),
    "Digits": st.one_of(st.sampled_from(["00351912345678", "351912345678", "1", "#", "٣٥١٩١٢٣٤٥٦٧٨"]),
                        TWILIO_TEXT),
    "Window": st.one_of(st.sampled_from(["1", "2", "3", "4", "9"]), TWILIO_TEXT),
})


@PROPERTY
@given(call=CALL)
def _voice(system, call):  # noqa: F811
    intake = system.voice_app.extensions["intake_voice"]
    sid = call["CallSid"] or "CA" + uuid.uuid4().hex
    caller = call["From"] if call["From"] is not None else f"+1{uuid.uuid4().int % 10**11:011d}"
    reference = reference_for(intake.intake_id(sid))
    label = f"voice {call!r} CallSid={sid!r} From={caller!r}"
    base = {"CallSid": sid, "From": caller, "To": "+14155550100", "AccountSid": "AC" + "0" * 32}
    announced = False

    def post(path, **params):
        resp = system.voice.post(path, {**base, **params})
        if not 200 <= resp.status_code < 300:
            system.refused("voice", resp, {"path": path, **base, **params})
            return None
        return resp

    def primary(subject, body="", repairs=()):
        system.accepted("voice", Expected(label, reference, reference, body, subject=subject, repairs=repairs,
                                          customer={"phone": ivr.caller_number(caller)}, channel="voice"))

    if post("/calls") is None:
        return
    assert is_sid(sid), f"{label}: a CallSid that is no Twilio id was taken"
    if call["way"] == "voicemail":
        resp = post("/recording", RecordingUrl=call["RecordingUrl"], RecordingSid=call["RecordingSid"],
                    RecordingDuration=call["RecordingDuration"])
        if resp is not None and spelled(reference) in resp.get_data(as_text=True):
            announced = True
            primary("Voicemail")
        if call["TranscriptionText"] is not None:
            resp = post("/transcription", TranscriptionStatus="completed", TranscriptionText=call["TranscriptionText"],
                        RecordingUrl=call["RecordingUrl"])
            text = stripped(call["TranscriptionText"])
            if resp is not None and text:
                repairs = ("body",) if needs_repair(text) else ()
                if announced:
                    own = reference_for(intake.intake_id(f"{sid}:transcription"))
                    system.accepted("voice", Expected(label, reference, own, repaired(text), repairs=repairs,
                                                      subject="Voicemail transcription", channel="voice"))
                else:  # it came first: the voicemail itself carries it
                    primary("Voicemail", repaired(text), repairs)
    elif call["way"] == "callback":
        post("/ivr/number?attempt=2", Digits=call["Digits"])
        resp = post("/ivr/window?attempt=2", Digits=call["Window"])
        if resp is not None and spelled(reference) in resp.get_data(as_text=True):
            primary("Callback request")
    else:
        if post("/status", CallStatus="completed") is not None:
            primary("Missed call")


def test_a_call_the_intake_took_is_one_ticket_and_its_transcription_one_message_on_it(system):  # noqa: F811
    _voice(system)
    assert system.counts["voice"]["accepted"] > 0


def voicemail(system, sid: str, caller: str, recording_url: str, transcription: str | None = None,  # noqa: F811
              **recording):
    """A voicemail as Twilio reports it: the call, the recording, then its transcription.
    Returns the status of each answer."""
    base = {"CallSid": sid, "From": caller, "To": "+14155550100"}
    answers = [system.voice.post("/calls", base).status_code,
               system.voice.post("/recording", {**base, "RecordingUrl": recording_url, **recording}).status_code]
    if transcription is not None:
        answers.append(system.voice.post("/transcription", {**base, "TranscriptionStatus": "completed",
                                                            "TranscriptionText": transcription}).status_code)
    return answers


def adopt_call(system, sid: str, answers: list[int]) -> None:  # noqa: F811
    """Put what a call made (if anything) in the ledger, whatever the test found, so the
    final count checks everything else: /recording answered 200 published the voicemail,
    /transcription answered 204 published the transcription."""
    intake = system.voice_app.extensions["intake_voice"]
    made = [sid] if answers[1:2] == [200] else []
    made += [f"{sid}:transcription"] if answers[2:3] == [204] else []
    for key in made:
        own = reference_for(intake.intake_id(key))
        ticket = system.wait_for_message(own)
        [message] = [m for m in ticket["messages"] if m["intake_reference"] == own]
        system.known(own, ticket["reference"], message["body"])


def test_a_voicemail_transcription_holding_a_nul_is_one_message_with_a_replacement_character(system):  # noqa: F811
    sid = "CA" + uuid.uuid4().hex
    answers = voicemail(system, sid, "+351912345678", "https://api.twilio.com/Recordings/RE1", "Hello\x00world")
    try:
        assert answers == [200, 200, 204]
        reference = reference_for(system.voice_app.extensions["intake_voice"].intake_id(sid))
        own = reference_for(system.voice_app.extensions["intake_voice"].intake_id(f"{sid}:transcription"))
        system.accepted("voice", Expected("transcription with NUL", reference, own, "Hello\ufffdworld",
                                          repairs=("body",)))
    finally:
        adopt_call(system, sid, answers)


def test_a_call_whose_caller_id_holds_a_nul_is_answered_never_a_server_error(system):  # noqa: F811
    sid = "CA" + uuid.uuid4().hex
    answers = voicemail(system, sid, "+351912345678\x00", "https://api.twilio.com/Recordings/RE1")
    try:
        assert answers == [200, 200]
    finally:
        adopt_call(system, sid, answers)


def test_a_call_sid_longer_than_twilio_makes_is_refused_with_a_4xx_naming_it(system):  # noqa: F811
    resp = system.voice.post("/calls", {"CallSid": "CA" + uuid.uuid4().hex * 2, "From": "+351912345678"})
    system.refused("voice", resp, "a CallSid of 66 characters")
    assert "CallSid" in resp.get_data(as_text=True)


@pytest.mark.parametrize("field, sent", [
    ("RecordingUrl", {"RecordingUrl": "https://x.example/" + "r" * 2000}),
    ("RecordingSid", {"RecordingSid": "RE" + "1" * 300}),   # would name a file over the contract's 255
    ("RecordingDuration", {"RecordingDuration": "²"}),      # str.isdigit() says yes, int() says no
    ("RecordingDuration", {"RecordingDuration": "2147483648"}),   # past PostgreSQL's integer
    ("RecordingDuration", {"RecordingDuration": "99999999999999999999"}),   # past SQLite's
], ids=["a RecordingUrl over 2000 characters", "a RecordingSid of 302 characters", "a duration of '²'",
        "a duration past 2**31", "a duration past 2**63"])
def test_a_recording_field_twilio_could_never_send_leaves_the_voicemail_without_it(system, field, sent):  # noqa: F811
    """The caller's voicemail is kept (never a 5xx, never a 503 Twilio retries for ever),
    without the value, which the ticket's message names in extras.dropped."""
    sid = "CA" + uuid.uuid4().hex
    sent = dict(sent)  # the parameter is shared by both databases' runs
    url = sent.pop("RecordingUrl", "https://api.twilio.com/Recordings/RE1")
    answers = voicemail(system, sid, "+351912345678", url, **sent)
    try:
        assert answers == [200, 200]
        reference = reference_for(system.voice_app.extensions["intake_voice"].intake_id(sid))
        ticket = system.accepted("voice", Expected(f"voicemail with an odd {field}", reference, reference, "",
                                                   subject="Voicemail"))
        [message] = [m for m in ticket["messages"] if m["intake_reference"] == reference]
        assert field in message["extras"]["dropped"], message["extras"]
        assert all(len(a["filename"]) <= 255 and len(a["url"] or "") <= 2000 for a in message["attachments"])
    finally:
        adopt_call(system, sid, answers)


# --- after all of them ----------------------------------------------------------------------


def test_nothing_was_created_doubled_parked_quarantined_or_logged_as_an_error(system):  # noqa: F811
    """Runs after the intake tests on the same database: every ticket is one an intake announced."""
    system.settle()
