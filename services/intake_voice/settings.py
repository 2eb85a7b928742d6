"""The phone intake's configuration, from the environment (README lists every variable)."""

from __future__ import annotations

import os
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from services.common import config
from services.common.channels.regions import RegionMap

from . import ivr

NAME = "intake_voice"
ENV_SHOWN = ("AMQP_URI", "PUBLIC_VOICE_URL", "TWILIO_AUTH_TOKEN", "VOICE_DEFAULT_LANGUAGE",
             "VOICE_MAX_RECORDING_SECONDS", "VOICE_TRANSCRIBE", "VOICE_MISSED_CALLS", "VOICE_CALLBACK_TIMEZONE",
             "VOICE_CALLBACK_SLOTS", "VOICE_GATHER_TIMEOUT_SECONDS", "INTAKE_VOICE_WORKERS",
             "INTAKE_VOICE_THREADS", "DATABASE_URL", "INTAKE_VOICE_DATABASE_URL", "TRACKING_SECRET",
             "VOICE_NUMBER_REGION", "REGION_BY_COUNTRY", "REGION_BY_EMAIL_DOMAIN")
MAX_REGION = 64   # as the contract's region


def public_url() -> str:
    """The URL Twilio is configured to call, up to the service's own paths (Twilio signs it)."""
    return os.environ.get("PUBLIC_VOICE_URL", f"http://localhost:{config.port(NAME)}").rstrip("/")


def auth_token() -> str | None:
    return os.environ.get("TWILIO_AUTH_TOKEN") or None


def default_language() -> str:
    language = os.environ.get("VOICE_DEFAULT_LANGUAGE", "en")
    if language not in ivr.LANGUAGES:
        raise ValueError(f"VOICE_DEFAULT_LANGUAGE must be one of {', '.join(ivr.LANGUAGES)}")
    return language


def max_recording_seconds() -> int:
    return int(os.environ.get("VOICE_MAX_RECORDING_SECONDS", 180))


def transcribe() -> bool:
    return os.environ.get("VOICE_TRANSCRIBE", "1") != "0"


def missed_calls() -> bool:
    """A call that ends before a voicemail or a callback request still becomes a complaint."""
    return os.environ.get("VOICE_MISSED_CALLS", "1") != "0"


def callback_zone() -> tzinfo:
    """The zone callback slots are in. UTC needs no time-zone database."""
    name = os.environ.get("VOICE_CALLBACK_TIMEZONE", "UTC")
    return UTC if name == "UTC" else ZoneInfo(name)


def callback_slots() -> dict[str, ivr.Slot]:
    return ivr.parse_slots(os.environ.get("VOICE_CALLBACK_SLOTS", "09-12,12-18,18-21"))


def gather_timeout() -> int:
    return int(os.environ.get("VOICE_GATHER_TIMEOUT_SECONDS", 6))


def number_region() -> str | None:
    """The Twilio number's own region: a call whose caller id says nothing (withheld,
    or a non-geographic number) is from there."""
    region = os.environ.get("VOICE_NUMBER_REGION", "").strip().lower() or None
    if region and len(region) > MAX_REGION:
        raise ValueError(f"VOICE_NUMBER_REGION: at most {MAX_REGION} characters, like \"pt\"")
    return region


def regions() -> RegionMap:
    """REGION_BY_COUNTRY (and REGION_BY_EMAIL_DOMAIN); raises RegionMapError naming a bad entry."""
    return RegionMap.from_env()
