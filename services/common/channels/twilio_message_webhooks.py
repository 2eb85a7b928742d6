"""Twilio's messaging webhooks (WhatsApp, SMS): the Flask app of such an intake.

POST /messages takes an inbound message: parse it (the channel's rules),
decide once per MessageSid where it goes (twilio_message_store.py), publish
it with confirms, and only then answer 2xx with the channel's TwiML; a
redelivery answers empty TwiML and publishes nothing (the same MessageSid
with other content is no redelivery: it is quarantined whole and answered
409). POST /status keeps the delivery status of the messages we sent. The
signature was checked before any route runs
(services/common/channels/twilio_webhooks.py).

A channel brings a `MessagingChannel` (services/common/channels/twilio_messaging.py:
its fields, its complaint, its answer) and its tables; services/intake_whatsapp
and services/intake_sms are the examples.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from prometheus_client import Counter

from services.common import config
from services.common.channels import twilio_messaging
from services.common.channels.twilio_ids import is_sid
from services.common.channels.twilio_message_privacy import MessagingPrivacy
from services.common.channels.twilio_message_store import MessageStore, ReusedMessageSid
from services.common.channels.twilio_message_tables import MessageTables
from services.common.channels.twilio_messaging import MessagingChannel, Recorded, nothing
from services.common.channels.twilio_messaging_settings import MessagingSettings
from services.common.contract.complaint import utc_now_iso
from services.common.contract.reference import reference_for
from services.common.privacy import flask_side
from services.common.privacy.background import PrivacyWorker
from services.common.web import webhook_intake
from services.common.web.webhook_intake import current, unavailable

TWIML = "application/xml"
REASONS = ("bad_signature", "invalid", "broker_unavailable", "in_progress", "reused_id")
KNOWN_STATUSES = ("accepted", "queued", "sending", "sent", "delivered", "read", "undelivered", "failed",
                  "receiving", "received", "scheduled", "canceled")
_STATUS_CALLBACKS: dict[str, Counter] = {}


def create_app(import_name: str, settings: MessagingSettings, channel: MessagingChannel, tables: MessageTables,
               publisher=None, engine=None) -> Flask:
    app, intake = webhook_intake.create_app(import_name, settings.name, channel.name, REASONS, settings.public_url(),
                                            settings.auth_token(), publisher, engine)
    intake.store = MessageStore(intake.engine, tables)
    app.register_blueprint(blueprint(settings, channel))
    privacy = MessagingPrivacy(settings.name, intake.engine, tables)
    flask_side.install(app, privacy, lambda: PrivacyWorker(privacy, config.amqp_uri()))
    return app


def _raw(fields) -> dict:
    """Twilio's fields as they came, a repeated one as its list: what the quarantine keeps."""
    return {name: fields.getlist(name) if len(fields.getlist(name)) > 1 else fields.get(name) for name in fields}


def status_callbacks(channel: str) -> Counter:
    """complaints_<channel>_status_callbacks_total{status}: one per process, however many apps are made."""
    if channel not in _STATUS_CALLBACKS:
        _STATUS_CALLBACKS[channel] = Counter(f"complaints_{channel}_status_callbacks_total",
                                             f"Delivery statuses Twilio reported for {channel} messages", ["status"])
    return _STATUS_CALLBACKS[channel]


def blueprint(settings: MessagingSettings, channel: MessagingChannel) -> Blueprint:
    log = logging.getLogger(settings.name)
    bp = Blueprint(f"{channel.name}_messages", __name__)
    counted = status_callbacks(channel.name)

    def intake():
        return current(settings.name)

    @bp.post("/messages")
    def inbound():
        fields = request.form
        try:
            message = channel.parse(fields)
            intake_id = intake().intake_id(message.message_sid)
            # A message the contract refuses must not move its number's conversation (the
            # next message would be told a reference that never becomes a ticket); where it
            # threads changes nothing the contract checks.
            channel.to_complaint(message, intake_id, utc_now_iso(), None)
        except twilio_messaging.InvalidMessage as exc:
            return refuse(fields, exc)
        try:
            recorded = intake().store.record(message, intake_id, reference_for(intake_id), settings.window_seconds(),
                                             twilio_messaging.content_fingerprint(message, intake().secret))
        except ReusedMessageSid:
            return reused(fields, message.message_sid)
        if recorded.claim is None:  # another delivery of it came first: its outcome decides
            recorded = intake().store.await_turn(message.message_sid, settings.claim_seconds(),
                                                 settings.duplicate_wait_seconds())
        if recorded.published:
            # Twilio delivered it again: one ticket message, and the one acknowledgement was the first answer's.
            intake().metrics.duplicate()
            log.info("duplicate delivery", extra={"message_sid": message.message_sid})
            return Response(nothing(), mimetype=TWIML)
        if recorded.claim is None:
            # Still being published by another request, which may yet fail: not 2xx, so nothing is lost.
            intake().metrics.rejected("in_progress")
            log.info("delivery of a message still being published: retry", extra={"message_sid": message.message_sid})
            return unavailable("this message is being taken by another delivery; retry to learn the outcome")
        return publish(message, recorded)

    def publish(message, recorded: Recorded) -> Response:
        """The claim's holder: publish with confirms, then acknowledge; on failure give the claim back."""
        try:
            complaint = channel.to_complaint(message, recorded.intake_id, recorded.received_at,
                                             recorded.thread_reference)
        except twilio_messaging.InvalidMessage as exc:
            intake().store.release(message.message_sid, recorded.claim)
            return refuse(request.form, exc)
        if not intake().publish(complaint):
            intake().store.release(message.message_sid, recorded.claim)
            return unavailable()  # Twilio may retry; the MessageSid keeps the retry harmless
        intake().store.mark_published(message.message_sid)
        log.info("%s message taken", channel.name, extra={
            "reference": recorded.ack_reference, "follow_up": recorded.follow_up,
            "message_sid": message.message_sid, "region": complaint.region})
        answer = channel.answer(message, recorded, intake().tracking_url(recorded.ack_reference))
        return Response(answer, mimetype=TWIML)

    @bp.post("/status")
    def status():
        """Delivery status of a message we sent (the notifier's answers)."""
        sid = request.form.get("MessageSid") or request.form.get("SmsSid")
        state = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
        if not is_sid(sid) or not state:
            return Response("MessageSid (a Twilio message id) and MessageStatus are required\n", status=400,
                            mimetype="text/plain")
        intake().store.save_status(sid, state, request.form.get("ErrorCode"))
        counted.labels(state if state in KNOWN_STATUSES else "other").inc()
        if state in ("failed", "undelivered"):
            log.warning("%s message not delivered", channel.name, extra={
                "message_sid": sid, "status": state, "error_code": request.form.get("ErrorCode")})
        return Response(status=204)

    def refuse(fields, exc: twilio_messaging.InvalidMessage):
        """Kept whole with the reason (never lost), counted, and answered 400 so
        the failure shows in Twilio's debugger."""
        raw = _raw(fields)
        qid = intake().store.quarantine(fields.get("MessageSid"), str(exc), raw)
        intake().metrics.rejected("invalid")
        log.warning("%s message quarantined", channel.name, extra={"quarantine_id": qid, "reason": str(exc)})
        return Response(f"not taken: {exc}\n", status=400, mimetype="text/plain")

    def reused(fields, message_sid: str):
        """A MessageSid taken before, with other content: not Twilio's retry (that repeats the
        fields). Kept whole in the quarantine for an operator, never answered as the first
        message's duplicate (which would drop it unseen); 409 shows in Twilio's debugger."""
        raw = _raw(fields)
        reason = f"MessageSid {message_sid} was taken before with other content; not published"
        qid = intake().store.quarantine(message_sid, reason, raw)
        intake().metrics.rejected("reused_id")
        log.warning("%s message quarantined: MessageSid reused with other content", channel.name,
                    extra={"quarantine_id": qid, "message_sid": message_sid})
        return Response(f"not taken: {reason}\n", status=409, mimetype="text/plain")

    return bp
