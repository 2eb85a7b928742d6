"""The Flask application of the WhatsApp intake: wiring only (routes in views.py)."""

from __future__ import annotations

from flask import Flask

from services.common import config
from services.common.intake_metrics import IntakeMetrics
from services.common.twilio_webhooks import TwilioSignatureCheck
from services.common.webhook_intake import WebhookIntake, probes

from . import settings, views
from .messages import CHANNEL
from .store import WhatsAppStore

REASONS = ("bad_signature", "invalid", "broker_unavailable")


def create_app(publisher=None, engine=None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes()
    metrics = IntakeMetrics(CHANNEL, REASONS)
    intake = WebhookIntake(settings.NAME, metrics, publisher=publisher, engine=engine)
    intake.store = WhatsAppStore(intake.engine)
    app.extensions[settings.NAME] = intake
    TwilioSignatureCheck(settings.auth_token(), settings.public_url()).install(app, metrics.rejected)
    app.register_blueprint(probes(settings.NAME))
    app.register_blueprint(views.bp)
    return app
