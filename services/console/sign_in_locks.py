"""Failed sign-ins per name and per client address, and the locks they start,
in SQL (console_sign_in_locks). When a lock starts and how long it lasts is
sign_in_rules.py; here the state is read and written so that several workers
and replicas counting at once lose no failure (a compare-and-set, retried).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from services.common.time.clock import utc

from . import settings
from .schema import sign_in_locks
from .sign_in_rules import FORGET_AFTER, LockoutPolicy, LockState, after_failure, locked_until

_TRIES = 20


def _state(row) -> LockState | None:
    if row is None:
        return None
    return LockState(row.failures, row.level, utc(row.locked_until), utc(row.last_failure_at))


class SignInLocks:
    def __init__(self, engine: Engine, policy: LockoutPolicy | None = None):
        self.engine, self._policy = engine, policy

    @property
    def policy(self) -> LockoutPolicy:
        """The one given, else the settings' (read each time, like every sign-in setting)."""
        return self._policy or settings.lockout_policy()

    def locked_until(self, keys: list[str], at: datetime) -> datetime | None:
        """The latest end of a lock on any of the keys, if one is on."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sign_in_locks).where(sign_in_locks.c.key.in_(keys))).all()
        ends = [until for row in rows if (until := locked_until(_state(row), at))]
        return max(ends, default=None)

    def record_failure(self, keys: list[str], at: datetime) -> datetime | None:
        """Count one failure against every key; the end of the latest lock this started, if any."""
        started = [until for key in keys if (until := self._fail(key, at))]
        return max(started, default=None)

    def _fail(self, key: str, at: datetime) -> datetime | None:
        for _ in range(_TRIES):
            try:
                with self.engine.begin() as conn:
                    row = conn.execute(select(sign_in_locks).where(sign_in_locks.c.key == key)).first()
                    policy = self.policy
                    new, locked = after_failure(_state(row), at, policy.threshold(key), policy)
                    if self._write(conn, key, row, new, at):
                        return new.locked_until if locked else None
            except IntegrityError:  # another worker inserted the first failure: count again on it
                continue
        return None  # collided every time: this one failure goes uncounted, nothing worse

    def _write(self, conn: Connection, key: str, row, new: LockState, at: datetime) -> bool:
        values = {"failures": new.failures, "level": new.level, "locked_until": new.locked_until,
                  "last_failure_at": new.last_failure_at}
        if row is None:
            conn.execute(insert(sign_in_locks).values(key=key, **values))
            # Rows idle for a day say nothing any more (sign_in_rules.FORGET_AFTER).
            conn.execute(delete(sign_in_locks).where(sign_in_locks.c.last_failure_at < at - FORGET_AFTER))
            return True
        unchanged = (sign_in_locks.c.failures == row.failures) & (sign_in_locks.c.level == row.level) & (
            sign_in_locks.c.last_failure_at == row.last_failure_at)
        return conn.execute(update(sign_in_locks).where(sign_in_locks.c.key == key, unchanged)
                            .values(**values)).rowcount == 1

    def clear(self, key: str) -> None:
        """A name signed in (or reset its password): its failures and locks are forgotten."""
        with self.engine.begin() as conn:
            conn.execute(delete(sign_in_locks).where(sign_in_locks.c.key == key))

    def forgive_failures(self, key: str) -> None:
        """A right sign-in from an address: its count starts again, its doubling stays
        (one good account does not open the address for guessing at others)."""
        with self.engine.begin() as conn:
            conn.execute(update(sign_in_locks).where(sign_in_locks.c.key == key).values(failures=0))
