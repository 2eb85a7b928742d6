"""The sign-in audit in SQL (console_audit): every sign-in and failure, lock,
second factor set up or reset, password reset asked for and done, and
sign-out, with who (the name, or the name typed), from where and when.
Administrators read it on /audit, newest first; nothing edits it.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from services.common.time.clock import now, utc

from .schema import audit

# What each event means, in words for the audit page.
EVENTS = {
    "signin": "signed in",
    "signin_failed": "sign-in failed: wrong name or password",
    "code_failed": "sign-in failed: wrong code",
    "signin_locked": "sign-in refused: locked",
    "lockout": "locked after failed sign-ins",
    "totp_enrolled": "two-step sign-in set up",
    "totp_removed": "two-step sign-in turned off",
    "totp_reset": "two-step sign-in reset by an administrator",
    "recovery_code_used": "recovery code used",
    "reset_requested": "password reset asked for",
    "reset_mail_failed": "password reset mail not sent",
    "reset_done": "password reset",
    "reset_refused": "password reset link refused",
    "signout": "signed out",
    "groups_changed": "groups changed",
}


class AuditLog:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, event: str, user_name: str | None = None, address: str | None = None,
               detail: str | None = None) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        with self.engine.begin() as conn:
            conn.execute(insert(audit).values(at=now(), event=event,
                                              user_name=(user_name or None) and user_name[:100],
                                              address=(address or None) and address[:64],
                                              detail=(detail or None) and detail[:300]))

    def page(self, before: int | None = None, limit: int = 100) -> list[dict]:
        """Newest first; `before` an id, for the next (older) page."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit.c.id < before)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{"id": r.id, "at": utc(r.at).isoformat(),
                 "event": r.event, "what": EVENTS.get(r.event, r.event), "user": r.user_name,
                 "address": r.address, "detail": r.detail} for r in rows]
