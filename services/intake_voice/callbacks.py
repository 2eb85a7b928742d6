"""What the intake keeps of Twilio's recording and transcription callbacks, in
plain Python (no Flask, no SQL).

The voicemail is the caller's complaint: a recording field Twilio could never
have sent (a duration that is no number of seconds, a URL over the contract's
2000 characters or not http(s), a RecordingSid that is no Twilio id) is left
out and named in `dropped`, and the voicemail is kept without it, rather than
refusing the caller's message over a value nobody can use. A transcription
over the contract's body limit is refused: keeping it would make the call's
complaint one the contract refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.channels.twilio_ids import is_sid
from services.common.contract.complaint import MAX_BODY
from services.common.contract.storable_text import escaped, is_storable

MAX_URL = 2000  # the contract's limit for an attachment's url
# No call lasts longer than Twilio's 24-hour limit, so no recording either; the
# bound also keeps the value inside every database's integer column.
MAX_DURATION_SECONDS = 24 * 3600
SHOWN = 60  # characters of a dropped value kept in its note


@dataclass(frozen=True)
class Recording:
    fields: dict[str, object]   # voice_calls columns to save: recording_url, recording_sid, recording_duration
    dropped: dict[str, str]     # Twilio field -> why it was left out (what was sent, escaped and cut short)


def recording(form: Mapping[str, str]) -> Recording:
    """The recording fields of a callback: those worth keeping, and those left out."""
    fields: dict[str, object] = {}
    dropped: dict[str, str] = {}
    url = form.get("RecordingUrl")
    if url:
        if len(url) <= MAX_URL and is_storable(url) and url.lower().startswith(("https://", "http://")):
            fields["recording_url"] = url
        else:
            dropped["RecordingUrl"] = _why(url, f"not an http(s) URL of at most {MAX_URL} characters")
    sid = form.get("RecordingSid")
    if sid:
        if is_sid(sid):
            fields["recording_sid"] = sid
        else:
            dropped["RecordingSid"] = _why(sid, "not a Twilio recording id like RE0123…")
    duration = form.get("RecordingDuration")
    if duration:
        seconds = duration_seconds(duration)
        if seconds is None:
            dropped["RecordingDuration"] = _why(duration, f"not a number of seconds up to {MAX_DURATION_SECONDS}")
        else:
            fields["recording_duration"] = seconds
    return Recording(fields, dropped)


def duration_seconds(value: str) -> int | None:
    """Twilio's RecordingDuration as seconds, or None when it is none Twilio sends.
    ASCII digits only: '²' and '٣' pass str.isdigit(), and int() refuses the first."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_DURATION_SECONDS)):
        return None
    seconds = int(value)
    return seconds if seconds <= MAX_DURATION_SECONDS else None


def transcription_problem(text: str) -> str | None:
    """Why a transcription cannot be the voicemail's text, or None."""
    if len(text) > MAX_BODY:
        return f"too long ({len(text)} characters, at most {MAX_BODY})"
    return None


def _why(value: str, reason: str) -> str:
    shown = escaped(value[:SHOWN]) + ("…" if len(value) > SHOWN else "")
    return f"{reason}; sent {shown!r} ({len(value)} characters)"
