"""The ledger of idempotency keys (SQL): which content each key came with first.

A key is claimed by inserting its row (the primary key is (channel, kind, key)),
never by looking first, so of two requests with one key exactly one inserts.
The other reads the winner's fingerprint: equal, it is a retry and is answered
like the first (the publish is repeated and the tickets service folds it
away); different, it is another complaint under a used key, and KeyReused is
raised (409): answering it the first reference would hand the sender a
stranger's conversation and drop their complaint.

A claim whose publish failed (nothing was taken) is given up by the request
that made it, so the customer may correct the text and send again with the
same key, as the 503 page invites them to. It is kept once the broker
confirmed a publish of its content.

The database being away is LedgerUnavailable: the routes answer 503 with
Retry-After rather than publish a key they could not check. Rows older than
IDEMPOTENCY_KEY_DAYS are deleted, at most every PURGE_SECONDS per process,
after a claim.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .schema import idempotency_keys as keys

log = logging.getLogger("intake_chat")

DEFAULT_KEEP_DAYS = 30.0
MAX_KEEP_DAYS = 3650     # ten years; beyond it the date arithmetic overflows soon anyway
PURGE_SECONDS = 600      # a process deletes expired keys at most this often
ATTEMPTS = 5             # a row given up between our insert and our read: claim again


class KeyReused(Exception):
    """The key was first used with other content: refused, never answered the first result."""

    def __init__(self, channel: str, kind: str):
        super().__init__(f"{channel} {kind} key reused with different content")
        self.channel, self.kind = channel, kind


class LedgerUnavailable(Exception):
    """The ledger's database did not answer: nothing was checked, so nothing may be published."""


@dataclass(frozen=True)
class Claim:
    channel: str
    kind: str
    key: str
    fingerprint: str
    reference: str
    # Set when this request inserted the row: only it may give the key up again.
    token: str | None


def keep_days() -> float:
    """IDEMPOTENCY_KEY_DAYS (default 30): how long a key is remembered. Read at start."""
    raw = os.environ.get("IDEMPOTENCY_KEY_DAYS", str(DEFAULT_KEEP_DAYS))
    try:
        days = float(raw)
    except ValueError:
        days = 0
    if not 0 < days <= MAX_KEEP_DAYS:   # NaN fails this too
        raise ValueError(f"IDEMPOTENCY_KEY_DAYS must be a number of days above 0 and at most {MAX_KEEP_DAYS}, "
                         f"not {raw!r}")
    return days


class Ledger:
    def __init__(self, engine: Engine, keep_for_days: float = DEFAULT_KEEP_DAYS):
        self.engine = engine
        self.keep = timedelta(days=keep_for_days)
        self._purge_lock = threading.Lock()
        self._next_purge = 0.0   # monotonic; the first claim of a process purges

    def claim(self, channel: str, kind: str, key: str, fingerprint: str, reference: str) -> Claim:
        """Raises KeyReused when the key holds another fingerprint, LedgerUnavailable when
        the database does not answer."""
        try:
            for _ in range(ATTEMPTS):
                token = uuid.uuid4().hex
                if self._insert(channel, kind, key, fingerprint, reference, token):
                    self._purge_now_and_then()
                    return Claim(channel, kind, key, fingerprint, reference, token)
                with self.engine.connect() as conn:
                    held = conn.execute(select(keys.c.fingerprint).where(_is(channel, kind, key))).scalar()
                if held is None:
                    continue   # its publish failed and it was given up in between: ours to claim
                if held != fingerprint:
                    raise KeyReused(channel, kind)
                return Claim(channel, kind, key, fingerprint, reference, None)
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"the intake's database is unavailable ({type(exc).__name__}); "
                                    "nothing was taken, please retry") from exc
        raise LedgerUnavailable(f"the {kind} key kept changing hands; nothing was taken, please retry")

    def confirm(self, claim: Claim) -> None:
        """The broker confirmed this content: the key stays bound to it. Should the row have
        been given up meanwhile (a concurrent retry's publish failed), it is put back."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            done = conn.execute(update(keys).where(_is(claim.channel, claim.kind, claim.key),
                                                   keys.c.fingerprint == claim.fingerprint,
                                                   keys.c.published_at.is_(None))
                                .values(published_at=now))
        if done.rowcount == 1:
            return
        with self.engine.connect() as conn:
            held = conn.execute(select(keys.c.fingerprint).where(_is(claim.channel, claim.kind, claim.key))).scalar()
        if held is None:   # given up meanwhile: bind it again, published (the insert still decides a race)
            self._insert(claim.channel, claim.kind, claim.key, claim.fingerprint, claim.reference, uuid.uuid4().hex,
                         now)
        elif held != claim.fingerprint:
            # Claimed for other content in the instant it was free: that post will be answered 202 too,
            # and the tickets service keeps whichever arrives first. Rare (two publishes, one failed,
            # in the same moment); said in the log rather than hidden.
            log.warning("idempotency key rebound to other content while this one was published",
                        extra={"channel": claim.channel, "kind": claim.kind, "reference": claim.reference})

    def release(self, claim: Claim) -> None:
        """The publish failed: the key is free again, unless a retry's publish of it was confirmed."""
        if claim.token is None:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(keys).where(_is(claim.channel, claim.kind, claim.key),
                                            keys.c.claim_token == claim.token, keys.c.published_at.is_(None)))

    def check(self) -> bool:
        """True when the database answers and the table is there (migrated)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(keys.c.key).limit(1)).first()
        except SQLAlchemyError:
            return False
        return True

    def purge(self, now: datetime | None = None) -> int:
        """Delete the keys older than IDEMPOTENCY_KEY_DAYS; returns how many."""
        cutoff = (now or datetime.now(UTC)) - self.keep
        with self.engine.begin() as conn:
            return conn.execute(delete(keys).where(keys.c.created_at < cutoff)).rowcount

    def _insert(self, channel, kind, key, fingerprint, reference, token, published_at=None) -> bool:
        """True when this inserted the key's row; False when it was there already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(keys).values(channel=channel, kind=kind, key=key, fingerprint=fingerprint,
                                                 reference=reference, created_at=datetime.now(UTC),
                                                 published_at=published_at, claim_token=token))
        except IntegrityError:
            return False
        return True

    def _purge_now_and_then(self) -> None:
        """Cheap enough to ride on claims: one indexed delete per process every PURGE_SECONDS.
        A failed purge is tried again at the next interval and never fails the claim."""
        if time.monotonic() < self._next_purge or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._next_purge = time.monotonic() + PURGE_SECONDS
            removed = self.purge()
            if removed:
                log.info("expired idempotency keys deleted", extra={"count": removed})
        except SQLAlchemyError as exc:
            log.warning("could not delete expired idempotency keys: %s", type(exc).__name__)
        finally:
            self._purge_lock.release()


def _is(channel: str, kind: str, key: str):
    return and_(keys.c.channel == channel, keys.c.kind == kind, keys.c.key == key)
