"""The console's settings from environment variables, with working local defaults."""

from __future__ import annotations

import hashlib
import hmac
import os

from services.common import config

NAME = "console"
# CONSOLE_BOOTSTRAP_ADMIN is never shown: it holds a password (only its name is logged).
ENV_SHOWN = ("AMQP_URI", "CONSOLE_PORT", "CONSOLE_DATABASE_URL", "DATABASE_URL", "ROUTER_URL",
             "RPC_TIMEOUT_SECONDS", "CONSOLE_SESSION_HOURS", "CONSOLE_COOKIE_SECURE", "CONSOLE_SECRET_KEY",
             "CONSOLE_WORKERS", "CONSOLE_THREADS", "CHAT_POLL_SECONDS")


def port() -> int:
    return config.port(NAME)


def database_url() -> str:
    return config.database_url(NAME)


def secret_key() -> str:
    """Signs the CSRF tokens. CONSOLE_SECRET_KEY, else derived from the tracking
    secret (itself kept under var/ locally), so every worker and replica agrees."""
    given = os.environ.get("CONSOLE_SECRET_KEY")
    if given:
        return given
    return hmac.new(config.tracking_secret().encode(), b"console csrf", hashlib.sha256).hexdigest()


def session_hours() -> float:
    return float(os.environ.get("CONSOLE_SESSION_HOURS", 12))


def cookie_secure() -> bool:
    """Send the session cookie over HTTPS only (set 1 behind TLS)."""
    return os.environ.get("CONSOLE_COOKIE_SECURE", "0") == "1"


def router_url() -> str:
    return config.service_url("router")


def bootstrap_admin() -> tuple[str, str] | None:
    """CONSOLE_BOOTSTRAP_ADMIN=name:password: a supervisor created at start if missing."""
    value = os.environ.get("CONSOLE_BOOTSTRAP_ADMIN", "")
    name, sep, password = value.partition(":")
    return (name.strip(), password) if sep and name.strip() and password else None


def poll_seconds() -> float:
    return float(os.environ.get("CHAT_POLL_SECONDS", 2))
