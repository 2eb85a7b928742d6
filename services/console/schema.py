"""The console's own tables (SQLAlchemy Core): its users, their sessions and
second factors, sign-in locks, password reset links, the sign-in audit, and
the knowledge base with its "did this help" answers. Tickets and the roster
are never read from here: they belong to the tickets service and the router.

Alembic migrations in services/console/migrations/ create these; keep both in step.
"""

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from services.common.storage.db import new_metadata

metadata = new_metadata()

# An administrator may do all a supervisor may, and read the sign-in audit.
ROLES = ("agent", "supervisor", "admin")

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
    # Where a password reset link is mailed; lower-cased, so one address is one account.
    Column("email", String(254), unique=True),
    # The TOTP key (base32) once confirmed by a first code; the one being set up until then.
    # Kept as is: the app must compute codes from it. A copy opens nothing without the password.
    Column("totp_secret", String(64)),
    Column("totp_pending_secret", String(64)),
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    Column("totp_last_step", Integer),
    Column("totp_enrolled_at", DateTime(timezone=True)),
    # The groups the user is in, signed into every call the console makes for them: a
    # confidential case is seen only by its group's members (README, "Confidential cases").
    Column("groups", JSON, nullable=False, default=list),
)

sessions = Table(
    "console_sessions", metadata,
    # SHA-256 of the cookie's random value: a leaked table opens no session.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    # signed_in, or a sign-in halfway: second_factor (password right, code next) or
    # enrol (password right, a second factor to set up first).
    Column("stage", String(16), nullable=False, server_default="signed_in"),
    # For the idle timeout; written at most once a minute.
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

recovery_codes = Table(
    "console_recovery_codes", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of "<user id>:<code>": shown once at enrolment, never stored as is.
    Column("code_hash", String(64), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    UniqueConstraint("user_id", "code_hash"),
)

password_resets = Table(
    "console_password_resets", metadata,
    # SHA-256 of the link's random token.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

sign_in_locks = Table(
    "console_sign_in_locks", metadata,
    # "account:<name as typed>" or "address:<client address>"; a name nobody has locks too,
    # so a lock says nothing about who exists.
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    # How many locks so far: each lasts twice the one before (sign_in_rules.LockoutPolicy).
    Column("level", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True), nullable=False, index=True),
)

audit = Table(
    "console_audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("event", String(32), nullable=False),
    # The account's name, or the name typed for one that may not exist.
    Column("user_name", String(100)),
    Column("address", String(64)),
    Column("detail", String(300)),
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
