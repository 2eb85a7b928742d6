"""The email intake's SQL: checkpoints, the seen-messages ledger, the quarantine
and the skipped list (SQLAlchemy Core, SQLite or PostgreSQL).

`record` writes a message's outcome and advances the mailbox's checkpoint in
one transaction, so the two never disagree. The ledger's unique (mailbox,
external id) makes recording the same message twice a no-op, not an error.
Every text written goes through storable(): what a sender put in a header
(NUL, undecodable bytes) can never make the database refuse a record.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common.contract.storable_text import storable
from services.common.storage.db import make_engine

from .schema import checkpoints, quarantine, seen, skipped

INGESTED, SKIPPED, QUARANTINED = "ingested", "skipped", "quarantined"


@dataclass(frozen=True)
class Prior:
    """How a message with the same key was handled before."""
    outcome: str
    reference: str | None
    content_sha256: str | None
    sender: str | None


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


def now() -> datetime:
    return datetime.now(UTC)


class EmailStore:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_normal_sync)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # --- checkpoints -------------------------------------------------------------

    def checkpoint(self, mailbox: str, uidvalidity: int) -> Checkpoint:
        """The mailbox's checkpoint for this UIDVALIDITY. A new UIDVALIDITY (the
        server renumbered the folder) restarts at UID 0: every message is read
        again, and the ledger recognises those already handled."""
        with self.engine.begin() as conn:
            row = conn.execute(select(checkpoints).where(checkpoints.c.mailbox == mailbox)).first()
            if row is None:
                _insert_new(conn, checkpoints, mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0, updated_at=now())
                return Checkpoint(uidvalidity, 0)
            if row.uidvalidity != uidvalidity:
                conn.execute(update(checkpoints).where(checkpoints.c.mailbox == mailbox)
                             .values(uidvalidity=uidvalidity, last_uid=0, updated_at=now()))
                return Checkpoint(uidvalidity, 0)
            return Checkpoint(row.uidvalidity, row.last_uid)

    def previous_uidvalidity(self, mailbox: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(checkpoints.c.uidvalidity)
                                .where(checkpoints.c.mailbox == mailbox)).scalar()

    def all_checkpoints(self) -> dict[str, dict]:
        with self.engine.connect() as conn:
            return {r.mailbox: {"uidvalidity": r.uidvalidity, "last_uid": r.last_uid,
                                "updated_at": r.updated_at.isoformat() if r.updated_at else None}
                    for r in conn.execute(select(checkpoints))}

    # --- the ledger ----------------------------------------------------------------

    def outcome(self, mailbox: str, external_id: str) -> str | None:
        """How this message was handled before, or None if never."""
        prior = self.prior(mailbox, external_id)
        return prior.outcome if prior else None

    def prior(self, mailbox: str, external_id: str) -> Prior | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(seen.c.outcome, seen.c.reference, seen.c.content_sha256, seen.c.sender)
                               .where(seen.c.mailbox == storable(mailbox),
                                      seen.c.external_id == storable(external_id))).first()
            return Prior(row.outcome, row.reference, row.content_sha256, row.sender) if row else None

    def record(self, mailbox: str, uidvalidity: int, uid: int, external_id: str, outcome: str, *,
               reference: str | None = None, reason: str | None = None, detail: str = "",
               sender: str | None = None, subject: str | None = None, raw: bytes | None = None,
               size: int | None = None, content_sha256: str | None = None) -> bool:
        """Write the message's outcome (with its quarantine or skipped row) and move
        the checkpoint to its UID, together. False when it was recorded already."""
        at = now()
        mailbox, external_id = storable(mailbox), storable(external_id)
        sender = storable(sender or "")[:320] or None
        with self.engine.begin() as conn:
            fresh = _insert_new(conn, seen, mailbox=mailbox, external_id=external_id, outcome=outcome,
                                reference=reference, uidvalidity=uidvalidity, uid=uid, at=at,
                                content_sha256=content_sha256, sender=sender)
            if fresh and outcome == QUARANTINED:
                conn.execute(insert(quarantine).values(
                    mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, external_id=external_id,
                    reason=storable(reason or "unknown"), raw=raw or b"",
                    size=size if size is not None else len(raw or b""), at=at))
            elif fresh and outcome == SKIPPED:
                conn.execute(insert(skipped).values(
                    mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, external_id=external_id,
                    reason=storable(reason or "unknown"), detail=storable(detail), sender=sender,
                    subject=storable(subject or "")[:300] or None, at=at))
            self._advance(conn, mailbox, uidvalidity, uid, at)
            return fresh

    def advance(self, mailbox: str, uidvalidity: int, uid: int) -> None:
        with self.engine.begin() as conn:
            self._advance(conn, storable(mailbox), uidvalidity, uid, now())

    @staticmethod
    def _advance(conn, mailbox, uidvalidity, uid, at) -> None:
        # Only forward, and only within the UIDVALIDITY the UID belongs to.
        conn.execute(update(checkpoints).where(
            checkpoints.c.mailbox == mailbox, checkpoints.c.uidvalidity == uidvalidity,
            checkpoints.c.last_uid < uid).values(last_uid=uid, updated_at=at))

    # --- reading ---------------------------------------------------------------------

    def quarantined(self, limit: int = 100, offset: int = 0, with_raw: bool = True) -> dict:
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(quarantine)).scalar()
            rows = conn.execute(select(quarantine).order_by(quarantine.c.id.desc()).limit(limit).offset(offset))
            items = []
            for r in rows:
                item = {"id": r.id, "mailbox": r.mailbox, "uidvalidity": r.uidvalidity, "uid": r.uid,
                        "external_id": r.external_id, "reason": r.reason, "size": r.size, "at": r.at.isoformat(),
                        "raw_url": f"/quarantine/{r.id}/raw"}
                if with_raw:
                    item["raw_base64"] = base64.b64encode(r.raw).decode()
                items.append(item)
            return {"total": total, "items": items}

    def quarantined_raw(self, item_id: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(quarantine.c.raw).where(quarantine.c.id == item_id)).scalar()

    def skipped_list(self, limit: int = 100, offset: int = 0) -> dict:
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(skipped)).scalar()
            rows = conn.execute(select(skipped).order_by(skipped.c.id.desc()).limit(limit).offset(offset))
            return {"total": total, "items": [
                {"id": r.id, "mailbox": r.mailbox, "uidvalidity": r.uidvalidity, "uid": r.uid,
                 "external_id": r.external_id, "reason": r.reason, "detail": r.detail, "sender": r.sender,
                 "subject": r.subject, "at": r.at.isoformat()} for r in rows]}

    def counts(self, mailbox: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(seen.c.outcome, func.count()).where(seen.c.mailbox == mailbox)
                                .group_by(seen.c.outcome))
            return {outcome: n for outcome, n in rows}


def _insert_new(conn, table, **values) -> bool:
    """INSERT that does nothing when the row's unique key exists (no error, no
    savepoint); True when the row was new. SQLite and PostgreSQL both have it."""
    if conn.dialect.name == "postgresql":
        statement = postgresql.insert(table)
    else:
        statement = sqlite.insert(table)
    return conn.execute(statement.values(**values).on_conflict_do_nothing()).rowcount == 1


def _sqlite_normal_sync(dbapi_conn, _record):
    # In WAL mode, NORMAL still never corrupts the file; a power cut may lose the
    # last commits, which only makes the intake read those messages again, and
    # a re-read message is the same complaint (same ids), deduplicated by tickets.
    # FULL would fsync on every message.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
