"""Routes of the web intake. Each one reads the request, calls form.py, the
publisher or the tickets client, and answers; the rules live elsewhere."""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import NotFound

from services.common.contract import reference
from services.common.messaging.publisher import BrokerUnavailable

from . import form, idempotency, metrics, payload, replies
from .tickets_client import TicketsUnavailable

log = logging.getLogger("intake_chat")
bp = Blueprint("intake", __name__)


def intake():
    return current_app.extensions["intake_chat"]


@bp.get("/")
@bp.get("/complaints/new")
def new_complaint():
    return replies.form_page()


@bp.post("/complaints")
def submit():
    html = replies.wants_html()
    try:
        fields = payload.read_fields(request)
    except payload.BadPayload as exc:
        metrics.rejected(exc.reason)
        kind = "bad_request" if exc.status == 400 else exc.reason
        return replies.error(exc.status, kind, "We could not read your complaint", exc.detail)
    try:
        complaint = form.parse(fields, intake().secret, regions=intake().regions)
    except form.FormInvalid as exc:
        metrics.rejected("invalid")
        if html:
            return replies.form_page(fields, exc.errors, status=422)
        return replies.json_error(422, "invalid", "some fields need correcting", fields=exc.errors)

    try:
        with idempotency.claimed(complaint, fields.get("country")):
            publish(complaint)
    except idempotency.KeyReused as exc:
        return _key_reused(fields, html, exc)
    except (BrokerUnavailable, idempotency.LedgerUnavailable) as exc:
        return _not_taken(fields, html, exc)
    return _receipt(complaint, html)


def publish(complaint) -> None:
    """Returns once RabbitMQ confirmed; raises BrokerUnavailable (counted, logged) otherwise."""
    try:
        with metrics.PUBLISH_SECONDS.time():
            intake().publisher.publish(complaint)
    except BrokerUnavailable as exc:
        metrics.rejected("broker_unavailable", complaint.channel)
        log.warning("complaint not accepted: %s", exc, extra={"intake_id": complaint.intake_id})
        raise
    metrics.received(complaint.channel)
    log.info("complaint accepted", extra={"reference": complaint.reference, "intake_id": complaint.intake_id,
                                          "channel": complaint.channel, "anonymous": complaint.customer.anonymous,
                                          "threads_to": complaint.threading.ticket_reference})


def _not_taken(fields, html, exc):
    """Nothing was confirmed, so nothing is claimed: the customer keeps the text
    and the same submission id, and a retry cannot make a duplicate."""
    if html:
        response = replies.form_page(fields, status=503, notice="We could not take your complaint just now "
                                     "and nothing was saved. Please try again in a minute.")
    else:
        response = replies.json_error(503, "unavailable", str(exc))
    response.headers.update(replies.unavailable_headers())
    return response


def _key_reused(fields, html, exc):
    """Someone sent this form (this submission id) before, with other details: a page
    sent twice after an edit (the back button). Never the first one's reference: the
    text stays, with a fresh submission id, to send as a complaint of its own."""
    if not html:
        return replies.json_error(409, "conflict", idempotency.conflict_detail(exc))
    values = {name: value for name, value in fields.items() if name != "submission_id"}
    return replies.form_page(values, status=409, notice=(
        "This form was already sent, with different details, so we did not send it again. "
        "If this is another complaint, check it below and send it: it will get a reference of its own."))


def _receipt(complaint, html):
    ref = complaint.reference
    token = reference.tracking_token(ref, intake().secret)
    if html:
        # A page, not a redirect to the tracking view: it must show the
        # reference even while the tickets service is down. Reloading it posts
        # the same submission id again, which gives the same reference.
        link = url_for("intake.track", ref=ref, token=token)
        return render_template("received.html", reference=ref, tracking_link=link, complaint=complaint)
    tracking_url = f"{intake().base_url}/complaints/{ref}?token={quote(token)}"
    response = jsonify({"reference": ref, "tracking_token": token, "intake_id": complaint.intake_id,
                        "status": "received", "tracking_url": tracking_url,
                        "submission_id": complaint.external_id})
    response.status_code = 202
    response.headers["Location"] = tracking_url
    return response


def verified_reference(ref: str, token: str | None) -> str:
    """The canonical reference when the token opens it; one answer (404) for an
    unknown reference and a wrong token, so a page never tells whether one exists."""
    canonical = reference.normalize_reference(ref)
    if not canonical or not reference.token_matches(canonical, token, intake().secret):
        raise NotFound("No complaint matches this link. Check that you copied the whole tracking link.")
    return canonical


def tickets_unavailable(exc: TicketsUnavailable):
    """Any page or endpoint that needs the tickets service answers this when it does not answer."""
    log.warning("tickets unavailable on %s %s: %s", request.method, request.path, exc)
    return replies.error(503, "unavailable", "Tracking is unavailable",
                         "We cannot show or change your complaint right now. Please try again in a minute.",
                         headers=replies.unavailable_headers())


def public_view(canonical: str) -> dict:
    """Raises TicketsUnavailable. A complaint published but not yet a ticket is 'received'."""
    view = intake().tickets.get_public_view(canonical)
    return view if view is not None else {"reference": canonical, "status": "received", "messages": []}


@bp.get("/complaints/<ref>")
def track(ref):
    token = request.args.get("token")
    canonical = verified_reference(ref, token)
    view = public_view(canonical)
    if not replies.wants_html():
        return jsonify(view)
    return render_template("tracking.html", view=view, token=token, submission_id=form.new_submission_id(),
                           ratings=replies.RATINGS, notice=_NOTICES.get(request.args.get("done")))


_NOTICES = {"message": "Your message was sent. It appears below once we have filed it.",
            "follow_up": "Thank you. We will follow up with you there.",
            "survey": "Thank you for rating our answer."}


@bp.get("/health/live")
def live():
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
def ready():
    """Ready when a complaint can be taken: RabbitMQ and the ledger's database answer."""
    down = [name for name, up in (("RabbitMQ", intake().publisher.check()), ("the database", intake().ledger.check()))
            if not up]
    if not down:
        return jsonify({"status": "ok"})
    verb = "is" if len(down) == 1 else "are"
    response = jsonify({"status": "unavailable", "detail": f"{' and '.join(down)} {verb} unreachable"})
    response.status_code = 503
    response.headers.update(replies.unavailable_headers())
    return response


@bp.get("/metrics")
def prometheus():
    return metrics.render()
