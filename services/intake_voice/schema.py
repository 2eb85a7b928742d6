"""The phone intake's own table, prefixed `voice_`. No other service reads it."""

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text

from services.common.storage.db import new_metadata

metadata = new_metadata()

# One row per call (CallSid): what the caller chose, the recording and its
# transcription as they arrive, and which complaint the call became.
calls = Table(
    "voice_calls", metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("caller", String(20)),              # E.164; empty when the caller id was withheld
    Column("from_raw", String(64)),            # Twilio's From as sent ("anonymous", ...)
    Column("to_number", String(64)),
    Column("language", String(8)),
    Column("category", String(16)),
    Column("callback_number", String(20)),
    Column("window_start", String(40)),
    Column("window_end", String(40)),
    Column("recording_sid", String(64)),
    Column("recording_url", String(2000)),
    Column("recording_duration", Integer),
    Column("transcription", Text),            # storable (NUL replaced by U+FFFD)
    # The transcription as sent, escaped (storable_text.escaped), when `transcription` had to
    # be repaired: the complaint carries the original, so the contract repairs it and notes it.
    Column("transcription_sent", Text),
    # Recording fields Twilio could never have sent, left out: {Twilio field: why}.
    Column("dropped", JSON),
    Column("transcription_status", String(20)),
    Column("call_status", String(20)),
    # The call's one complaint: voicemail, callback or missed. Claimed by a
    # conditional update (only while empty), so concurrent callbacks agree on it.
    Column("primary_kind", String(16)),
    # Whether the claimed complaint carried the transcription (then no follow-up is sent for it).
    Column("primary_transcribed", Integer, nullable=False, default=0),
    Column("primary_published_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
