"""The phone intake's privacy parts: its share of an export, its erasure, its retention.

What it holds about a caller, one row per call (voice_calls): their number (and
Twilio's From as sent), a callback number, the link to the voicemail's recording
and its transcription. The recording itself is stored at Twilio, not here.
- erasure: numbers become pseudonyms (the call is still recognised by its CallSid,
  and calls per caller still group), the recording's link, the transcription and
  what Twilio sent that was left out are erased. The recording at Twilio is deleted
  through Twilio's API when TWILIO_ACCOUNT_SID is set (with TWILIO_AUTH_TOKEN); else
  the report says it is kept there, to delete in Twilio's console. Calls of tickets
  on legal hold are kept.
- retention: the same for calls older than RETENTION_LEDGER_DAYS.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from datetime import datetime

from sqlalchemy import or_, select, update

from services.common.contract.events import ErasureEntry, SubjectErasureRequested
from services.common.privacy.archive import rows as json_rows
from services.common.privacy.parts import KEPT, PSEUDONYMISED, counted, entry
from services.common.privacy.pseudonym import is_pseudonym, pseudonym
from services.common.privacy.retention import Retention
from services.common.privacy.subject import ERASED as ERASED_TEXT
from services.common.privacy.subject import Subject

from .schema import calls

log = logging.getLogger("intake_voice")
SERVICE = "intake_voice"
AT_TWILIO = "recordings at Twilio"


def twilio_recordings():
    """Deletes a recording at Twilio by its sid, or None when no account is configured."""
    if not os.environ.get("TWILIO_ACCOUNT_SID") or not os.environ.get("TWILIO_AUTH_TOKEN"):
        return None

    def delete(recording_sid: str) -> None:
        from twilio.base.exceptions import TwilioRestException

        from services.common.channels import twilio_rest

        try:
            twilio_rest.client().recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # already gone is done
                raise
    return delete


class VoicePrivacy:
    service = SERVICE

    def __init__(self, engine, reference_of, delete_recording=None):
        """reference_of(call_sid) -> the reference the caller was told; delete_recording(sid)
        deletes a recording at Twilio (None: they are left there, and reported so)."""
        self.engine, self.reference_of, self.delete_recording = engine, reference_of, delete_recording

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        with self.engine.connect() as conn:
            found = [r for r in conn.execute(select(calls).where(self._calls_of(subject, references)))
                     if self._owned(r, subject, references)]
        rows = json_rows(found)
        for row in rows:
            row["reference"] = self.reference_of(row["call_sid"])
        return {"tables": {calls.name: rows}}

    def erase(self, request: SubjectErasureRequested) -> list[ErasureEntry]:
        subject = Subject.of(request.identifiers)
        references, held = tuple(request.references), set(request.held_references)
        done: Counter = Counter()
        with self.engine.begin() as conn:
            for row in conn.execute(select(calls).where(self._calls_of(subject, (*references, *held)))).all():
                if not self._owned(row, subject, references + tuple(held)):
                    continue
                if self.reference_of(row.call_sid) in held:
                    done[(calls.name, KEPT)] += 1
                    continue
                done += self._erase_call(conn, row)
        return self._report(done)

    def retain(self, at: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        cutoff = rules.ledger_cutoff(at)
        if cutoff is None:
            return {}
        done: Counter = Counter()
        with self.engine.begin() as conn:
            for row in conn.execute(select(calls).where(calls.c.received_at < cutoff, or_(
                    calls.c.transcription.is_not(None), calls.c.recording_url.is_not(None),
                    calls.c.caller.is_not(None) & ~calls.c.caller.startswith("erased-"),
                    calls.c.callback_number.is_not(None) & ~calls.c.callback_number.startswith("erased-")))).all():
                done += self._erase_call(conn, row)
        return counted({k: v for k, v in done.items() if k[1] != KEPT})

    # --- inside -----------------------------------------------------------------------------

    def _calls_of(self, subject: Subject, references):
        numbers = list(subject.phones)
        found = [calls.c.caller.in_(numbers), calls.c.callback_number.in_(numbers)]
        if references:
            # A withheld caller id leaves only the reference the caller was told to go by.
            found.append(calls.c.caller.is_(None))
        return or_(*found)

    def _owned(self, row, subject: Subject, references) -> bool:
        return subject.owns(row.caller) or subject.owns(row.callback_number) or \
            self.reference_of(row.call_sid) in references

    def _erase_call(self, conn, row) -> Counter:
        done: Counter = Counter()
        recording_kept = False
        if row.recording_sid and row.recording_url:
            if self.delete_recording is None:
                recording_kept = True
                done[(AT_TWILIO, KEPT)] += 1
            else:
                self.delete_recording(row.recording_sid)  # raises: the erasure is retried
                done[(AT_TWILIO, "deleted")] += 1
        values = {"caller": _pseudonym(row.caller),
                  "from_raw": _pseudonym(row.from_raw) if row.caller else row.from_raw,
                  "callback_number": _pseudonym(row.callback_number),
                  "recording_url": row.recording_url if recording_kept else None,
                  "transcription": ERASED_TEXT if row.transcription else None, "transcription_sent": None,
                  "dropped": None}
        if any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(update(calls).where(calls.c.call_sid == row.call_sid).values(**values))
            done[(calls.name, PSEUDONYMISED)] += 1
        return done

    def _report(self, done: Counter) -> list[ErasureEntry]:
        lines = [entry(calls.name, PSEUDONYMISED, done[(calls.name, PSEUDONYMISED)])]
        if done[(calls.name, KEPT)]:
            lines.append(entry(calls.name, KEPT, done[(calls.name, KEPT)], "legal hold on the ticket"))
        if done[(AT_TWILIO, "deleted")]:
            lines.append(entry(AT_TWILIO, "deleted", done[(AT_TWILIO, "deleted")]))
        if done[(AT_TWILIO, KEPT)]:
            lines.append(entry(AT_TWILIO, KEPT, done[(AT_TWILIO, KEPT)],
                               "no TWILIO_ACCOUNT_SID to delete them with: delete them in Twilio's console"))
        return lines


def _pseudonym(value: str | None) -> str | None:
    return pseudonym(value) if value and not is_pseudonym(value) and value != "anonymous" else value

