"""What the Twilio webhook intakes (WhatsApp, voice) share: a publisher and a
database engine per worker process, confirmed publishing with its metrics,
deterministic intake ids, and the probes every service answers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import uuid
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.common import config, intake_metrics
from services.common.contract.complaint import ComplaintReceived
from services.common.contract.reference import tracking_url
from services.common.messaging.publisher import BrokerUnavailable, ComplaintPublisher
from services.common.storage.db import make_engine
from services.common.web import front, gunicorn_main, security_headers

log = logging.getLogger(__name__)

# Seconds Twilio (or a proxy) is told to wait before retrying a 503.
RETRY_AFTER_SECONDS = 10


def intake_id_for(key: str, secret: str, purpose: str) -> str:
    """The same channel id (a MessageSid, a CallSid) always gives the same intake
    id, hence the same reference: a retried webhook tells the customer the
    reference of the first attempt, and tickets folds the duplicate away.

    uuid5 over a namespace derived from the server's secret, so nobody can work
    out offline which id yields someone else's reference.
    """
    namespace = uuid.UUID(bytes=hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()[:16])
    return str(uuid.uuid5(namespace, key))


def iso_utc(moment: datetime) -> str:
    """A stored timestamp as the contract writes it; SQLite hands back what it
    stored without the zone, which is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class WebhookIntake:
    """One per worker process, kept in app.extensions[name]. The publisher's
    connection is opened on first use, so it belongs to the gunicorn worker,
    never inherited across a fork."""

    def __init__(self, name: str, metrics: intake_metrics.IntakeMetrics, publisher=None, engine=None):
        self.name = name
        self.metrics = metrics
        self._publisher = publisher
        self._lock = threading.Lock()
        self.engine = engine if engine is not None else make_engine(config.database_url(name))
        self.secret = config.tracking_secret()

    @property
    def publisher(self) -> ComplaintPublisher:
        with self._lock:
            if self._publisher is None:
                self._publisher = ComplaintPublisher(config.amqp_uri())
            return self._publisher

    def intake_id(self, key: str) -> str:
        return intake_id_for(key, self.secret, self.name)

    def tracking_url(self, reference: str) -> str:
        """The customer's tracking page (on the web intake), as the notifier links it."""
        return tracking_url(config.public_base_url(), reference, self.secret)

    def publish(self, complaint: ComplaintReceived) -> bool:
        """True once the broker confirmed; False (counted, logged) when it did not."""
        try:
            with self.metrics.publishing():
                self.publisher.publish(complaint)
        except BrokerUnavailable as exc:
            self.metrics.rejected("broker_unavailable")
            log.warning("complaint not confirmed by the broker: %s", exc,
                        extra={"intake_id": complaint.intake_id, "external_id": complaint.external_id})
            return False
        self.metrics.received()
        log.info("complaint published", extra={"reference": complaint.reference, "intake_id": complaint.intake_id,
                                               "external_id": complaint.external_id})
        return True

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
        self.engine.dispose()


def create_app(import_name: str, name: str, channel: str, reasons: tuple[str, ...], public_url: str,
               auth_token: str | None, publisher=None, engine=None) -> tuple[Flask, WebhookIntake]:
    """A Flask app whose every route but the probes requires Twilio's signature;
    the service adds its own blueprint and state to what is returned."""
    from services.common.channels.twilio_webhooks import TwilioSignatureCheck

    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes()
    metrics = intake_metrics.IntakeMetrics(channel, reasons)
    intake = WebhookIntake(name, metrics, publisher=publisher, engine=engine)
    app.extensions[name] = intake
    TwilioSignatureCheck(auth_token, public_url).install(app, metrics.rejected)
    app.register_blueprint(probes(name))
    app.register_error_handler(SQLAlchemyError, _database_unavailable)
    front.install(app, security_headers.JSON_API)
    return app, intake


def _database_unavailable(exc):
    """The intake's own database failed: nothing was decided or published, so
    Twilio is asked to retry instead of being told of a server error."""
    log.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
    return unavailable("the intake's database is unavailable; nothing was taken, please retry")


def current(name: str) -> WebhookIntake:
    return current_app.extensions[name]


def unavailable(detail: str = "RabbitMQ did not confirm; nothing was taken, please retry"):
    response = jsonify({"error": "unavailable", "detail": detail})
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def probes(name: str) -> Blueprint:
    """GET /health/live, /health/ready (broker and database answer) and /metrics."""
    bp = Blueprint(f"{name}_probes", __name__)

    @bp.get("/health/live")
    def live():
        return jsonify({"status": "ok"})

    @bp.get("/health/ready")
    def ready():
        intake = current(name)
        checks = {"rabbitmq": "ok" if intake.publisher.check() else "failed"}
        try:
            with intake.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure makes the service not ready; say which
            checks["database"] = f"failed: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        response = jsonify({"status": "ok" if ok else "unavailable", "checks": checks})
        response.status_code = 200 if ok else 503
        return response

    @bp.get("/metrics")
    def metrics():
        return gunicorn_main.metrics_response()

    return bp

