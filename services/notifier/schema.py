"""The notifier's own tables (SQLAlchemy Core); Alembic migrations in
services/notifier/migrations/ create them. No other service reads them."""

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, String, Table, Text

from services.common.storage.db import new_metadata

metadata = new_metadata()

# The outbox of outbound messages: a row per (purpose, ticket, event, channel,
# recipient), written before anything is sent; its unique key is what makes a
# redelivered event send nothing twice.
notifications = Table(
    "notifications", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(500), nullable=False, unique=True),
    Column("purpose", String(32), nullable=False),
    Column("channel", String(16), nullable=False),        # email | sms | whatsapp | call | note | in_page
    Column("recipient", String(320), nullable=False),
    Column("reference", String(16), index=True),
    Column("subject", String(998), nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("headers", JSON, nullable=False, default=dict),
    Column("payload", JSON, nullable=False, default=dict),
    Column("urgent", Boolean, nullable=False, default=False),
    # pending -> sending -> sent | (pending again, later) | failed; cancelled: no longer wanted
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("last_error", String(1000)),
    Column("provider_id", String(998)),                   # the Message-ID or Twilio SID sent
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_notifications_due", "status", "due_at"),
)

# What the notifier knows about each ticket, from the events: enough to choose
# the customer's channel later (reminders, survey) and to schedule reminders.
ticket_state = Table(
    "notifier_tickets", metadata,
    Column("reference", String(16), primary_key=True),
    Column("ticket", JSON, nullable=False),               # the latest ticket dict from the tickets service
    Column("version", Integer, nullable=False),           # its version: older events never overwrite newer
    Column("status", String(20), nullable=False, index=True),
    Column("assignee", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged", Boolean, nullable=False, default=False),
    # The thread's latest Message-ID: our later emails (survey, reminders) reply to it.
    Column("last_message_id", String(998)),
    Column("pending_since", DateTime(timezone=True)),     # set while pending_customer (reminders)
    Column("reminders_sent", Integer, nullable=False, default=0),
    Column("callback", JSON(none_as_null=True)),          # a callback request not yet handed to an agent
    Column("waiting_alerted", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # When the customer's contact data in `ticket` was erased (an erasure request or the
    # retention rule; services/notifier/privacy.py).
    Column("erased_at", DateTime(timezone=True)),
)
