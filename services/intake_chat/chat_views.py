"""The web chat page and knowledge-base suggestions.

A chat is a ticket of channel "chat": starting it publishes the first message
as a ComplaintReceived (reference and tracking token told at once); each later
message goes through customer_views.add_message with channel "chat" and the
browser's own message id, so a retry is the same message. The page follows the
public view (polling GET /complaints/<ref>?format=json) for the agent's replies.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from flask import Blueprint, jsonify, render_template, request

from services.common.contract import reference
from services.common.contract.complaint import CATEGORIES
from services.common.messaging.publisher import BrokerUnavailable

from . import countries, form, idempotency, metrics, payload, replies
from .kb_client import KnowledgeBaseUnavailable
from .views import intake, publish

bp = Blueprint("chat", __name__)


def agent_wait_seconds() -> float:
    return float(os.environ.get("CHAT_AGENT_WAIT_SECONDS", 120))


def poll_seconds() -> float:
    return float(os.environ.get("CHAT_POLL_SECONDS", 2))


@bp.get("/chat")
def chat_page():
    return render_template("chat.html", categories=CATEGORIES, languages=replies.LANGUAGES,
                           countries=countries.COUNTRIES, country=replies.browser_country(),
                           wait_seconds=agent_wait_seconds(), poll_seconds=poll_seconds(),
                           chat_id=form.new_submission_id())


@bp.post("/chat")
def start_chat():
    """JSON {chat_id, body, name?, email?, phone?, category?, language?, country?} -> 202
    {reference, tracking_token, tracking_url}. chat_id is the idempotency key: the same
    again gets the same answer, with other content 409 (idempotency.py)."""
    try:
        fields = payload.read_fields(request)
    except payload.BadPayload as exc:
        metrics.rejected(exc.reason, "chat")
        return replies.json_error(exc.status, exc.reason, exc.detail)
    fields = dict(fields)
    fields["submission_id"] = fields.pop("chat_id", None) or fields.get("submission_id")
    try:
        complaint = form.parse(fields, intake().secret, channel="chat", require_contact=False,
                               regions=intake().regions)
    except form.FormInvalid as exc:
        metrics.rejected("invalid", "chat")
        errors = {("chat_id" if k == "submission_id" else k): v for k, v in exc.errors.items()}
        return replies.json_error(422, "invalid", "some fields need correcting", fields=errors)
    try:
        with idempotency.claimed(complaint, fields.get("country")):
            publish(complaint)
    except idempotency.KeyReused as exc:
        return replies.json_error(409, "conflict", idempotency.conflict_detail(exc))
    except (BrokerUnavailable, idempotency.LedgerUnavailable):
        return replies.json_error(503, "unavailable", "the chat could not be started; try again",
                                  headers=replies.unavailable_headers())
    ref = complaint.reference
    token = reference.tracking_token(ref, intake().secret)
    response = jsonify({"reference": ref, "tracking_token": token, "status": "received",
                        "tracking_url": f"{intake().base_url}/complaints/{ref}?token={quote(token)}"})
    response.status_code = 202
    return response


@bp.get("/suggestions")
def suggestions():
    """?q=what the customer is writing&category=&language= -> {"items": [{id, title, body}]}.
    Always 200: an unreachable knowledge base gives no suggestions, not an error."""
    query = request.args.get("q", "").strip()
    if len(query) < 3:
        return jsonify({"items": []})
    category = request.args.get("category") or None
    try:
        items = intake().knowledge_base.suggest(query, category if category in CATEGORIES else None,
                                                request.args.get("language") or None)
    except (KnowledgeBaseUnavailable, LookupError) as exc:
        metrics.suggestions("unavailable")
        return jsonify({"items": [], "unavailable": True, "detail": str(exc)})
    metrics.suggestions("shown" if items else "none")
    return jsonify({"items": items})


@bp.post("/suggestions/<int(max=2147483647):article_id>/feedback")
def suggestion_feedback(article_id):
    try:
        body = payload.read_fields(request)
    except payload.BadPayload as exc:
        kind = "bad_request" if exc.status == 400 else exc.reason
        return replies.json_error(exc.status, kind, f'{exc.detail}; send JSON {{"helped": true or false}}')
    if not isinstance(body.get("helped"), bool):
        return replies.json_error(400, "bad_request", 'send JSON {"helped": true or false}')
    query = body.get("query") if isinstance(body.get("query"), str) else None
    try:
        intake().knowledge_base.feedback(article_id, body["helped"], query)
    except LookupError:
        return replies.json_error(404, "not_found", "no such article")
    except KnowledgeBaseUnavailable:
        return replies.json_error(503, "unavailable", "your answer could not be recorded just now",
                                  headers=replies.unavailable_headers())
    return jsonify({"status": "recorded"})
