"""Quiet hours: a non-urgent customer message due at night in the customer's
region waits for the morning. Plain Python (zoneinfo), no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class QuietHours:
    start: time   # e.g. 21:00
    end: time     # e.g. 08:00 (may be on the next day)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'21:00-08:00' -> QuietHours(21:00, 08:00)."""
        try:
            start, end = (time.fromisoformat(p.strip()) for p in text.split("-"))
        except ValueError:
            raise ValueError(f"quiet hours must look like 21:00-08:00, not {text!r}") from None
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, now: datetime, zone: ZoneInfo) -> datetime:
        """When a message due at `now` (aware) may go: now, or the end of the quiet spell."""
        local = now.astimezone(zone)
        if not self.contains(local.time().replace(tzinfo=None)):
            return now
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        # Wall-clock end in the zone (DST-aware via zoneinfo), back to the caller's zone.
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(now.tzinfo)


def zone_for(region: str | None, timezones: dict, default: str = "UTC") -> ZoneInfo:
    """The customer's time zone from their region ({"pt": "Europe/Lisbon"}), else the default."""
    name = timezones.get((region or "").lower()) or timezones.get(region or "") or default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)
