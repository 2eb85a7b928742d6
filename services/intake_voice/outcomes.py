"""What a call becomes: claiming its one complaint, publishing it with
confirms, and the follow-ups that arrive later (a transcription, a recording
after a missed call). Shared by every callback that can be the one to finish
a call, in whatever order Twilio sends them."""

from __future__ import annotations

import dataclasses
import logging

from prometheus_client import Counter

from services.common.channels.regions import RegionMap
from services.common.contract.complaint import ContractError
from services.common.contract.reference import reference_for
from services.common.web.webhook_intake import WebhookIntake

from . import complaints
from .complaints import CALLBACK, MISSED, VOICEMAIL
from .store import CallState, VoiceStore

log = logging.getLogger("intake_voice")

CALLS = Counter("complaints_voice_calls_total", "Calls turned into a complaint, by what they became", ["kind"])
FOLLOW_UPS = Counter("complaints_voice_follow_ups_total",
                     "Follow-ups published after a call's complaint (late transcription, late recording)", ["kind"])
for _kind in (VOICEMAIL, CALLBACK, MISSED):
    CALLS.labels(_kind)
for _kind in complaints.FOLLOW_UPS:
    FOLLOW_UPS.labels(_kind)


class Refused(ValueError):
    """The contract refused what the call would become: a 4xx naming the fields,
    and the call is left as it was (no claim held), so every later callback
    about it gets the same clear answer instead of a server error."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


class Outcomes:
    def __init__(self, intake: WebhookIntake, store: VoiceStore, regions: RegionMap | None = None,
                 number_region: str | None = None):
        self.intake, self.store = intake, store
        self.regions, self.number_region = regions or RegionMap(), number_region

    def region(self, call: complaints.Call):
        return complaints.region_of(call.caller, self.regions, self.number_region)

    def reference(self, call_sid: str) -> str:
        """The call's reference, told to the caller before anything is published."""
        return reference_for(self.intake.intake_id(complaints.external_id(call_sid)))

    def finish(self, call_sid: str, kind: str) -> bool:
        """Make the call a `kind` complaint, or, when it already became another
        one, add what this kind brings as a follow-up. True once confirmed."""
        claimed, state = self.store.claim(call_sid, kind)
        if not self._primary_published(state):
            return False
        if claimed or state.primary_kind == kind or kind not in complaints.FOLLOW_UPS:
            return True
        # A recording after the call was reported missed (the caller hung up while recording).
        return self.follow_up(state, kind)

    def transcription_arrived(self, call_sid: str) -> bool:
        """The voicemail's transcription: part of the complaint if it came first, else a follow-up, once."""
        claimed, state = self.store.claim(call_sid, VOICEMAIL)
        if not self._primary_published(state):
            return False
        if state.primary_kind == VOICEMAIL and state.primary_transcribed:
            return True  # the complaint itself carried it
        return self.follow_up(state, "transcription")

    def follow_up(self, state: CallState, kind: str) -> bool:
        call_sid = state.call.call_sid
        intake_id = self.intake.intake_id(complaints.external_id(call_sid, kind))
        try:
            complaint = complaints.follow_up(state.call, kind, intake_id, state.received_at,
                                             thread_reference=self.reference(call_sid), region=self.region(state.call))
        except ContractError as exc:
            raise Refused(exc.errors) from None
        if not self.intake.publish(complaint):
            return False
        FOLLOW_UPS.labels(kind).inc()
        return True

    def _primary_published(self, state: CallState) -> bool:
        """Publish the claimed complaint unless that was confirmed already (a
        worker that claimed it may have failed before publishing)."""
        if state.published or state.primary_kind is None:
            return state.published
        call = state.call
        if not state.primary_transcribed:
            # Claimed before the transcription came: it follows on its own.
            call = dataclasses.replace(call, transcription=None)
        try:
            complaint = complaints.primary(call, state.primary_kind, self.intake.intake_id(call.call_sid),
                                           state.received_at, self.region(call))
        except ContractError as exc:
            # Give the claim back: held, it would make every later callback build nothing and fail.
            self.store.release(call.call_sid, state.primary_kind)
            raise Refused(exc.errors) from None
        if not self.intake.publish(complaint):
            self.store.release(call.call_sid, state.primary_kind)
            return False
        self.store.published(call.call_sid)
        CALLS.labels(state.primary_kind).inc()
        log.info("call taken", extra={"call_sid": call.call_sid, "kind": state.primary_kind,
                                      "reference": complaint.reference})
        return True


def ended_kind(state: CallState, missed_calls: bool) -> str | None:
    """What a call that ended without a complaint becomes: a callback request
    if the caller got as far as giving a number, else a missed call (if wanted)."""
    if state.call.callback_number:
        return CALLBACK
    return MISSED if missed_calls else None
