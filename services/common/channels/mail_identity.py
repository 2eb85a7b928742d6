"""How the system names its own mail, so it never ingests what it sent (no loops).

The notifier stamps every message it sends with SYSTEM_HEADER and sends from
mail_from(); the email intake skips (and records) any incoming message that
carries the header with our system id or comes from one of our addresses.
"""

from __future__ import annotations

import os
from email.utils import parseaddr

SYSTEM_HEADER = "X-Complaints-System"


def system_id() -> str:
    """Distinguishes installations that mail each other (COMPLAINTS_SYSTEM_ID)."""
    return os.environ.get("COMPLAINTS_SYSTEM_ID", "complaints")


def mail_from() -> str:
    """The From of everything the system sends (MAIL_FROM)."""
    return os.environ.get("MAIL_FROM", "Support <support@complaints.localhost>")


def message_id_domain() -> str:
    """Right-hand side of the Message-IDs the system creates (MAIL_DOMAIN)."""
    default = parseaddr(mail_from())[1].rpartition("@")[2] or "complaints.localhost"
    return os.environ.get("MAIL_DOMAIN", default)


def own_addresses() -> set[str]:
    """MAIL_FROM's address plus SYSTEM_ADDRESSES (comma-separated), lower-cased."""
    extra = [a.strip() for a in os.environ.get("SYSTEM_ADDRESSES", "").split(",") if a.strip()]
    return {parseaddr(a)[1].lower() for a in [mail_from(), *extra] if parseaddr(a)[1]}
