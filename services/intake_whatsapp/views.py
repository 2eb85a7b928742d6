"""Twilio's WhatsApp webhooks. The signature was checked before any route runs
(services/common/twilio_webhooks.py); the rules live in messages.py."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from prometheus_client import Counter

from services.common.channels.twilio_ids import is_sid
from services.common.contract.complaint import utc_now_iso
from services.common.contract.reference import reference_for
from services.common.web.webhook_intake import current, unavailable

from . import messages, replies, settings

log = logging.getLogger(settings.NAME)
bp = Blueprint("whatsapp", __name__)

TWIML = "application/xml"
KNOWN_STATUSES = ("accepted", "queued", "sending", "sent", "delivered", "read", "undelivered", "failed",
                  "receiving", "received", "scheduled", "canceled")
STATUS_CALLBACKS = Counter("complaints_whatsapp_status_callbacks_total",
                           "Delivery statuses Twilio reported for WhatsApp messages", ["status"])


def intake():
    return current(settings.NAME)


@bp.post("/messages")
def inbound():
    fields = request.form
    try:
        message = messages.parse_inbound(fields)
        intake_id = intake().intake_id(message.message_sid)
        messages.check(message, intake_id, utc_now_iso())
    except messages.InvalidMessage as exc:
        return _refuse(fields, exc)
    recorded = intake().store.record(message, intake_id, reference_for(intake_id), settings.window_seconds())
    if recorded.claim is None:  # another delivery of it came first: its outcome decides
        recorded = intake().store.await_turn(message.message_sid, settings.claim_seconds(),
                                             settings.duplicate_wait_seconds())
    if recorded.published:
        # Twilio delivered it again: one ticket message, and the one acknowledgement was the first answer's.
        intake().metrics.duplicate()
        log.info("duplicate delivery", extra={"message_sid": message.message_sid})
        return Response(replies.nothing(), mimetype=TWIML)
    if recorded.claim is None:
        # Still being published by another request, which may yet fail: not 2xx, so nothing is lost.
        intake().metrics.rejected("in_progress")
        log.info("delivery of a message still being published: retry", extra={"message_sid": message.message_sid})
        return unavailable("this message is being taken by another delivery; retry to learn the outcome")
    return _publish(message, recorded)


def _publish(message: messages.Inbound, recorded) -> Response:
    """The claim's holder: publish with confirms, then acknowledge; on failure give the claim back."""
    language = messages.language_for(message.number, settings.default_language())
    try:
        complaint = messages.to_complaint(message, recorded.intake_id, recorded.received_at,
                                          recorded.thread_reference)
    except messages.InvalidMessage as exc:
        intake().store.release(message.message_sid, recorded.claim)
        return _refuse(request.form, exc)
    if not intake().publish(complaint):
        intake().store.release(message.message_sid, recorded.claim)
        return unavailable()  # Twilio may retry; the MessageSid keeps the retry harmless
    intake().store.mark_published(message.message_sid)
    log.info("whatsapp message taken", extra={"reference": recorded.ack_reference, "follow_up": recorded.follow_up,
                                              "message_sid": message.message_sid})
    tracking_url = intake().tracking_url(recorded.ack_reference)
    return Response(replies.acknowledgement(recorded.ack_reference, recorded.follow_up, language, tracking_url),
                    mimetype=TWIML)


@bp.post("/status")
def status():
    """Delivery status of a message we sent (the notifier's answers)."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    state = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    if not is_sid(sid) or not state:
        return Response("MessageSid (a Twilio message id) and MessageStatus are required\n", status=400,
                        mimetype="text/plain")
    intake().store.save_status(sid, state, request.form.get("ErrorCode"))
    STATUS_CALLBACKS.labels(state if state in KNOWN_STATUSES else "other").inc()
    if state in ("failed", "undelivered"):
        log.warning("whatsapp message not delivered", extra={"message_sid": sid, "status": state,
                                                            "error_code": request.form.get("ErrorCode")})
    return Response(status=204)


def _refuse(fields, exc: messages.InvalidMessage):
    """Kept whole with the reason (never lost), counted, and answered 400 so
    the failure shows in Twilio's debugger."""
    raw = {name: fields.getlist(name) if len(fields.getlist(name)) > 1 else fields.get(name) for name in fields}
    qid = intake().store.quarantine(fields.get("MessageSid"), str(exc), raw)
    intake().metrics.rejected("invalid")
    log.warning("whatsapp message quarantined", extra={"quarantine_id": qid, "reason": str(exc)})
    return Response(f"not taken: {exc}\n", status=400, mimetype="text/plain")
