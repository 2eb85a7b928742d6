"""The transactional outbox every nameko service uses to publish its events.

An event is a row written in the same transaction as the change it describes,
then relayed to the service's `<name>.events` exchange with publisher confirms
(nameko @event_handler subscribers listen there). A crash between commit and
publish delays an event, never loses it; a crash between publish and marking
re-sends it, which subscribers absorb by its event_id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, func, insert, select, update

from services.common.messaging.outbox_rows import event_row

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(64), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", String(500)),
        Index(f"ix_{name}_pending", "published_at", "id"),
    )


def emit(conn, table: Table, event_type: str, payload: dict, at: datetime) -> str:
    """Write an event inside the caller's transaction."""
    row = event_row(event_type, payload, at)
    conn.execute(insert(table), row)
    return row["event_id"]


def relay(engine, table: Table, publish, limit: int = 100) -> int:
    """Publish pending events in order; each is marked only after publish() returned.

    Rows are locked with SKIP LOCKED on PostgreSQL so replicas share the work.
    """
    sent = 0
    with engine.begin() as conn:
        rows = conn.execute(select(table).where(table.c.published_at.is_(None)).order_by(table.c.id)
                            .limit(limit).with_for_update(skip_locked=True)).all()
        for row in rows:
            try:
                publish(row.event_type, row.payload)
            except Exception as exc:  # the broker is down: keep the row, try later
                conn.execute(update(table).where(table.c.id == row.id).values(
                    attempts=row.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]))
                break
            conn.execute(update(table).where(table.c.id == row.id).values(
                published_at=datetime.now(UTC), attempts=row.attempts + 1, last_error=None))
            sent += 1
    return sent


def pending(engine, table: Table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.published_at.is_(None))
                            ).scalar_one()
