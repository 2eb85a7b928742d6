"""One way to read the clock and to write and parse an instant.

Everything is stored and exchanged in UTC; SQLite hands back naive datetimes,
so `utc` marks them as UTC (we never store anything else). Events and APIs
write instants as ISO 8601 with milliseconds and an offset (`iso`).
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | None) -> datetime | None:
    """The same instant, marked UTC if it came back naive from the database."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def iso(value: datetime | None) -> str | None:
    return utc(value).isoformat(timespec="milliseconds") if value is not None else None


def parse(value) -> datetime | None:
    """An ISO 8601 instant (a trailing Z accepted) as a UTC-aware datetime; None if absent or
    unreadable. A naive text is read as UTC, like the database's own values."""
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None
