"""Time-based one-time codes (RFC 6238, through pyotp) and the QR code that
carries a new key to an authenticator app (segno, pure Python). No I/O here:
which step was last accepted is kept by the store (second_factors.py).

A code is accepted for the current 30-second step or one either side
(VALID_WINDOW), for clocks a little off; the store accepts each step once.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno

VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def setup_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, at: datetime, window: int = VALID_WINDOW) -> int | None:
    """The time step the code belongs to, within the window around `at`; None if none."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    found = None
    for step in range(now - window, now + window + 1):
        # Every step compared, in constant time: how long it takes says nothing of which matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def grouped(secret: str) -> str:
    """'JBSWY3DPEHPK3PXP' -> 'JBSW Y3DP EHPK 3PXP', easier to type into a phone."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no script, no external resource, no style)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#0b0c0c", light="#ffffff")
