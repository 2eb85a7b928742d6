"""The email intake's small HTTP side: health, metrics, the quarantine, the
skipped list and each mailbox's status (Flask, served by werkzeug in a thread)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from services.common.auth.flask_guard import guard
from services.common.privacy import flask_side
from services.common.web import front, http_error, readiness, security_headers

from . import metrics


def create_app(service) -> Flask:
    """`service` is the running IntakeEmailService (store, publisher, pollers)."""
    app = Flask("intake_email", static_folder=None)
    guard(app, "intake_email")   # every path but health and metrics wants a token
    front.install(app, security_headers.JSON_API, description="intake_email")
    app.register_error_handler(HTTPException, http_error)  # a 404 or 405 in JSON too, not an HTML page
    app.register_blueprint(flask_side.blueprint("intake_email", lambda: service.privacy))   # POST /privacy/export

    @app.get("/health/live")
    def live():
        return jsonify({"status": "ok"})

    @app.get("/health/ready")
    def ready():
        probes = {"broker": service.check_broker, "database": service.store.ping}
        for poller in service.pollers:
            probes[f"mailbox:{poller.mailbox.name}"] = _connected(poller)
        return readiness(probes)

    @app.get("/metrics")
    def metrics_page():
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)

    @app.get("/mailboxes")
    def mailboxes():
        checkpoints = service.store.all_checkpoints()
        return jsonify({"mailboxes": [
            {**p.status(), "checkpoint": checkpoints.get(p.mailbox.name),
             "handled": service.store.counts(p.mailbox.name)}
            for p in service.pollers]})

    @app.get("/quarantine")
    def quarantine():
        limit, offset = _paging()
        # The raw bytes only on request (?raw=1): a quarantined message may be megabytes.
        return jsonify(service.store.quarantined(limit, offset, with_raw=request.args.get("raw") == "1"))

    @app.get("/quarantine/<int(max=2147483647):item_id>/raw")
    def quarantine_raw(item_id):
        raw = service.store.quarantined_raw(item_id)
        if raw is None:
            return jsonify({"error": "not_found", "detail": f"no quarantined message {item_id}"}), 404
        return Response(raw, content_type="message/rfc822")

    @app.get("/skipped")
    def skipped():
        limit, offset = _paging()
        return jsonify(service.store.skipped_list(limit, offset))

    return app


def _connected(poller):
    def probe():
        if not poller.connected:
            raise ConnectionError(poller.last_error or poller.state)
    return probe


def _paging() -> tuple[int, int]:
    def number(name, default, maximum):
        try:
            return max(0, min(int(request.args.get(name, default)), maximum))
        except ValueError:
            return default
    return number("limit", 100, 500) or 1, number("offset", 0, 10**9)
