"""The tickets service's own tables (SQLAlchemy Core). No other service reads them.

Alembic migrations in services/tickets/migrations/ create and evolve these;
keep both in step (tests/test_tickets_store.py checks they match).
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from services.common.messaging.outbox import outbox_table
from services.common.storage.db import new_metadata

metadata = new_metadata()

tickets = Table(
    "tickets", metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("intake_id", String(36), nullable=False, unique=True),
    Column("status", String(20), nullable=False, index=True),
    Column("priority", String(10), nullable=False, index=True),
    Column("category", String(32), index=True),
    Column("queue", String(64), nullable=False, index=True),
    Column("channel", String(16), nullable=False, index=True),
    Column("subject", String(300), nullable=False, default=""),
    Column("customer_name", String(200)),
    Column("customer_anonymous", Boolean, nullable=False, default=False),
    Column("region", String(64)),
    # Where the region came from ("phone +351 (PT)"), as the intake said.
    Column("region_source", String(200)),
    Column("language", String(35)),
    Column("assignee", String(100), index=True),
    Column("related_reference", String(16)),
    # Optimistic concurrency: every change is UPDATE ... WHERE version = :seen.
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    # Where the customer wants to hear from us (email | whatsapp | sms), when
    # they chose it; otherwise the notifier answers on the intake channel.
    Column("follow_up_channel", String(16)),
    Column("follow_up_address", String(320)),
    # The satisfaction survey's answer (the latest; earlier ones are in the audit).
    Column("survey_rating", Integer),
    Column("survey_comment", Text),
    Column("survey_answered_at", DateTime(timezone=True)),
    # SLA: when an agent first answered, and when the first-response target was missed.
    Column("first_response_at", DateTime(timezone=True)),
    Column("sla_breached_at", DateTime(timezone=True)),
    # A confidential case (confidentiality.py): only members of confidential_group see it.
    Column("confidential", Boolean, nullable=False, default=False, index=True),
    Column("confidential_group", String(64)),
    # Privacy: a ticket on legal hold keeps its personal data through erasure requests and
    # retention (reported as kept, with the reason); erased_at is when its contact data and
    # what the customer wrote were erased or pseudonymised (privacy_erasure.py).
    Column("legal_hold", Boolean, nullable=False, default=False, server_default=false()),
    Column("legal_hold_reason", String(200)),
    Column("erased_at", DateTime(timezone=True)),
)

# How the customer can be reached and recognised: one row per (kind, value), e.g.
# ("email", "ana@example.org"), ("whatsapp", "+351912345678"). A new channel's kind
# is a new value here, not a new column. Threading looks a sender up by (kind, value).
identities = Table(
    "ticket_identities", metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    UniqueConstraint("ticket_id", "kind", "value", name="uq_ticket_identities_ticket_kind_value"),
    Index("ix_ticket_identities_kind_value", "kind", "value"),
)

messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("direction", String(3), nullable=False),  # in | out
    Column("channel", String(16), nullable=False),
    # The channel's own id of the message: the idempotency key.
    Column("external_id", String(500), nullable=False),
    Column("intake_id", String(36), unique=True),
    # The reference the customer was told at intake (may differ from the
    # ticket's when the message was threaded onto an existing ticket).
    Column("intake_reference", String(16), index=True),
    Column("message_id", String(998), index=True),  # email Message-ID, for In-Reply-To threading
    Column("author", String(320)),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("attachments", JSON, nullable=False, default=list),
    Column("extras", JSON, nullable=False, default=dict),
    Column("threaded_via", String(40)),
    Column("received_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),
)

notes = Table(
    "notes", metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("author", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_type", String(10), nullable=False),  # agent | system | customer
    Column("actor", String(320)),
    Column("action", String(32), nullable=False),
    Column("changes", JSON, nullable=False, default=dict),
)

# Who saw a confidential ticket, when and how (view, list-hit, export, alert): read
# by the group's supervisors (GET /tickets/<reference>/access-log). Rows are only added.
access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("actor_type", String(10), nullable=False),  # agent | operator
    Column("action", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_access_log_reference_at", "reference", "at"),
)

# Events are written here in the same transaction as the change they describe,
# then relayed to RabbitMQ with confirms (services/common/outbox.py).
outbox = outbox_table(metadata)

# Messages that can never become a ticket (not a valid ComplaintReceived),
# kept whole with the reason, visible through the API and a metric.
quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
)

# Complaints the dead-letter queue held (read by the dead-letter watcher), so the
# customer's tracking page says "delayed" instead of "received" forever, and an
# operator sees which references wait and why. The message itself stays in the
# queue (parked) or goes back to the work queue (replayed).
dead_letters = Table(
    "dead_letters", metadata,
    Column("id", Integer, primary_key=True),
    # The intake id, or sha256:<hex> of the bytes of a message that is not JSON.
    Column("key", String(80), nullable=False, unique=True),
    Column("reference", String(16), index=True),
    Column("reason", Text, nullable=False),
    Column("deaths", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # parked | replayed
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

# A data subject's erasure requests, which this service coordinates (privacy_requests.py).
# `identifiers` are the person's own until every service has answered (they must be
# announced again until then), pseudonyms after.
privacy_erasures = Table(
    "privacy_erasures", metadata,
    Column("request_id", String(36), primary_key=True),
    Column("identifiers", JSON, nullable=False),
    Column("ticket_references", JSON, nullable=False, default=list),
    Column("held_references", JSON, nullable=False, default=list),
    Column("services", JSON, nullable=False, default=list),   # who must answer, as it was asked
    Column("requested_by", String(320), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=False),
    Column("announcements", Integer, nullable=False, default=1),
    Column("completed_at", DateTime(timezone=True), index=True),
)

# Each service's answer to a request (SubjectErasureCompleted): what it erased, pseudonymised or kept.
privacy_erasure_reports = Table(
    "privacy_erasure_reports", metadata,
    Column("request_id", String(36), ForeignKey("privacy_erasures.request_id"), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("report", JSON, nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)
