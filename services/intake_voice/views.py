"""Twilio's Voice webhooks: the menu steps (answered with TwiML) and the
asynchronous callbacks (recording, transcription, call status; answered 204,
or 503 when the broker did not confirm, so Twilio tries again). The signature
was checked before any route runs; the menu's rules live in ivr.py.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request

from services.common.channels.twilio_ids import is_sid
from services.common.web.webhook_intake import current, unavailable

from . import callbacks, complaints, ivr, settings, texts
from .outcomes import Outcomes, Refused, ended_kind

log = logging.getLogger(settings.NAME)
bp = Blueprint("voice", __name__)

FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


def intake():
    return current(settings.NAME)


def prompts():
    return current_app.extensions["intake_voice.prompts"]


def outcomes() -> Outcomes:
    return current_app.extensions["intake_voice.outcomes"]


def twiml(document: str) -> Response:
    return Response(document, mimetype="application/xml")


def with_call(route):
    """Hands the route the state of the call the request is about, created on first sight."""

    @functools.wraps(route)
    def with_state():
        form = request.form
        if not is_sid(form.get("CallSid")):
            return Response("CallSid is required: a Twilio call id like CA0123…\n", status=400,
                            mimetype="text/plain")
        return route(intake().store.open(form["CallSid"], form.get("From"), form.get("To")))

    return with_state


def _attempt() -> int:
    try:
        return max(1, int(request.args.get("attempt", 1)))
    except ValueError:
        return 1


def _choice(step: str):
    return ivr.choose(step, request.form.get("Digits"), request.form.get("SpeechResult"))


# --- the menu -----------------------------------------------------------------------


@bp.post("/calls")
@with_call
def incoming(state):
    return twiml(prompts().welcome())


@bp.post("/ivr/language")
@with_call
def language(state):
    choice = _choice("language")
    if choice is None and _attempt() < ivr.MAX_ATTEMPTS:
        return twiml(prompts().welcome(_attempt() + 1, notice="not_understood"))
    chosen = choice or settings.default_language()
    intake().store.save(state.call.call_sid, language=chosen)
    return twiml(prompts().menu("category", chosen))


@bp.post("/ivr/category")
@with_call
def category(state):
    return _menu_step(state, "category", "category", default="other",
                      next_step=lambda lang, _state, _chosen: prompts().menu("mode", lang))


@bp.post("/ivr/mode")
@with_call
def mode(state):
    return _menu_step(state, "mode", None, default=complaints.VOICEMAIL, next_step=_after_mode)


@bp.post("/ivr/confirm")
@with_call
def confirm(state):
    return _menu_step(state, "confirm", None, default="confirm", next_step=_after_confirm)


@bp.post("/ivr/number")
@with_call
def number(state):
    lang = state.call.language or settings.default_language()
    typed = ivr.typed_number(request.form.get("Digits"))
    if typed is None:
        if _attempt() < ivr.MAX_ATTEMPTS:
            return twiml(prompts().enter_number(lang, _attempt() + 1, notice="bad_number"))
        if not state.call.caller:  # no number to call back at all: a message is the way left
            return twiml(prompts().record(lang, notice="bad_number"))
        typed = state.call.caller
    intake().store.save(state.call.call_sid, callback_number=typed)
    return twiml(prompts().menu("window", lang))


@bp.post("/ivr/window")
@with_call
def window(state):
    lang = state.call.language or settings.default_language()
    choice = _choice("window")
    if choice is None and _attempt() < ivr.MAX_ATTEMPTS:
        return twiml(prompts().menu("window", lang, _attempt() + 1, notice="not_understood"))
    start, end = ivr.callback_window(choice or "any", datetime.now(UTC), settings.callback_zone(),
                                     settings.callback_slots())
    state = intake().store.save(state.call.call_sid, window_start=start, window_end=end)
    number = state.call.callback_number or state.call.caller
    if not number:
        return twiml(prompts().enter_number(lang))
    if not state.call.callback_number:
        state = intake().store.save(state.call.call_sid, callback_number=number)
    if not outcomes().finish(state.call.call_sid, complaints.CALLBACK):
        # Nothing claimed: when the call ends, its status callback tries again (a callback request).
        return twiml(prompts().goodbye(lang, "unavailable"))
    return twiml(prompts().goodbye(lang, "callback_taken", number=texts.spelled(number),
                                   reference=texts.spelled(outcomes().reference(state.call.call_sid))))


def _menu_step(state, step, field, default, next_step):
    lang = state.call.language or settings.default_language()
    choice = _choice(step)
    if choice is None and _attempt() < ivr.MAX_ATTEMPTS:
        return twiml(prompts().menu(step, lang, _attempt() + 1, notice="not_understood",
                                    **_menu_values(step, state)))
    chosen = choice or default
    if field:
        state = intake().store.save(state.call.call_sid, **{field: chosen})
    return twiml(next_step(lang, state, chosen))


def _menu_values(step, state) -> dict:
    return {"number": texts.spelled(state.call.caller or "")} if step == "confirm" else {}


def _after_mode(lang, state, chosen):
    if chosen == complaints.VOICEMAIL:
        return prompts().record(lang)
    if state.call.caller:
        return prompts().menu("confirm", lang, number=texts.spelled(state.call.caller))
    return prompts().enter_number(lang)


def _after_confirm(lang, state, chosen):
    if chosen == "confirm" and state.call.caller:
        intake().store.save(state.call.call_sid, callback_number=state.call.caller)
        return prompts().menu("window", lang)
    return prompts().enter_number(lang)


# --- the recording, its transcription, and the end of the call --------------------------


@bp.errorhandler(Refused)
def refused(exc: Refused):
    """What Twilio sent makes no complaint the contract takes: a 400 Twilio's debugger shows."""
    log.warning("call not taken: %s", exc)
    return Response(f"not taken: {exc}\n", status=400, mimetype="text/plain")


def _save_recording(state):
    """Keep what the recording callback brings; what Twilio could never send is left out, and noted."""
    kept = callbacks.recording(request.form)
    if kept.dropped:
        log.warning("recording fields left out", extra={"call_sid": state.call.call_sid, "dropped": kept.dropped})
        kept.fields["dropped"] = {**(state.call.dropped or {}), **kept.dropped}
    return intake().store.save(state.call.call_sid, **kept.fields)


@bp.post("/recording")
@with_call
def recording(state):
    """Record's action: the caller is still on the line (or just hung up)."""
    lang = state.call.language or settings.default_language()
    if not request.form.get("RecordingUrl"):
        return twiml(prompts().goodbye(lang, "no_recording"))
    state = _save_recording(state)
    if not outcomes().finish(state.call.call_sid, complaints.VOICEMAIL):
        # The recording is kept by Twilio and its status callback publishes it
        # again (and is answered 503 until the broker confirms), so this is true:
        log.warning("voicemail not confirmed yet; the recording status callback will retry",
                    extra={"call_sid": state.call.call_sid})
    reference = texts.spelled(outcomes().reference(state.call.call_sid))
    return twiml(prompts().goodbye(lang, "recorded", reference=reference))


@bp.post("/recording-status")
@with_call
def recording_status(state):
    status = request.form.get("RecordingStatus", "completed")
    if status != "completed" or not request.form.get("RecordingUrl"):
        log.warning("recording not available", extra={"call_sid": state.call.call_sid, "status": status})
        return Response(status=204)
    state = _save_recording(state)
    return _done(outcomes().finish(state.call.call_sid, complaints.VOICEMAIL))


@bp.post("/transcription")
@with_call
def transcription(state):
    form = request.form
    status = form.get("TranscriptionStatus", "")
    text = (form.get("TranscriptionText") or "").strip()
    if status != "completed" or not text:
        intake().store.save(state.call.call_sid, transcription_status=status[:20] or "failed")
        log.info("no transcription", extra={"call_sid": state.call.call_sid, "status": status})
        return Response(status=204)
    problem = callbacks.transcription_problem(text)
    if problem:  # refused before it is stored: kept, it would make the voicemail itself one the contract refuses
        raise Refused({"TranscriptionText": problem})
    if form.get("RecordingUrl") and not state.call.recording_url:
        state = _save_recording(state)
    intake().store.save(state.call.call_sid, transcription=text, transcription_status=status)
    return _done(outcomes().transcription_arrived(state.call.call_sid))


@bp.post("/status")
@with_call
def call_status(state):
    status = (request.form.get("CallStatus") or "").lower()
    state = intake().store.save(state.call.call_sid, call_status=status[:20])
    if status not in FINAL_STATUSES or state.primary_kind is not None and state.published:
        return Response(status=204)
    kind = state.primary_kind or ended_kind(state, settings.missed_calls())
    if kind is None:
        return Response(status=204)
    return _done(outcomes().finish(state.call.call_sid, kind))


def _done(confirmed: bool):
    return Response(status=204) if confirmed else unavailable()
