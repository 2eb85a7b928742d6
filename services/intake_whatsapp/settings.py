"""The WhatsApp intake's configuration, from the environment (README lists every variable)."""

from __future__ import annotations

import os

from services.common import config

NAME = "intake_whatsapp"
ENV_SHOWN = ("AMQP_URI", "PUBLIC_WHATSAPP_URL", "TWILIO_AUTH_TOKEN", "WHATSAPP_CONVERSATION_WINDOW_SECONDS",
             "WHATSAPP_DEFAULT_LANGUAGE", "WHATSAPP_CLAIM_SECONDS", "WHATSAPP_DUPLICATE_WAIT_SECONDS",
             "INTAKE_WHATSAPP_WORKERS", "INTAKE_WHATSAPP_THREADS", "DATABASE_URL", "INTAKE_WHATSAPP_DATABASE_URL",
             "TRACKING_SECRET", "PUBLIC_BASE_URL")


def public_url() -> str:
    """The URL Twilio is configured to call, up to the service's own paths (Twilio signs it)."""
    return os.environ.get("PUBLIC_WHATSAPP_URL", f"http://localhost:{config.port(NAME)}").rstrip("/")


def auth_token() -> str | None:
    return os.environ.get("TWILIO_AUTH_TOKEN") or None


def window_seconds() -> float:
    """Messages from one number this close to its previous one join the same complaint."""
    return float(os.environ.get("WHATSAPP_CONVERSATION_WINDOW_SECONDS", 24 * 3600))


def default_language() -> str:
    return os.environ.get("WHATSAPP_DEFAULT_LANGUAGE", "en")


def claim_seconds() -> float:
    """How long a request may take to publish a message before another
    delivery of it may take over (longer than a publish can take)."""
    return float(os.environ.get("WHATSAPP_CLAIM_SECONDS", 30))


def duplicate_wait_seconds() -> float:
    """How long a second delivery of a message being published waits for the
    first one's outcome before answering 503 (well under Twilio's 15 s timeout)."""
    return float(os.environ.get("WHATSAPP_DUPLICATE_WAIT_SECONDS", 5))
