"""The Flask application of the WhatsApp intake: wiring only (the webhooks are every
messaging intake's, services/common/channels/twilio_message_webhooks.py; the rules are in messages.py)."""

from __future__ import annotations

from flask import Flask

from services.common.channels import twilio_message_webhooks

from . import messages
from .schema import TABLES
from .settings import SETTINGS, default_language


def create_app(publisher=None, engine=None) -> Flask:
    channel = messages.channel(SETTINGS.region_map(), SETTINGS.number_region(), default_language())
    return twilio_message_webhooks.create_app(__name__, SETTINGS, channel, TABLES, publisher, engine)
