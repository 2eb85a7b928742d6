"""Jinja filters shared by the server-rendered pages (web intake, console)."""

from __future__ import annotations

from datetime import datetime


def when(value) -> str:
    """'2026-11-23T08:37:27.123+00:00' -> '23 Nov 2026, 08:37 UTC' (as given if unreadable)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is not None:
        return moment.strftime("%d %b %Y, %H:%M ") + (moment.tzname() or "")
    return moment.strftime("%d %b %Y, %H:%M")


def label(value) -> str:
    """'pending_customer' -> 'Pending customer'."""
    return str(value or "").replace("_", " ").capitalize()


def install(app) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(label, "label")
