"""SQL for the notifier: the outbox of outbound messages and what it knows of
each ticket. Idempotency rests on the outbox's unique key (INSERT ... ON
CONFLICT DO NOTHING), not on look-before-insert, so replicas racing on one
event still write one row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.contract.confidential import DEFAULT_GROUP
from services.common.contract.vocabulary import Status
from services.common.time.clock import iso, parse

from .plan import Draft
from .schema import notifications, ticket_state

PUBLIC_FIELDS = ("id", "key", "purpose", "channel", "recipient", "reference", "subject", "status", "attempts",
                 "last_error", "provider_id", "urgent")


class NotFound(LookupError):
    pass


def _insert(conn, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class NotifierStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def begin(self):
        return self.engine.begin()

    # --- the outbox ------------------------------------------------------------------

    def enqueue(self, conn, drafts: list[Draft], now: datetime) -> int:
        """Write drafts in the caller's transaction; a key already there is already handled."""
        added = 0
        for d in drafts:
            values = dict(key=d.key[:500], purpose=d.purpose, channel=d.channel, recipient=d.recipient[:320],
                          reference=d.reference, subject=d.subject[:998], body=d.body, headers=d.headers,
                          payload=d.payload, urgent=d.urgent, status=d.status, attempts=0,
                          due_at=d.not_before or now, created_at=now, updated_at=now,
                          sent_at=now if d.status == "sent" else None,
                          last_error=d.body[:1000] if d.status == "failed" else None)
            result = conn.execute(_insert(conn, notifications).values(**values)
                                  .on_conflict_do_nothing(index_elements=["key"]))
            added += result.rowcount or 0
        return added

    def cancel(self, conn, reference: str, purpose: str, now: datetime) -> int:
        """Drop queued messages no longer wanted (a reminder after the customer answered)."""
        return conn.execute(update(notifications).where(
            notifications.c.reference == reference, notifications.c.purpose == purpose,
            notifications.c.status == "pending").values(status="cancelled", updated_at=now)).rowcount

    def claim_next(self, now: datetime):
        """The most pressing due row, switched pending -> sending by a conditional update
        (two replicas never send one row) committed before it is sent; None when nothing
        is due. One row at a time: a crash leaves only the row in hand "sending"."""
        for _ in range(5):  # another replica may take the row we picked: pick again
            with self.engine.begin() as conn:
                row = conn.execute(select(notifications).where(
                    notifications.c.status == "pending", notifications.c.due_at <= now)
                    .order_by(notifications.c.urgent.desc(), notifications.c.due_at, notifications.c.id)
                    .limit(1)).first()
                if row is None:
                    return None
                if conn.execute(update(notifications).where(notifications.c.id == row.id,
                                                            notifications.c.status == "pending")
                                .values(status="sending", updated_at=now)).rowcount == 1:
                    return row
        return None

    def claim_due(self, now: datetime, limit: int = 20) -> list:
        """Up to `limit` due rows, each claimed as claim_next does."""
        claimed = []
        while len(claimed) < limit and (row := self.claim_next(now)) is not None:
            claimed.append(row)
        return claimed

    def mark_sent(self, row_id: int, provider_id: str | None, now: datetime) -> None:
        self._set(row_id, status="sent", sent_at=now, provider_id=provider_id, last_error=None,
                  attempts=notifications.c.attempts + 1, updated_at=now)

    def mark_retry(self, row_id: int, error: str, due_at: datetime, now: datetime) -> None:
        self._set(row_id, status="pending", due_at=due_at, last_error=error[:1000],
                  attempts=notifications.c.attempts + 1, updated_at=now)

    def mark_failed(self, row_id: int, error: str, now: datetime) -> None:
        self._set(row_id, status="failed", last_error=error[:1000], attempts=notifications.c.attempts + 1,
                  updated_at=now)

    def _set(self, row_id, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.id == row_id).values(**values))

    def release_stale(self, before: datetime, now: datetime) -> int:
        """Rows left "sending" by a process that died mid-send go back to pending: the one
        case where a message may go out twice (it may have left before the crash)."""
        with self.engine.begin() as conn:
            return conn.execute(update(notifications).where(
                notifications.c.status == "sending", notifications.c.updated_at < before)
                .values(status="pending", updated_at=now, last_error="interrupted while sending; retried")).rowcount

    def retry(self, row_id: int, now: datetime) -> dict:
        """An operator's second chance for a failed message."""
        with self.engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.id == row_id,
                                                     notifications.c.status == "failed")
                         .values(status="pending", due_at=now, attempts=0, updated_at=now))
        return self.get(row_id)

    # --- reading -------------------------------------------------------------------------

    def list(self, status=None, reference=None, purpose=None, channel=None, limit=100) -> list[dict]:
        """The newest rows, each with its ticket's `confidential_group` (None: not a case)."""
        conditions = [c == v for c, v in ((notifications.c.status, status), (notifications.c.reference, reference),
                                          (notifications.c.purpose, purpose), (notifications.c.channel, channel))
                      if v]
        with self.engine.connect() as conn:
            rows = conn.execute(select(notifications).where(*conditions)
                                .order_by(notifications.c.id.desc()).limit(max(1, min(int(limit), 500)))).all()
            groups = self._confidential_groups(conn, {r.reference for r in rows if r.reference})
        return [{**_public(r), "confidential_group": groups.get(r.reference)} for r in rows]

    def get(self, row_id: int) -> dict:
        with self.engine.connect() as conn:
            row = conn.execute(select(notifications).where(notifications.c.id == row_id)).first()
            if row is None:
                raise NotFound(f"no notification {row_id}")
            groups = self._confidential_groups(conn, {row.reference} if row.reference else set())
        return {**_public(row), "body": row.body, "headers": row.headers,
                "confidential_group": groups.get(row.reference)}

    def _confidential_groups(self, conn, references) -> dict[str, str]:
        """reference -> the group of those that are confidential cases (as the last event said)."""
        if not references:
            return {}
        rows = conn.execute(select(ticket_state.c.reference, ticket_state.c.ticket).where(
            ticket_state.c.reference.in_(sorted(references))))
        return {r.reference: r.ticket.get("confidential_group") or DEFAULT_GROUP for r in rows
                if (r.ticket or {}).get("confidential")}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(notifications.c.status, func.count()).group_by(notifications.c.status)
                                     ).all())

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    # --- what the notifier knows of each ticket ----------------------------------------------

    def state(self, conn, reference: str):
        return conn.execute(select(ticket_state).where(ticket_state.c.reference == reference)).first()

    def save_state(self, conn, ticket: dict, now: datetime, **fields):
        """Upsert the ticket's latest dict (an older version never overwrites a newer one),
        plus the notifier's own fields; returns the row as it was before (or None)."""
        reference = ticket["reference"]
        version = int(ticket.get("version") or 0)
        before = self.state(conn, reference)
        if before is None:
            conn.execute(_insert(conn, ticket_state).values(
                reference=reference, ticket=ticket, version=version, status=ticket.get("status") or Status.NEW,
                assignee=ticket.get("assignee"), acknowledged=False, reminders_sent=0, waiting_alerted=False,
                created_at=parse(ticket.get("created_at")) or now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["reference"]))
            before_for_update = self.state(conn, reference)
        else:
            before_for_update = before
        values = dict(fields, updated_at=now)
        if version >= before_for_update.version:
            values.update(ticket=ticket, version=version, status=ticket.get("status") or before_for_update.status,
                          assignee=ticket.get("assignee"))
        conn.execute(update(ticket_state).where(ticket_state.c.reference == reference).values(**values))
        return before

    def update_state(self, conn, reference: str, **fields) -> None:
        conn.execute(update(ticket_state).where(ticket_state.c.reference == reference).values(**fields))

    def known(self, references: list[str]) -> set[str]:
        """Of these references, the ones already acknowledged (for the catch-up)."""
        if not references:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(select(ticket_state.c.reference).where(
                ticket_state.c.reference.in_(references), ticket_state.c.acknowledged.is_(True))).scalars())

    def awaiting_customer(self, conn) -> list:
        return conn.execute(select(ticket_state).where(ticket_state.c.status == Status.PENDING_CUSTOMER,
                                                       ticket_state.c.pending_since.is_not(None))).all()

    def waiting_unassigned(self, conn, created_before: datetime) -> list:
        return conn.execute(select(ticket_state).where(and_(
            ticket_state.c.status == Status.NEW, ticket_state.c.assignee.is_(None),
            ticket_state.c.waiting_alerted.is_(False), ticket_state.c.created_at < created_before))).all()

    def with_callback(self, conn, reference: str):
        return conn.execute(select(ticket_state).where(ticket_state.c.reference == reference,
                                                       ticket_state.c.callback.is_not(None))).first()


def _public(row) -> dict:
    out = {k: getattr(row, k) for k in PUBLIC_FIELDS}
    for k in ("due_at", "created_at", "updated_at", "sent_at"):
        out[k] = iso(getattr(row, k))
    return out


