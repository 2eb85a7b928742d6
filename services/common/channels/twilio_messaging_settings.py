"""The settings every Twilio messaging intake (WhatsApp, SMS) reads, under its own prefix.

With prefix "SMS" and service intake_sms: PUBLIC_SMS_URL, SMS_CONVERSATION_WINDOW_SECONDS,
SMS_CLAIM_SECONDS, SMS_DUPLICATE_WAIT_SECONDS, SMS_NUMBER_REGION; TWILIO_AUTH_TOKEN is
shared (README lists every variable). Imports nothing that loads prometheus_client:
`python -m services.<intake>` reads these before the metrics directory is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.common import config
from services.common.channels.regions import RegionMap


@dataclass(frozen=True)
class MessagingSettings:
    name: str                         # the service, e.g. "intake_sms"
    prefix: str                       # its variables' prefix, e.g. "SMS"
    default_window_seconds: float = 24 * 3600
    own_variables: tuple[str, ...] = ()   # its other variables, shown at start

    @property
    def NAME(self) -> str:  # noqa: N802  (the attribute webhook_main reads of a settings module)
        return self.name

    @property
    def ENV_SHOWN(self) -> tuple[str, ...]:  # noqa: N802
        p, service = self.prefix, self.name.upper()
        return ("AMQP_URI", f"PUBLIC_{p}_URL", "TWILIO_AUTH_TOKEN", f"{p}_CONVERSATION_WINDOW_SECONDS",
                f"{p}_CLAIM_SECONDS", f"{p}_DUPLICATE_WAIT_SECONDS", f"{p}_NUMBER_REGION", "REGION_BY_COUNTRY",
                *self.own_variables, f"{service}_WORKERS", f"{service}_THREADS", "DATABASE_URL",
                f"{service}_DATABASE_URL", "TRACKING_SECRET", "PUBLIC_BASE_URL")

    def public_url(self) -> str:
        """The URL Twilio is configured to call, up to the service's own paths (Twilio signs it)."""
        return os.environ.get(f"PUBLIC_{self.prefix}_URL", f"http://localhost:{config.port(self.name)}").rstrip("/")

    @staticmethod
    def auth_token() -> str | None:
        return os.environ.get("TWILIO_AUTH_TOKEN") or None

    def window_seconds(self) -> float:
        """Messages from one number this close to its previous one join the same complaint."""
        return float(os.environ.get(f"{self.prefix}_CONVERSATION_WINDOW_SECONDS", self.default_window_seconds))

    def claim_seconds(self) -> float:
        """How long a request may take to publish a message before another
        delivery of it may take over (longer than a publish can take)."""
        return float(os.environ.get(f"{self.prefix}_CLAIM_SECONDS", 30))

    def duplicate_wait_seconds(self) -> float:
        """How long a second delivery of a message being published waits for the
        first one's outcome before answering 503 (well under Twilio's 15 s timeout)."""
        return float(os.environ.get(f"{self.prefix}_DUPLICATE_WAIT_SECONDS", 5))

    def number_region(self) -> str | None:
        """The region of the Twilio number itself, for senders whose number says none."""
        return os.environ.get(f"{self.prefix}_NUMBER_REGION") or None

    @staticmethod
    def region_map() -> RegionMap:
        """REGION_BY_COUNTRY; read when the app is made, so a bad one stops the start."""
        return RegionMap.from_env()
