"""The console's own tables (SQLAlchemy Core): its users, their sessions, and
the knowledge base with its "did this help" answers. Tickets and the roster
are never read from here: they belong to the tickets service and the router.

Alembic migrations in services/console/migrations/ create these; keep both in step.
"""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text

from services.common.storage.db import new_metadata

metadata = new_metadata()

ROLES = ("agent", "supervisor")

users = Table(
    "console_users", metadata,
    Column("id", Integer, primary_key=True),
    # The agent's roster name (the tickets' assignee), so "my queue" is theirs.
    Column("name", String(100), nullable=False, unique=True),
    Column("display_name", String(200)),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "console_sessions", metadata,
    # SHA-256 of the cookie's random value: a leaked table opens no session.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

articles = Table(
    "console_kb_articles", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("category", String(32), index=True),
    Column("language", String(35), index=True),
    Column("author", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "console_kb_feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("console_kb_articles.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("helped", Boolean, nullable=False),
    # What the customer was about to write, trimmed: shows agents which articles miss.
    Column("query", String(300)),
    Column("at", DateTime(timezone=True), nullable=False),
)
