"""A Twilio messaging intake's state in SQL (WhatsApp, SMS: each its own tables
of this one shape, under its own prefix): one decision per MessageSid and the
conversation window per number, safe with several gunicorn workers and
replicas (unique keys and conditional updates, never check-then-insert).

One acknowledgement per message: the request whose insert created the
MessageSid's row holds its claim, publishes it and acknowledges it. Another
delivery of it (Twilio retries, sometimes several at once) waits for that
outcome: published, it is a duplicate (an empty answer); released because the
publish failed, or abandoned (a claim older than the lease: the worker died),
it takes the claim over and does the work itself; still in progress after the
wait, it is answered 503 and Twilio's next retry looks again. So no delivery
is answered 2xx before the broker confirmed the message, and only the one that
published it carries the acknowledgement.

A MessageSid is bound to its content: a delivery whose fingerprint differs from
the first one's is not a retry (Twilio retries with the same fields) and raises
ReusedMessageSid instead of being answered as a duplicate.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common.channels import twilio_messaging as domain
from services.common.channels.twilio_ids import is_sid
from services.common.channels.twilio_message_tables import MessageTables
from services.common.channels.twilio_messaging import Recorded
from services.common.contract.storable_text import storable
from services.common.web.webhook_intake import iso_utc

ATTEMPTS = 10
POLL_SECONDS = 0.05    # how often a waiting delivery looks at the claim's outcome


class _Raced(Exception):
    """Another worker changed the same conversation first: decide again."""


class ReusedMessageSid(Exception):
    """The MessageSid was taken before with other content: not a retry, never a duplicate."""


class MessageStore:
    def __init__(self, engine: Engine, tables: MessageTables):
        self.engine = engine
        self.messages, self.conversations = tables.messages, tables.conversations
        self.quarantined, self.statuses = tables.quarantine, tables.statuses

    def record(self, inbound: domain.Inbound, intake_id: str, own_reference: str,
               window_seconds: float, fingerprint: str | None = None) -> Recorded:
        """Decide where the message goes, once: a MessageSid seen before gets its first decision
        back, or ReusedMessageSid when `fingerprint` differs from the one it first came with."""
        for _ in range(ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    seen = conn.execute(select(self.messages).where(
                        self.messages.c.message_sid == inbound.message_sid)).first()
                    if seen is not None:
                        if None not in (fingerprint, seen.content_fingerprint) and \
                                seen.content_fingerprint != fingerprint:
                            raise ReusedMessageSid(inbound.message_sid)
                        return _recorded(seen)
                    return self._decide(conn, inbound, intake_id, own_reference, window_seconds, fingerprint)
            except (IntegrityError, _Raced):
                continue  # the winner's row is there now: read it, or decide again
        raise RuntimeError(f"conversation of {inbound.number} kept changing while taking {inbound.message_sid}")

    def _decide(self, conn, inbound, intake_id, own_reference, window_seconds, fingerprint) -> Recorded:
        now, conversations = time.time(), self.conversations
        row = conn.execute(select(conversations).where(conversations.c.number == inbound.number)).first()
        current = domain.Conversation(row.reference, row.last_message_at, self._live(conn, inbound.number,
                                                                                     row.reference)) \
            if row else None
        decision = domain.decide(current, now, window_seconds, own_reference, inbound.names_reference)
        if row is None:
            conn.execute(insert(conversations).values(number=inbound.number, reference=decision.conversation_reference,
                                                      last_message_at=now, version=1))
        else:
            changed = conn.execute(
                update(conversations)
                .where(conversations.c.number == inbound.number, conversations.c.version == row.version)
                .values(reference=decision.conversation_reference, last_message_at=now, version=row.version + 1))
            if changed.rowcount != 1:
                raise _Raced()
        received_at = datetime.now(UTC)
        claim = uuid.uuid4().hex
        conn.execute(insert(self.messages).values(
            message_sid=inbound.message_sid, intake_id=intake_id, number=inbound.number,
            ack_reference=decision.ack_reference, thread_reference=decision.thread_reference,
            follow_up=int(decision.follow_up), received_at=received_at, published_at=None,
            claim_token=claim, claimed_at=received_at, content_fingerprint=fingerprint))
        return Recorded(intake_id, decision.ack_reference, decision.thread_reference, decision.follow_up, False,
                        iso_utc(received_at), claim)

    def await_turn(self, message_sid: str, lease_seconds: float, wait_seconds: float) -> Recorded:
        """For a delivery that found the message recorded by another: its row once
        published; with `claim` set once this request took the claim over; or,
        after `wait_seconds`, neither (the other request is still at it)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            with self.engine.connect() as conn:
                row = conn.execute(select(self.messages).where(self.messages.c.message_sid == message_sid)).one()
            recorded = _recorded(row)
            if recorded.published:
                return recorded
            claim = self._take_over(message_sid, lease_seconds)
            if claim is not None:
                return replace(recorded, claim=claim)
            if time.monotonic() >= deadline:
                return recorded
            time.sleep(POLL_SECONDS)

    def _take_over(self, message_sid: str, lease_seconds: float) -> str | None:
        """Claim a message nobody is publishing: released, or claimed longer ago than the lease."""
        now, claim, messages = datetime.now(UTC), uuid.uuid4().hex, self.messages
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(messages)
                .where(messages.c.message_sid == message_sid, messages.c.published_at.is_(None),
                       or_(messages.c.claimed_at.is_(None),
                           messages.c.claimed_at < now - timedelta(seconds=lease_seconds)))
                .values(claim_token=claim, claimed_at=now))
        return claim if taken.rowcount == 1 else None

    def release(self, message_sid: str, claim: str) -> None:
        """The publish failed: the next delivery (a waiting one, or Twilio's retry) takes the message."""
        messages = self.messages
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(messages.c.message_sid == message_sid,
                                                messages.c.claim_token == claim, messages.c.published_at.is_(None))
                         .values(claim_token=None, claimed_at=None))

    def mark_published(self, message_sid: str) -> None:
        messages = self.messages
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(messages.c.message_sid == message_sid,
                                                messages.c.published_at.is_(None))
                         .values(published_at=datetime.now(UTC)))

    def quarantine(self, message_sid: str | None, reason: str, raw: dict) -> int:
        """Kept whole in `raw` (JSON escapes NUL); the indexed id only when it is one."""
        with self.engine.begin() as conn:
            return conn.execute(insert(self.quarantined).values(
                message_sid=message_sid if is_sid(message_sid) else None, reason=storable(reason[:2000]), raw=raw,
                received_at=datetime.now(UTC))).inserted_primary_key[0]

    def save_status(self, message_sid: str, status: str, error_code: str | None) -> None:
        values = {"status": storable(status[:20]), "error_code": (error_code or None) and storable(error_code[:10]),
                  "updated_at": datetime.now(UTC)}
        statuses = self.statuses
        for _ in range(ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    done = conn.execute(update(statuses).where(statuses.c.message_sid == message_sid).values(**values))
                    if done.rowcount == 0:
                        conn.execute(insert(statuses).values(message_sid=message_sid, **values))
                    return
            except IntegrityError:
                continue  # another worker inserted it first: update it

    def status(self, message_sid: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.statuses).where(self.statuses.c.message_sid == message_sid)).first()
        return {"status": row.status, "error_code": row.error_code} if row else None

    def _live(self, conn, number: str, reference: str) -> bool:
        """Whether the message that started the conversation on `reference` was published
        or is still held by a request publishing it (a released claim was given up)."""
        messages = self.messages
        starter = conn.execute(select(messages.c.published_at, messages.c.claim_token).where(
            messages.c.number == number, messages.c.ack_reference == reference, messages.c.follow_up == 0)).first()
        return starter is None or starter.published_at is not None or starter.claim_token is not None


def _recorded(row) -> Recorded:
    return Recorded(row.intake_id, row.ack_reference, row.thread_reference, bool(row.follow_up),
                    row.published_at is not None, iso_utc(row.received_at))
