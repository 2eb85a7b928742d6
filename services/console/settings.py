"""The console's settings from environment variables, with working local defaults."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta

from services.common import config
from services.common.channels import smtp_out

from .schema import ROLES
from .sign_in_rules import LockoutPolicy, parse_roles

NAME = "console"
# CONSOLE_BOOTSTRAP_ADMIN is never shown: it holds a password (only its name is logged).
ENV_SHOWN = ("AMQP_URI", "CONSOLE_PORT", "CONSOLE_DATABASE_URL", "DATABASE_URL", "ROUTER_URL",
             "RPC_TIMEOUT_SECONDS", "CONSOLE_SESSION_HOURS", "CONSOLE_SESSION_IDLE_MINUTES", "CONSOLE_COOKIE_SECURE",
             "CONSOLE_COOKIE_SAMESITE", "CONSOLE_SECRET_KEY", "CONSOLE_WORKERS", "CONSOLE_THREADS",
             "CHAT_POLL_SECONDS", "CONSOLE_TOTP_REQUIRED_ROLES", "CONSOLE_TOTP_ISSUER", "CONSOLE_LOCKOUT_FAILURES",
             "CONSOLE_LOCKOUT_ADDRESS_FAILURES", "CONSOLE_LOCKOUT_SECONDS", "CONSOLE_LOCKOUT_MAX_SECONDS",
             "CONSOLE_PROXY_HOPS", "CONSOLE_RESET_MINUTES", "CONSOLE_PUBLIC_URL", "CONSOLE_PASSWORD_MIN_LENGTH",
             "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "MAIL_FROM")


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
    """How long a sign-in lasts at most, however busy (the absolute lifetime)."""
    return _positive("CONSOLE_SESSION_HOURS", 12)


def session_idle_minutes() -> float:
    """A session with no request for this long ends."""
    return _positive("CONSOLE_SESSION_IDLE_MINUTES", 60)


def cookie_secure() -> bool:
    """Send the session cookie over HTTPS only (set 1 behind TLS)."""
    return os.environ.get("CONSOLE_COOKIE_SECURE", "0") == "1"


def cookie_samesite() -> str:
    """Lax (links from mail open the console signed in) or Strict."""
    value = os.environ.get("CONSOLE_COOKIE_SAMESITE", "Lax").capitalize()
    if value not in ("Lax", "Strict"):
        raise ValueError(f"CONSOLE_COOKIE_SAMESITE must be Lax or Strict, not {value!r}")
    return value


def totp_required_roles() -> frozenset[str]:
    """Roles that must sign in with a code from an authenticator app; others may choose to."""
    return parse_roles(os.environ.get("CONSOLE_TOTP_REQUIRED_ROLES", "supervisor,admin"), ROLES)


def totp_issuer() -> str:
    """The name the authenticator app shows beside the account."""
    return os.environ.get("CONSOLE_TOTP_ISSUER", "Complaints console")[:100]


def lockout_policy() -> LockoutPolicy:
    return LockoutPolicy(account_failures=_whole("CONSOLE_LOCKOUT_FAILURES", 5, 1),
                         address_failures=_whole("CONSOLE_LOCKOUT_ADDRESS_FAILURES", 20, 1),
                         first_lock=timedelta(seconds=_positive("CONSOLE_LOCKOUT_SECONDS", 60)),
                         longest_lock=timedelta(seconds=_positive("CONSOLE_LOCKOUT_MAX_SECONDS", 900)))


def proxy_hops() -> int:
    """How many reverse proxies in front add X-Forwarded-For: the client address is
    the one they saw. 0 (the default) trusts no such header. One setting for a whole
    installation behind one ingress: TRUSTED_PROXY_HOPS, unless the console's own is set."""
    if "CONSOLE_PROXY_HOPS" in os.environ:
        return _whole("CONSOLE_PROXY_HOPS", 0, 0)
    return _whole("TRUSTED_PROXY_HOPS", 0, 0)


def reset_minutes() -> float:
    """How long a mailed password reset link works."""
    return _positive("CONSOLE_RESET_MINUTES", 30)


def public_url() -> str:
    """Where people open the console: the links in mail point here (never the
    request's Host, which anyone can set)."""
    return os.environ.get("CONSOLE_PUBLIC_URL", f"http://localhost:{port()}").rstrip("/")


def password_min_length() -> int:
    return _whole("CONSOLE_PASSWORD_MIN_LENGTH", 12, 8)


def check() -> None:
    """Read every sign-in setting once, so a wrong value stops the start with its name."""
    for read in (session_hours, session_idle_minutes, cookie_samesite, totp_required_roles, lockout_policy,
                 proxy_hops, reset_minutes, password_min_length, smtp_out.from_env):
        read()


def _positive(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a number, not {os.environ.get(name)!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be more than 0")
    return value


def router_url() -> str:
    return config.service_url("router")


def bootstrap_admin() -> tuple[str, str] | None:
    """CONSOLE_BOOTSTRAP_ADMIN=name:password: an administrator created at start if missing."""
    value = os.environ.get("CONSOLE_BOOTSTRAP_ADMIN", "")
    name, sep, password = value.partition(":")
    return (name.strip(), password) if sep and name.strip() and password else None


def poll_seconds() -> float:
    return float(os.environ.get("CHAT_POLL_SECONDS", 2))


def _whole(name: str, default: int, least: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {os.environ.get(name)!r}") from None
    if value < least:
        raise ValueError(f"{name} must be {least} or more")
    return value
