"""The Flask application of the WhatsApp intake: wiring only (routes in views.py)."""

from __future__ import annotations

from flask import Flask

from services.common.web import webhook_intake

from . import settings, views
from .messages import CHANNEL
from .store import WhatsAppStore

REASONS = ("bad_signature", "invalid", "broker_unavailable", "in_progress")


def create_app(publisher=None, engine=None) -> Flask:
    app, intake = webhook_intake.create_app(__name__, settings.NAME, CHANNEL, REASONS, settings.public_url(),
                                            settings.auth_token(), publisher, engine)
    intake.store = WhatsAppStore(intake.engine)
    app.register_blueprint(views.bp)
    return app
