"""What a customer does on their own ticket, with its tracking token: write
again, choose how we follow up, and rate the resolution. Forms for the
tracking page (answers are pages) and JSON for the chat page."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from services.common.contract.complaint import EMAIL_RE, PHONE_RE
from services.common.messaging.publisher import BrokerUnavailable

from . import form, idempotency, metrics, payload, replies
from .tickets_client import RemoteCallError
from .views import intake, public_view, publish, verified_reference

bp = Blueprint("customer", __name__)

FOLLOW_UP_CHANNELS = ("email", "whatsapp")
MAX_COMMENT = 2000


def _fields() -> dict:
    try:
        return payload.read_fields(request)
    except payload.BadPayload as exc:
        return {"_bad": exc}


def _token(fields) -> str | None:
    return request.args.get("token") or fields.get("token")


def _tracking(canonical, token, done=None):
    return redirect(url_for("intake.track", ref=canonical, token=token, done=done) + "#main", code=303)


@bp.post("/complaints/<ref>/messages")
def add_message(ref):
    """A further message from the tracking page ("web") or the chat ("chat")."""
    fields = _fields()
    token = _token(fields)
    canonical = verified_reference(ref, token)
    if "_bad" in fields:
        exc = fields["_bad"]
        return replies.error(exc.status, exc.reason, "We could not read your message", exc.detail)
    channel = "chat" if fields.get("channel") == "chat" else "web"
    try:
        complaint = form.follow_up(canonical, fields, intake().secret, channel)
    except form.FormInvalid as exc:
        metrics.rejected("invalid", channel)
        if replies.wants_html():
            return _tracking_page(canonical, token, errors=exc.errors, values=fields, status=422)
        return replies.json_error(422, "invalid", "some fields need correcting", fields=exc.errors)
    try:
        if public_view(canonical)["status"] in ("received", "delayed"):
            # The first message is still on its way to becoming a ticket: this one
            # would otherwise race it and open a ticket of its own.
            if replies.wants_html():
                return _tracking_page(canonical, token, values=fields, status=409, notice=(
                    "We are still filing your complaint. Please send your message again in a moment."))
            return replies.json_error(409, "not_ready", "your conversation is being opened; send again in a moment",
                                      headers={"Retry-After": "1"})
        with idempotency.claimed(complaint):
            publish(complaint)
    except idempotency.KeyReused as exc:
        if replies.wants_html():
            return _tracking_page(canonical, token, values=fields, status=409, notice=(
                "This message form was already sent, with a different text, so we did not send it again. "
                "If this is another message, check it below and send it."))
        return replies.json_error(409, "conflict", idempotency.conflict_detail(exc))
    except (BrokerUnavailable, idempotency.LedgerUnavailable):
        if replies.wants_html():
            return _tracking_page(canonical, token, values=fields, status=503, headers=replies.unavailable_headers(),
                                  notice="We could not take your message just now and nothing was saved. "
                                         "Please try again in a minute.")
        return replies.json_error(503, "unavailable", "the message was not taken; send it again",
                                  headers=replies.unavailable_headers())
    if replies.wants_html():
        return _tracking(canonical, token, "message")
    response = jsonify({"status": "sent", "reference": canonical, "message_id": fields.get("message_id")})
    response.status_code = 202
    return response


@bp.post("/complaints/<ref>/follow-up")
def follow_up(ref):
    """{"channel": "email"|"whatsapp", "address": ...}: where we answer from now on."""
    fields = _fields()
    token = _token(fields)
    canonical = verified_reference(ref, token)
    channel = (fields.get("channel") or "").strip() if isinstance(fields.get("channel"), str) else ""
    address = (fields.get("address") or "").strip() if isinstance(fields.get("address"), str) else ""
    errors = {}
    if channel not in FOLLOW_UP_CHANNELS:
        errors["channel"] = "choose email or WhatsApp"
    elif channel == "email" and not EMAIL_RE.fullmatch(address):
        errors["address"] = "enter an email address, like name@example.com"
    elif channel == "whatsapp":
        address = form.tidy_phone(address) or ""
        if not PHONE_RE.fullmatch(address):
            errors["address"] = "enter a WhatsApp number with its country code, like +351 912 345 678"
    if not errors:
        try:
            intake().tickets.set_follow_up(canonical, channel, address)
        except RemoteCallError as exc:
            errors["address"] = exc.detail
    if errors:
        if replies.wants_html():
            return _tracking_page(canonical, token, follow_up_errors=errors, values=fields, status=422)
        return replies.json_error(422, "invalid", "some fields need correcting", fields=errors)
    if replies.wants_html():
        return _tracking(canonical, token, "follow_up")
    return jsonify({"status": "saved", "follow_up": {"channel": channel, "address": address}})


@bp.get("/complaints/<ref>/survey")
def survey(ref):
    token = request.args.get("token")
    view = public_view(verified_reference(ref, token))
    return render_template("survey.html", view=view, token=token, ratings=replies.RATINGS, errors={}, values={})


@bp.post("/complaints/<ref>/survey")
def answer_survey(ref):
    fields = _fields()
    token = _token(fields)
    canonical = verified_reference(ref, token)
    errors = {}
    raw = str(fields.get("rating") or "").strip()
    rating = int(raw) if raw.isdigit() else None
    if rating is None or not 1 <= rating <= 5:
        errors["rating"] = "choose how satisfied you are, from 1 to 5"
    comment = str(fields.get("comment") or "").strip()[:MAX_COMMENT] or None
    try:
        if not errors:
            intake().tickets.record_survey(canonical, rating, comment)
    except RemoteCallError as exc:
        errors["rating"] = exc.detail
    if errors:
        if not replies.wants_html():
            return replies.json_error(422, "invalid", "some fields need correcting", fields=errors)
        return render_template("survey.html", view=public_view(canonical), token=token, ratings=replies.RATINGS,
                               errors=errors, values=fields), 422
    if replies.wants_html():
        return _tracking(canonical, token, "survey")
    return jsonify({"status": "saved", "rating": rating})


def _tracking_page(canonical, token, status=200, headers=None, **context):
    html = render_template("tracking.html", view=public_view(canonical), token=token,
                           submission_id=form.new_submission_id(), ratings=replies.RATINGS, **context)
    return html, status, headers or {}
