"""The web intake's own table, prefixed `intake_chat_`. No other service reads it.

One row per idempotency key a client sent (a form's `submission_id`, a chat's
`chat_id`, a follow-up's `message_id`), scoped by channel and kind: the
fingerprint of the content it first came with and the reference it was
answered. The fingerprint is an HMAC (fingerprint.py), so the table holds no
readable personal data; rows older than IDEMPOTENCY_KEY_DAYS are purged.

Imports only SQLAlchemy: `python -m services.intake_chat migrate` loads it
before prometheus_client may be imported.
"""

from sqlalchemy import Column, DateTime, String, Table

from services.common.storage.db import new_metadata

metadata = new_metadata()

idempotency_keys = Table(
    "intake_chat_idempotency_keys", metadata,
    # The primary key is the claim: two requests with one key insert, one wins.
    Column("channel", String(16), primary_key=True),     # web | chat
    Column("kind", String(16), primary_key=True),        # complaint | message
    # The client's key; for a message "<reference>:<message_id>", so keys of two tickets never meet.
    Column("key", String(160), primary_key=True),
    Column("fingerprint", String(64), nullable=False),   # hex HMAC-SHA256 of the canonical content
    Column("reference", String(16), nullable=False),     # the ticket reference the key was answered
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    # Set once the broker confirmed a publish of this content.
    Column("published_at", DateTime(timezone=True)),
    # Which request inserted the row: only it gives the key up again, and only while
    # nothing was published (its publish failed: nothing was taken, the key is free).
    Column("claim_token", String(32), nullable=False),
)
