"""The fingerprint of what a customer sent, which an idempotency key is bound to.

Plain Python, no Flask or SQL. A genuine retry (a browser resubmitting, a
double click, a client retrying after a timeout) repeats the content exactly,
so its fingerprint is equal; the same key with anything else in the fields
that make the complaint is another complaint, and is refused (ledger.py).

What counts, for a new complaint (form or chat): the customer's name, email,
phone and anonymity, the subject, the body, the category, the language and the
country chosen, each as form.py took it (trimmed, blank = absent, phone
tidied). For a further message: its body. Not counted: the time, the ids, the
browser's suggested country and the region it leads to (derived, not typed).

The canonical form is JSON with sorted keys over NFC text with line endings
unified: what looks the same is the same. The fingerprint is an HMAC-SHA256
of it under a key derived from TRACKING_SECRET, so the ledger keeps no
readable personal data and nobody can test a guess of the content against it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping

# Bumped when the canonical form changes: a retry across the change is then refused (409)
# rather than matched against a fingerprint of another recipe.
VERSION = 1
COMPLAINT = "complaint"
MESSAGE = "message"
KINDS = (COMPLAINT, MESSAGE)
COMPLAINT_FIELDS = ("name", "email", "phone", "anonymous", "subject", "body", "category", "language", "country")
MESSAGE_FIELDS = ("body",)
PURPOSE = b"intake_chat idempotency fingerprint"

Value = str | bool | None


def complaint_content(complaint, country: str | None) -> dict[str, Value]:
    """The fields of a new complaint (a ComplaintReceived from form.parse) that a retry repeats."""
    customer = complaint.customer
    return {"name": customer.name, "email": customer.email, "phone": customer.phone,
            "anonymous": customer.anonymous, "subject": complaint.subject, "body": complaint.body,
            "category": complaint.category, "language": complaint.language, "country": country}


def message_content(complaint) -> dict[str, Value]:
    """The fields of a further message (form.follow_up) that a retry repeats."""
    return {"body": complaint.body}


def canonical(kind: str, content: Mapping[str, Value]) -> bytes:
    """The one byte string for `content`: the same whatever the order of its fields,
    the Unicode normal form, the line endings, surrounding blanks, or whether an absent
    field is missing, None or empty. Raises ValueError for an unknown kind or field."""
    allowed = {COMPLAINT: COMPLAINT_FIELDS, MESSAGE: MESSAGE_FIELDS}.get(kind)
    if allowed is None:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    unknown = sorted(set(content) - set(allowed))
    if unknown:
        raise ValueError(f"not part of a {kind}'s content: {', '.join(unknown)}")
    fields = {name: _value(name, content.get(name)) for name in allowed}
    document = {"v": VERSION, "kind": kind, "fields": fields}
    # surrogatepass: a lone surrogate reaches here as sent (the tickets service repairs it); it
    # must give its own bytes, not fail.
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def fingerprint(kind: str, content: Mapping[str, Value], secret: str) -> str:
    """64 hex digits: HMAC-SHA256 of the canonical content, keyed from the secret."""
    key = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, canonical(kind, content), hashlib.sha256).hexdigest()


def _value(name: str, value: object) -> Value:
    if isinstance(value, bool):   # before str: a flag stays a flag
        return value
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, true/false or nothing, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    return text or None
