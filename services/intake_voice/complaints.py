"""A call -> the ComplaintReceived it becomes, in plain Python.

One complaint per call (external_id = CallSid), whichever way the call went:
a voicemail, a callback request or a missed call. What arrives after it was
published (a late transcription, or a recording after a missed call was
reported) is a follow-up with its own external_id (<CallSid>:<kind>),
threaded to the call's reference so it lands on the same ticket once.

Extras follow the agreed format the notifier and the agent console read:
call_sid, recording_url, recording_duration (seconds), transcription (or
None), ivr {category, language}, missed_call, and for a callback request
callback {number, window_start, window_end}; when a recording field Twilio
could never have sent was left out, dropped {Twilio field: why}.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.channels.regions import RegionGuess, RegionMap, first
from services.common.contract.complaint import ComplaintReceived

CHANNEL = "voice"
VOICEMAIL, CALLBACK, MISSED = "voicemail", "callback", "missed"
FOLLOW_UPS = ("transcription", VOICEMAIL)

SUBJECTS = {VOICEMAIL: "Voicemail", CALLBACK: "Callback request", MISSED: "Missed call",
            "transcription": "Voicemail transcription"}


@dataclass(frozen=True)
class Call:
    call_sid: str
    caller: str | None              # E.164, None when the caller id was withheld
    language: str | None = None
    category: str | None = None
    callback_number: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    recording_duration: int | None = None
    transcription: str | None = None    # as Twilio sent it: the contract repairs NUL and notes it
    dropped: dict | None = None         # recording fields Twilio could never have sent: {field: why}

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_url)


def region_of(caller: str | None, regions: RegionMap, number_region: str | None) -> RegionGuess | None:
    """The caller's number says where they are; else the Twilio number they called (VOICE_NUMBER_REGION)."""
    return first(regions.for_phone(caller, "caller"), RegionMap.configured(number_region, "VOICE_NUMBER_REGION"))


def external_id(call_sid: str, kind: str | None = None) -> str:
    """The call's own complaint is keyed by the CallSid; a follow-up by CallSid:kind."""
    return call_sid if kind is None else f"{call_sid}:{kind}"


def primary(call: Call, kind: str, intake_id: str, received_at: str,
            region: RegionGuess | None = None) -> ComplaintReceived:
    """The call's one complaint: a voicemail, a callback request or a missed call."""
    extras = _voice_extras(call, missed=kind == MISSED)
    body = ""
    attachments = []
    if kind == VOICEMAIL:
        body = call.transcription or ""
        attachments = _recording(call)
    elif kind == CALLBACK:
        extras["callback"] = {"number": call.callback_number, "window_start": call.window_start,
                              "window_end": call.window_end}
    return _complaint(call, external_id(call.call_sid), intake_id, received_at, SUBJECTS[kind], body,
                      attachments, extras, thread_reference=None, region=region)


def follow_up(call: Call, kind: str, intake_id: str, received_at: str, thread_reference: str,
              region: RegionGuess | None = None) -> ComplaintReceived:
    """What came after the call's complaint was published, for the same ticket."""
    if kind not in FOLLOW_UPS:
        raise ValueError(f"unknown follow-up {kind!r}")
    body = call.transcription or ""
    attachments = _recording(call) if kind == VOICEMAIL else []
    return _complaint(call, external_id(call.call_sid, kind), intake_id, received_at, SUBJECTS[kind], body,
                      attachments, _voice_extras(call, missed=False), thread_reference=thread_reference,
                      region=region)


def _voice_extras(call: Call, missed: bool) -> dict:
    extras = {"call_sid": call.call_sid, "recording_url": call.recording_url,
              "recording_duration": call.recording_duration, "transcription": call.transcription,
              "ivr": {"category": call.category, "language": call.language}, "missed_call": missed}
    if call.dropped:  # the agent sees what the voicemail came without, and why
        extras["dropped"] = dict(call.dropped)
    return extras


def _recording(call: Call) -> list[dict]:
    if not call.recording_url:
        return []
    # Twilio serves the recording as WAV at its URL (MP3 with .mp3 appended).
    return [{"filename": f"{call.recording_sid or call.call_sid}.wav", "content_type": "audio/wav", "size": 0,
             "url": call.recording_url}]


def _complaint(call, ext_id, intake_id, received_at, subject, body, attachments, extras,
               thread_reference, region: RegionGuess | None) -> ComplaintReceived:
    return ComplaintReceived.from_dict({
        "schema_version": 1,
        "intake_id": intake_id,
        "channel": CHANNEL,
        "external_id": ext_id,
        "received_at": received_at,
        "customer": {"phone": call.caller},
        "subject": subject,
        "body": body,
        "category": call.category,
        "language": call.language,
        "attachments": attachments,
        "threading": {"ticket_reference": thread_reference},
        "extras": extras,
        **({"region": region.region, "region_source": region.source} if region else {}),
    })
