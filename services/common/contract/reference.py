"""Customer-facing ticket references and tracking tokens.

A reference is derived from the intake id, so an intake can tell it to the
customer before the ticket exists. It is Crockford base32 (no I, L, O, U), easy
to read aloud on the phone. Ten symbols carry 50 random bits of the UUID4:
the chance of two references colliding stays below 1 in 2,000 even after a
million complaints (eight symbols would be near 1 in 2 by then).

A tracking token is an HMAC of the reference, so the web intake can check it
without storing tokens, and a reference alone never opens a ticket's page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "C-"
LENGTH = 10

# What a customer may type: any case, with the classic look-alikes.
REFERENCE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])C-([0-9A-Za-z]{10})(?![A-Za-z0-9])", re.IGNORECASE)
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def reference_for(intake_id: str) -> str:
    value = uuid.UUID(str(intake_id)).int
    # A UUID4's bits 48-51 are its fixed version nibble: take the 48 random bits
    # before it and the 2 after it, so all 50 bits of the reference vary.
    bits = (value >> 80) << 2 | (value >> 74) & 0b11
    symbols = []
    for _ in range(LENGTH):
        symbols.append(ALPHABET[bits & 31])
        bits >>= 5
    return PREFIX + "".join(reversed(symbols))


def normalize_reference(text: str) -> str | None:
    """'c-7k3m9qx2ab' or 'C-7K3M9QX2AB' -> 'C-7K3M9QX2AB'; None if not a reference."""
    match = REFERENCE_IN_TEXT.fullmatch(text.strip())
    return _canonical(match.group(1)) if match else None


def find_references(*texts: str | None) -> list[str]:
    """Every well-formed reference mentioned in the texts, in order, once each."""
    found: list[str] = []
    for text in texts:
        for match in REFERENCE_IN_TEXT.finditer(text or ""):
            ref = _canonical(match.group(1))
            if ref and ref not in found:
                found.append(ref)
    return found


def _canonical(symbols: str) -> str | None:
    symbols = symbols.upper().translate(_LOOKALIKES)
    if any(s not in ALPHABET for s in symbols):
        return None
    return PREFIX + symbols


def tracking_token(reference: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), reference.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def tracking_url(base_url: str, reference: str, secret: str, page: str = "") -> str:
    """The customer's tracking page on the web intake (or one of its pages, e.g. "/survey")."""
    return f"{base_url}/complaints/{reference}{page}?token={tracking_token(reference, secret)}"


def token_matches(reference: str, token: str | None, secret: str) -> bool:
    if not token or not isinstance(token, str):
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text, and a URL may carry anything.
    return hmac.compare_digest(tracking_token(reference, secret).encode(), token.encode())
