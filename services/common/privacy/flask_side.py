"""POST /privacy/export on a Flask service (the Twilio intakes, the email intake):
this service's part of a subject-access export, for an operator.

The identifiers travel in the JSON body, never in the URL: URLs end up in access
logs and proxies' logs. An operator's token is required (write scope: an export
discloses a person's data in bulk); a service's token is refused, since no
service has reason to ask.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, g, jsonify, request

from services.common.auth.flask_guard import requires_token
from services.common.web import json_input

from .parts import PrivacyParts
from .subject import SubjectError, read_request

log = logging.getLogger(__name__)
PREFIX = "/privacy/"


def install(app: Flask, parts: PrivacyParts, worker_factory=None) -> None:
    """Add the export to `app`; `worker_factory()` makes the service's PrivacyWorker
    (background.py), started per process by start_background()."""
    app.register_blueprint(blueprint(parts.service, lambda: parts))
    app.extensions["privacy"] = {"parts": parts, "worker_factory": worker_factory, "worker": None}


def start_background(app: Flask) -> None:
    """In each worker process, after the fork: the erasure consumer and retention timer."""
    held = app.extensions.get("privacy")
    if held and held["worker_factory"] and held["worker"] is None:
        held["worker"] = held["worker_factory"]().start()


def stop_background(app: Flask) -> None:
    held = app.extensions.get("privacy")
    if held and held["worker"] is not None:
        held["worker"].stop()
        held["worker"] = None


def blueprint(service: str, parts_of) -> Blueprint:
    """parts_of() -> the service's PrivacyParts (looked up per request: an app may be made
    before the service it serves)."""
    bp = Blueprint(f"{service}_privacy", __name__)

    @bp.post("/privacy/export")
    @requires_token(service)
    def export():
        parts = parts_of()
        if not g.caller.operator:
            return _error(403, "forbidden", "a subject-access export is an operator's act; "
                                            "use an operator's token (python -m services.common.auth mint-operator)")
        try:
            body = json_input.parse(request.get_data(cache=True), request.mimetype_params.get("charset")) \
                if request.get_data(cache=True).strip() else {}
            subject, references = read_request(body)
        except json_input.JsonRefused as exc:
            return _error(400, "bad_request", str(exc))
        except SubjectError as exc:
            return _error(422, "invalid", str(exc))
        from . import metrics

        part = parts.export(subject, references)
        metrics.EXPORTS.labels(parts.service).inc()
        log.info("privacy: export answered", extra={"operator": g.caller.operator})
        return jsonify({"service": parts.service, **part})

    return bp


def _error(status: int, kind: str, detail: str):
    response = jsonify({"error": kind, "detail": detail})
    response.status_code = status
    return response
