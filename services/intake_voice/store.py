"""The phone intake's call state in SQL, safe with several gunicorn workers and
replicas: the row is created by a unique key, and the call's one complaint is
claimed by a conditional update, never by check-then-insert."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.contract.storable_text import escaped, is_storable, storable
from services.common.web.webhook_intake import iso_utc

from . import ivr
from .complaints import Call
from .schema import calls

CALL_FIELDS = ("language", "category", "callback_number", "window_start", "window_end", "recording_sid",
               "recording_url", "recording_duration", "transcription", "transcription_status", "call_status",
               "dropped")
# Read into Call by _state itself (the transcription as sent).
READ_APART = ("transcription",)


@dataclass(frozen=True)
class CallState:
    call: Call
    received_at: str
    primary_kind: str | None
    primary_transcribed: bool
    published: bool


class VoiceStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def open(self, call_sid: str, from_raw: str | None = None, to: str | None = None) -> CallState:
        """The call's row, created on first sight (any callback may be the first to arrive)."""
        now = datetime.now(UTC)
        from_raw, to = _fit("from_raw", from_raw or None), _fit("to_number", to or None)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(calls).values(
                    call_sid=call_sid, caller=ivr.caller_number(from_raw), from_raw=from_raw,
                    to_number=to, primary_transcribed=0, received_at=now, updated_at=now))
        except IntegrityError:
            if from_raw:  # known now if the first callback did not carry it (recording status)
                with self.engine.begin() as conn:
                    conn.execute(update(calls).where(calls.c.call_sid == call_sid, calls.c.from_raw.is_(None))
                                 .values(caller=ivr.caller_number(from_raw), from_raw=from_raw, to_number=to))
        return self.get(call_sid)

    def get(self, call_sid: str) -> CallState:
        with self.engine.connect() as conn:
            return _state(conn, call_sid)

    def save(self, call_sid: str, **fields) -> CallState:
        unknown = set(fields) - set(CALL_FIELDS)
        if unknown:
            raise ValueError(f"not call fields: {sorted(unknown)}")
        if "transcription" in fields:
            text = fields["transcription"]
            # Kept reversibly: the complaint must carry what was said, for the contract to note its repair.
            fields["transcription_sent"] = None if text is None or is_storable(text) else escaped(text)
        fields = {name: _fit(name, value) for name, value in fields.items()}
        with self.engine.begin() as conn:
            conn.execute(update(calls).where(calls.c.call_sid == call_sid)
                         .values(updated_at=datetime.now(UTC), **fields))
            return _state(conn, call_sid)

    def claim(self, call_sid: str, kind: str) -> tuple[bool, CallState]:
        """Make `kind` the call's one complaint unless another already is.
        Returns (claimed now, the state as the claim left it), read in the same
        transaction, so the complaint is built from exactly what was claimed."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(calls).where(calls.c.call_sid == call_sid, calls.c.primary_kind.is_(None))
                .values(primary_kind=kind, updated_at=datetime.now(UTC),
                        primary_transcribed=case((calls.c.transcription.is_not(None), 1), else_=0)))
            return done.rowcount == 1, _state(conn, call_sid)

    def release(self, call_sid: str, kind: str) -> None:
        """The claimed complaint was not confirmed: let the next callback (or retry) claim it again."""
        with self.engine.begin() as conn:
            conn.execute(update(calls).where(calls.c.call_sid == call_sid, calls.c.primary_kind == kind,
                                             calls.c.primary_published_at.is_(None))
                         .values(primary_kind=None, primary_transcribed=0))

    def published(self, call_sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(calls).where(calls.c.call_sid == call_sid, calls.c.primary_published_at.is_(None))
                         .values(primary_published_at=datetime.now(UTC)))


def _sent_transcription(row) -> str | None:
    """The transcription as Twilio sent it (NUL and all), or as stored when it needed no repair."""
    return json.loads(f'"{row.transcription_sent}"') if row.transcription_sent else row.transcription


def _fit(name: str, value):
    """What Twilio sent, as the column can hold it on every database: a webhook
    Twilio signed is never refused by PostgreSQL (NUL, a value too long)."""
    if not isinstance(value, str):
        return value
    length = calls.c[name].type.length
    return storable(value)[:length] if length else storable(value)


def _state(conn, call_sid: str) -> CallState:
    row = conn.execute(select(calls).where(calls.c.call_sid == call_sid)).one()
    return CallState(
        call=Call(call_sid=row.call_sid, caller=row.caller,
                  **{k: getattr(row, k) for k in CALL_FIELDS
                     if k in Call.__dataclass_fields__ and k not in READ_APART},
                  transcription=_sent_transcription(row)),
        received_at=iso_utc(row.received_at), primary_kind=row.primary_kind,
        primary_transcribed=bool(row.primary_transcribed), published=row.primary_published_at is not None)
