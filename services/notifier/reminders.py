"""Reminders for a ticket waiting on the customer: a series of delays (hours after
it became pending_customer), stopped when the customer answers or the status
changes. Plain Python."""

from __future__ import annotations

from datetime import datetime, timedelta


def parse_hours(text: str) -> tuple[float, ...]:
    """'24,72' -> (24.0, 72.0): reminders 24 h and 72 h after the ticket started waiting."""
    try:
        hours = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"reminder hours must be numbers separated by commas, not {text!r}") from None
    if any(h <= 0 for h in hours) or list(hours) != sorted(hours):
        raise ValueError(f"reminder hours must be positive and increasing, not {text!r}")
    return hours


def next_due(pending_since: datetime, sent: int, hours: tuple[float, ...]) -> datetime | None:
    """When the next reminder is due (the (sent+1)-th of the series), or None when all went."""
    if sent >= len(hours):
        return None
    return pending_since + timedelta(hours=hours[sent])
