"""The retention rules: how long personal data is kept, read from the environment.
Plain Python; each service applies the rules to its own tables on a timer.

    RETENTION_CONTACT_MONTHS   24  contact data (names, addresses, what the customer wrote) of
                                   tickets closed longer ago is pseudonymised (tickets, the
                                   notifier's copy of the ticket); the ticket's category,
                                   channel, status and timestamps stay for statistics
    RETENTION_MESSAGE_DAYS     90  the notifier's stored copies of messages sent (or given up)
                                   longer ago: bodies erased, recipients pseudonymised
    RETENTION_RAW_DAYS         30  raw input kept for operators: quarantined messages (raw mail,
                                   webhook fields, invalid complaints) and the skipped-mail list
                                   are deleted; the tickets service's published events too
    RETENTION_LEDGER_DAYS      90  the intakes' ledgers: senders, numbers and callers of messages
                                   and calls older than this are pseudonymised, recordings'
                                   links and transcriptions erased, conversations ended
    RETENTION_CHECK_SECONDS  3600  how often each service applies them

A value of 0 turns a rule off (a legal obligation to keep everything). Fractions
are allowed (a month is 30.44 days), which is how the tests use seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

DAYS_PER_MONTH = 365.25 / 12
DEFAULTS = {"RETENTION_CONTACT_MONTHS": 24, "RETENTION_MESSAGE_DAYS": 90, "RETENTION_RAW_DAYS": 30,
            "RETENTION_LEDGER_DAYS": 90, "RETENTION_CHECK_SECONDS": 3600}


class RetentionError(ValueError):
    """A RETENTION_* setting that cannot be read; the message names it."""


@dataclass(frozen=True)
class Retention:
    contact_months: float = 24
    message_days: float = 90
    raw_days: float = 30
    ledger_days: float = 90
    check_seconds: float = 3600

    @classmethod
    def from_env(cls, environ=os.environ) -> Retention:
        values = {}
        for name, default in DEFAULTS.items():
            raw = environ.get(name, "").strip()
            try:
                value = float(raw) if raw else float(default)
            except ValueError:
                raise RetentionError(f"{name}={raw!r} is not a number") from None
            if value < 0 or value != value or value == float("inf"):
                raise RetentionError(f"{name}={raw!r} must be 0 (rule off) or a positive number")
            values[name.removeprefix("RETENTION_").lower()] = value
        if values["check_seconds"] <= 0:
            raise RetentionError("RETENTION_CHECK_SECONDS must be positive")
        return cls(**values)

    def contact_cutoff(self, now: datetime) -> datetime | None:
        """Tickets closed before this lose their contact data; None: the rule is off."""
        return _before(now, self.contact_months * DAYS_PER_MONTH)

    def message_cutoff(self, now: datetime) -> datetime | None:
        return _before(now, self.message_days)

    def raw_cutoff(self, now: datetime) -> datetime | None:
        return _before(now, self.raw_days)

    def ledger_cutoff(self, now: datetime) -> datetime | None:
        return _before(now, self.ledger_days)


def _before(now: datetime, days: float) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None
