"""Password reset links in SQL: a random single-use token per link, of which
only the SHA-256 is stored, good for CONSOLE_RESET_MINUTES. The store's
reset_password spends one and sets the password in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from services.common.time.clock import now, utc

from .schema import password_resets

# One mail per account per this long, however often the form is sent: no mailbox flooding.
RESEND_AFTER = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


class PasswordResets:
    def __init__(self, engine: Engine):
        self.engine = engine

    def issue(self, user_id: int, minutes: float) -> str | None:
        """A new link's token, or None if one was issued for this user a moment ago."""
        at = now()
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            latest = conn.execute(select(password_resets.c.created_at)
                                  .where(password_resets.c.user_id == user_id)
                                  .order_by(password_resets.c.created_at.desc()).limit(1)).scalar()
            if latest is not None and at - utc(latest) < RESEND_AFTER:
                return None
            conn.execute(insert(password_resets).values(token_hash=_hash(token), user_id=user_id, created_at=at,
                                                        expires_at=at + timedelta(minutes=minutes)))
        return token

    def valid_user_id(self, token: str) -> int | None:
        """Whose link this is, while it is unused and unexpired."""
        if not token or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(password_resets).where(password_resets.c.token_hash == _hash(token))).first()
        if row is None or row.used_at is not None or utc(row.expires_at) <= now():
            return None
        return row.user_id

    def spend(self, conn: Connection, token: str, user_id: int) -> bool:
        """Use the link (once: a second use finds it spent), and every other open link
        of the user with it. False if it was already used or has expired."""
        at = now()
        done = conn.execute(update(password_resets).where(password_resets.c.token_hash == _hash(token),
                                                          password_resets.c.used_at.is_(None),
                                                          password_resets.c.expires_at > at)
                            .values(used_at=at)).rowcount
        if done:
            conn.execute(update(password_resets).where(password_resets.c.user_id == user_id,
                                                       password_resets.c.used_at.is_(None))
                         .values(used_at=at))
        return bool(done)
