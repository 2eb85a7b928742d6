"""The console's second factors in SQL: each user's TOTP key (being set up, then
confirmed), the last time step a code was accepted for, and single-use
recovery codes (only their hashes). The code arithmetic is totp.py.

Replay: a code is accepted only for a step later than the last one accepted,
by one conditional UPDATE, so two workers given the same code accept it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from . import totp
from .schema import recovery_codes, users
from .sign_in_rules import looks_like_totp, new_recovery_codes, normal_recovery_code


def _code_hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{normal_recovery_code(code)}".encode()).hexdigest()


class SecondFactors:
    def __init__(self, engine: Engine):
        self.engine = engine

    def setup_secret(self, user_id: int) -> str:
        """The key being set up, made on first ask and kept until confirmed, so the page
        can be reloaded without the QR code changing under the phone."""
        with self.engine.begin() as conn:
            pending = conn.execute(select(users.c.totp_pending_secret).where(users.c.id == user_id)).scalar()
            if pending:
                return pending
            secret = totp.new_secret()
            conn.execute(update(users).where(users.c.id == user_id, users.c.totp_pending_secret.is_(None))
                         .values(totp_pending_secret=secret))
            return conn.execute(select(users.c.totp_pending_secret).where(users.c.id == user_id)).scalar()

    def confirm(self, user_id: int, code: str, at: datetime) -> list[str] | None:
        """A first right code turns the key being set up into the user's second factor.
        Returns the new recovery codes (to be shown once), or None for a wrong code."""
        with self.engine.begin() as conn:
            secret = conn.execute(select(users.c.totp_pending_secret).where(users.c.id == user_id)).scalar()
            step = totp.matching_step(secret, code, at) if secret else None
            if step is None:
                return None
            done = conn.execute(update(users).where(users.c.id == user_id, users.c.totp_pending_secret == secret)
                                .values(totp_secret=secret, totp_pending_secret=None, totp_last_step=step,
                                        totp_enrolled_at=at)).rowcount
            return self._new_recovery_codes(conn, user_id) if done else None

    def check(self, user_id: int, code: str, at: datetime) -> str | None:
        """'app' for a right code from the authenticator (never twice for one step),
        'recovery' for an unused recovery code (now used), else None."""
        with self.engine.begin() as conn:
            if looks_like_totp(code):
                return "app" if self._accept_totp(conn, user_id, code, at) else None
            used = conn.execute(update(recovery_codes)
                                .where(recovery_codes.c.user_id == user_id,
                                       recovery_codes.c.code_hash == _code_hash(user_id, code),
                                       recovery_codes.c.used_at.is_(None))
                                .values(used_at=at)).rowcount
            return "recovery" if used else None

    def _accept_totp(self, conn: Connection, user_id: int, code: str, at: datetime) -> bool:
        secret = conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).scalar()
        step = totp.matching_step(secret, code, at) if secret else None
        if step is None:
            return False
        fresh = users.c.totp_last_step.is_(None) | (users.c.totp_last_step < step)
        return conn.execute(update(users).where(users.c.id == user_id, fresh)
                            .values(totp_last_step=step)).rowcount == 1

    def recovery_codes_left(self, user_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).where(recovery_codes.c.user_id == user_id,
                                                           recovery_codes.c.used_at.is_(None))).scalar_one()

    def remove(self, user_id: int) -> bool:
        """Forget the user's second factor and recovery codes (lost phone, or turned off).
        True if there was one."""
        with self.engine.begin() as conn:
            had = conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).scalar() is not None
            conn.execute(update(users).where(users.c.id == user_id)
                         .values(totp_secret=None, totp_pending_secret=None, totp_last_step=None,
                                 totp_enrolled_at=None))
            conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        return had

    def _new_recovery_codes(self, conn: Connection, user_id: int) -> list[str]:
        codes = new_recovery_codes()
        conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        conn.execute(insert(recovery_codes), [{"user_id": user_id, "code_hash": _code_hash(user_id, c)}
                                              for c in codes])
        return codes
