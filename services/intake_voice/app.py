"""The Flask application of the phone intake: wiring only (routes in views.py)."""

from __future__ import annotations

from flask import Flask

from services.common import config
from services.common.privacy import flask_side
from services.common.privacy.background import PrivacyWorker
from services.common.web import webhook_intake

from . import settings, views
from .complaints import CHANNEL
from .outcomes import Outcomes
from .privacy import VoicePrivacy, twilio_recordings
from .prompts import Prompts
from .store import VoiceStore

REASONS = ("bad_signature", "broker_unavailable")


def create_app(publisher=None, engine=None) -> Flask:
    # A wrong VOICE_CALLBACK_SLOTS, VOICE_CALLBACK_TIMEZONE, VOICE_NUMBER_REGION or
    # REGION_BY_COUNTRY stops the start, not a caller's call.
    settings.callback_slots()
    settings.callback_zone()
    regions, number_region = settings.regions(), settings.number_region()
    app, intake = webhook_intake.create_app(__name__, settings.NAME, CHANNEL, REASONS, settings.public_url(),
                                            settings.auth_token(), publisher, engine)
    intake.store = VoiceStore(intake.engine)
    app.extensions["intake_voice.outcomes"] = Outcomes(intake, intake.store, regions, number_region)
    app.extensions["intake_voice.prompts"] = Prompts(settings.public_url(), settings.gather_timeout(),
                                                     settings.max_recording_seconds(), settings.transcribe())
    app.register_blueprint(views.bp)
    outcomes = app.extensions["intake_voice.outcomes"]
    privacy = VoicePrivacy(intake.engine, outcomes.reference, twilio_recordings())
    flask_side.install(app, privacy, lambda: PrivacyWorker(privacy, config.amqp_uri()))
    return app
