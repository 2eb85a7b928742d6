"""The tables of a Twilio messaging intake (WhatsApp, SMS): each intake has its own,
of this one shape, under its own prefix (`whatsapp_messages`, `sms_messages`, ...);
no other service reads them. Used by its schema.py (and so its Alembic
migrations) and by twilio_message_store.py.

Imports only SQLAlchemy: `python -m services.<intake> migrate` loads it before
prometheus_client may be imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Column, DateTime, Float, Integer, MetaData, String, Table, Text


@dataclass(frozen=True)
class MessageTables:
    messages: Table
    conversations: Table
    quarantine: Table
    statuses: Table


def message_tables(metadata: MetaData, prefix: str) -> MessageTables:
    """The intake's own tables, named `<prefix>_messages`, ...: no other service reads them."""
    return MessageTables(
        # One row per MessageSid (the primary key is the idempotency key): the decision
        # taken for it, so a retried webhook is threaded and acknowledged the same way.
        Table(
            f"{prefix}_messages", metadata,
            Column("message_sid", String(64), primary_key=True),
            Column("intake_id", String(36), nullable=False),
            Column("number", String(20), nullable=False, index=True),
            Column("ack_reference", String(16), nullable=False),
            Column("thread_reference", String(16)),
            Column("follow_up", Integer, nullable=False, default=0),
            Column("received_at", DateTime(timezone=True), nullable=False),
            # Set once the broker confirmed.
            Column("published_at", DateTime(timezone=True)),
            # Which request is publishing it (and will acknowledge it), since when.
            # Cleared when its publish failed; a claim older than the lease
            # (<PREFIX>_CLAIM_SECONDS) was abandoned (a crash) and may be taken over.
            Column("claim_token", String(32)),
            Column("claimed_at", DateTime(timezone=True)),
            # HMAC of what the message said (twilio_messaging.content_fingerprint): the same
            # MessageSid with other content is quarantined, not answered as a duplicate.
            # None for rows from before it was kept: those are not compared.
            Column("content_fingerprint", String(64)),
        ),
        # The conversation window of each number: where its next messages thread to.
        Table(
            f"{prefix}_conversations", metadata,
            Column("number", String(20), primary_key=True),
            Column("reference", String(16), nullable=False),
            Column("last_message_at", Float, nullable=False),   # unix time
            # Bumped by every change: updates are conditional on it, so two workers
            # taking messages from one number at once never both start a conversation.
            Column("version", Integer, nullable=False, default=1),
        ),
        # Messages Twilio sent that could not be taken, kept whole with the reason.
        Table(
            f"{prefix}_quarantine", metadata,
            Column("id", Integer, primary_key=True),
            Column("message_sid", String(64), index=True),
            Column("reason", Text, nullable=False),
            Column("raw", JSON, nullable=False),
            Column("received_at", DateTime(timezone=True), nullable=False),
        ),
        # Delivery status of outbound messages (the status callback), latest per MessageSid.
        Table(
            f"{prefix}_statuses", metadata,
            Column("message_sid", String(64), primary_key=True),
            Column("status", String(20), nullable=False),
            Column("error_code", String(10)),
            Column("updated_at", DateTime(timezone=True), nullable=False),
        ),
    )
