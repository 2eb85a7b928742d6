"""What a service holding personal data provides, whatever runs it (nameko, gunicorn,
the email poller): its part of an export, its erasure, its retention. Each service's
`privacy.py` implements these over its own tables; the transport around them is
nameko_side.py, background.py and flask_side.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.common.contract.events import ErasureEntry, SubjectErasureRequested

from .retention import Retention
from .subject import Subject

ERASED, PSEUDONYMISED, DELETED, KEPT, NONE = "erased", "pseudonymised", "deleted", "kept", "none"


class PrivacyParts(Protocol):
    service: str

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        """{"tables": {table: [rows about the person, JSON-ready]}} (and anything else useful)."""

    def erase(self, request: SubjectErasureRequested) -> list[ErasureEntry]:
        """Erase or pseudonymise what this service holds about the person, in one
        transaction; idempotent (a request may come again). Returns the report."""

    def retain(self, now: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        """Apply the retention rules; (table, action) -> rows changed."""


def entry(table: str, action: str, rows: int, reason: str | None = None) -> ErasureEntry:
    """A report line; a table with nothing about the person says so ("none")."""
    return ErasureEntry(table, action if rows or action == KEPT else NONE, rows, reason)


def counted(done) -> dict[tuple[str, str], int]:
    """What a retention round changed: (table, action) -> rows, without the zeros."""
    return {k: v for k, v in done.items() if v}
