"""Twilio's WhatsApp webhooks. The signature was checked before any route runs
(services/common/twilio_webhooks.py); the rules live in messages.py."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from prometheus_client import Counter

from services.common.reference import reference_for
from services.common.twilio_ids import is_sid
from services.common.webhook_intake import current, unavailable

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
    except messages.InvalidMessage as exc:
        return _refuse(fields, exc)
    intake_id = intake().intake_id(message.message_sid)
    recorded = intake().store.record(message, intake_id, reference_for(intake_id), settings.window_seconds())
    language = messages.language_for(message.number, settings.default_language())
    if recorded.published:
        # Twilio delivered it again after our answer: one ticket message, and one acknowledgement.
        intake().metrics.duplicate()
        log.info("duplicate delivery", extra={"message_sid": message.message_sid})
        return Response(replies.nothing(), mimetype=TWIML)
    try:
        complaint = messages.to_complaint(message, recorded.intake_id, recorded.received_at,
                                          recorded.thread_reference)
    except messages.InvalidMessage as exc:
        return _refuse(fields, exc)
    if not intake().publish(complaint):
        return unavailable()  # Twilio may retry; the MessageSid keeps the retry harmless
    intake().store.mark_published(message.message_sid)
    log.info("whatsapp message taken", extra={"reference": recorded.ack_reference, "follow_up": recorded.follow_up,
                                              "message_sid": message.message_sid})
    return Response(replies.acknowledgement(recorded.ack_reference, recorded.follow_up, language), mimetype=TWIML)


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
