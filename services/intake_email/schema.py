"""The email intake's own tables, prefixed `intake_email_` (one PostgreSQL
database may hold every service's tables; no other service reads these)."""

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from services.common.storage.db import new_metadata

metadata = new_metadata()

# Where each mailbox's reading stands: every UID up to last_uid (within this
# UIDVALIDITY) has been handled, i.e. published and confirmed, skipped or quarantined.
checkpoints = Table(
    "intake_email_checkpoints", metadata,
    Column("mailbox", String(200), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every message handled, once per (mailbox, external id): a re-scan after a
# UIDVALIDITY change, or a second copy of a message, finds it here.
seen = Table(
    "intake_email_seen", metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(200), nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("outcome", String(16), nullable=False),        # ingested, skipped, quarantined
    Column("reference", String(16)),                       # the ticket reference, when ingested
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # What the message said (complaint.content_digest) and who sent it: a later
    # message reusing its Message-ID with other content is told apart by these.
    # NULL on rows written before they existed (such a reuse counts as a copy).
    Column("content_sha256", String(64)),
    Column("sender", String(320)),
    UniqueConstraint("mailbox", "external_id", name="uq_intake_email_seen_mailbox_external_id"),
)

quarantine = Table(
    "intake_email_quarantine", metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(200), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("reason", Text, nullable=False),
    Column("size", BigInteger, nullable=False),           # the message's size on the server
    Column("raw", LargeBinary, nullable=False),            # the bytes as read (headers only when too large)
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_intake_email_quarantine_at", "at"),
)

skipped = Table(
    "intake_email_skipped", metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox", String(200), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("external_id", String(500), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("sender", String(320)),
    Column("subject", String(300)),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_intake_email_skipped_at", "at"),
)
