"""The WhatsApp intake's own tables, prefixed `whatsapp_`. No other service reads them."""

from sqlalchemy import JSON, Column, DateTime, Float, Integer, String, Table, Text

from services.common.storage.db import new_metadata

metadata = new_metadata()

# One row per MessageSid (the primary key is the idempotency key): the decision
# taken for it, so a retried webhook is threaded and acknowledged the same way.
messages = Table(
    "whatsapp_messages", metadata,
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
    # (WHATSAPP_CLAIM_SECONDS) was abandoned (a crash) and may be taken over.
    Column("claim_token", String(32)),
    Column("claimed_at", DateTime(timezone=True)),
)

# The conversation window of each number: where its next messages thread to.
conversations = Table(
    "whatsapp_conversations", metadata,
    Column("number", String(20), primary_key=True),
    Column("reference", String(16), nullable=False),
    Column("last_message_at", Float, nullable=False),   # unix time
    # Bumped by every change: updates are conditional on it, so two workers
    # taking messages from one number at once never both start a conversation.
    Column("version", Integer, nullable=False, default=1),
)

# Messages Twilio sent that could not be taken, kept whole with the reason.
quarantine = Table(
    "whatsapp_quarantine", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_sid", String(64), index=True),
    Column("reason", Text, nullable=False),
    Column("raw", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Delivery status of outbound messages (the status callback), latest per MessageSid.
statuses = Table(
    "whatsapp_statuses", metadata,
    Column("message_sid", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("error_code", String(10)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
