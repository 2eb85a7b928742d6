"""The notifier's configuration, from environment variables with working local
defaults (`make run` points SMTP at the development mail sink on port 8025)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from services.common import config
from services.common.channels.smtp_out import Smtp  # shared with the console (password reset mail)
from services.common.channels.smtp_out import from_env as smtp

from .quiet_hours import QuietHours
from .reminders import parse_hours

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _list(name: str, default: str = "") -> list[str]:
    return [p.strip() for p in os.environ.get(name, default).split(",") if p.strip()]


@dataclass(frozen=True)
class Twilio:
    account_sid: str | None = None
    auth_token: str | None = None
    sms_from: str | None = None
    whatsapp_from: str | None = None
    voice_from: str | None = None


@dataclass(frozen=True)
class Settings:
    smtp: Smtp = field(default_factory=Smtp)
    twilio: Twilio = field(default_factory=Twilio)
    retry_base: float = 30.0        # seconds before the first retry; doubles each time
    retry_cap: float = 3600.0
    max_attempts: int = 6
    sending_timeout: float = 300.0  # a row left "sending" this long (a crash) is tried again
    quiet_hours: QuietHours | None = None
    quiet_purposes: tuple[str, ...] = ("reply", "resolved", "reminder")
    region_timezones: dict = field(default_factory=dict)
    default_timezone: str = "UTC"
    reminder_hours: tuple[float, ...] = (24.0, 72.0)
    supervisors: tuple[str, ...] = ()
    waiting_alert_minutes: float = 30.0
    agent_channels: tuple[str, ...] = ("email", "whatsapp", "sms")
    callback_mode: str = "task"     # task | call
    staff_language: str = "en"
    templates_dir: str | None = None


def twilio() -> Twilio:
    sms_from = os.environ.get("TWILIO_SMS_FROM") or None
    return Twilio(account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or None,
                  auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or None, sms_from=sms_from,
                  whatsapp_from=os.environ.get("TWILIO_WHATSAPP_FROM") or None,
                  voice_from=os.environ.get("TWILIO_VOICE_FROM") or sms_from)


def load() -> Settings:
    quiet = os.environ.get("NOTIFIER_QUIET_HOURS", "").strip()
    mode = os.environ.get("NOTIFIER_CALLBACK_MODE", "task").lower()
    if mode not in ("task", "call"):
        raise ValueError(f"NOTIFIER_CALLBACK_MODE must be task or call, not {mode!r}")
    return Settings(
        smtp=smtp(), twilio=twilio(),
        retry_base=_float("NOTIFIER_RETRY_BASE_SECONDS", 30), retry_cap=_float("NOTIFIER_RETRY_CAP_SECONDS", 3600),
        max_attempts=int(os.environ.get("NOTIFIER_MAX_ATTEMPTS", 6)),
        sending_timeout=_float("NOTIFIER_SENDING_TIMEOUT_SECONDS", 300),
        quiet_hours=QuietHours.parse(quiet) if quiet else None,
        quiet_purposes=tuple(_list("NOTIFIER_QUIET_PURPOSES", "reply,resolved,reminder")),
        region_timezones=json.loads(os.environ.get("NOTIFIER_REGION_TIMEZONES") or "{}"),
        default_timezone=os.environ.get("NOTIFIER_DEFAULT_TIMEZONE", "UTC"),
        reminder_hours=parse_hours(os.environ.get("NOTIFIER_REMINDER_HOURS", "24,72")),
        supervisors=tuple(_list("NOTIFIER_SUPERVISORS")),
        waiting_alert_minutes=_float("NOTIFIER_WAITING_ALERT_MINUTES", 30),
        agent_channels=tuple(_list("NOTIFIER_AGENT_CHANNELS", "email,whatsapp,sms")),
        callback_mode=mode, staff_language=os.environ.get("NOTIFIER_STAFF_LANGUAGE", "en"),
        templates_dir=os.environ.get("NOTIFIER_TEMPLATES_DIR") or None,
    )


def send_interval() -> float:
    return _float("NOTIFIER_SEND_INTERVAL_SECONDS", 1)


def schedule_interval() -> float:
    """How often reminders, waiting-too-long alerts and stale sends are checked."""
    return _float("NOTIFIER_SCHEDULE_SECONDS", 30)


def catch_up_interval() -> float:
    return _float("NOTIFIER_CATCHUP_SECONDS", 60)


def catch_up_window_hours() -> float:
    return _float("NOTIFIER_CATCHUP_WINDOW_HOURS", 24)


def rpc_timeout() -> float:
    return _float("RPC_TIMEOUT_SECONDS", 5)


CONFIG_NAMES = ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD", "SMTP_CA_FILE",
                "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SMS_FROM", "TWILIO_WHATSAPP_FROM",
                "TWILIO_VOICE_FROM", "TWILIO_API_BASE_URL", "NOTIFIER_CALLBACK_MODE", "NOTIFIER_QUIET_HOURS",
                "NOTIFIER_REMINDER_HOURS", "NOTIFIER_SUPERVISORS", "NOTIFIER_TEMPLATES_DIR", "MAIL_FROM",
                "PUBLIC_BASE_URL")


def ticket_url_template() -> str:
    """Where agents open a ticket from an alert; {reference} is replaced."""
    return os.environ.get("NOTIFIER_TICKET_URL", f"http://localhost:{config.port('tickets')}/tickets/{{reference}}")
