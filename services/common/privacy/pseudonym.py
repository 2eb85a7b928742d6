"""A stable pseudonym for an erased identifier: "erased-" and a keyed hash of it.

The same address gives the same pseudonym in every service and every time, so
statistics keep grouping (tickets per customer, repeat contacts) after the
person is gone, while nobody without the key can tell whose it was. It is
pseudonymisation, not anonymisation: whoever holds the key and an address can
recompute the pseudonym, so the key is a secret of the deployment
(PRIVACY_PSEUDONYM_KEY; by default derived from TRACKING_SECRET).

A pseudonym is never a reachable address: it has no "@" and no "+", so no
sender of the notifier accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from .subject import normalise_email, normalise_name, normalise_phone

PREFIX = "erased-"
LENGTH = 12  # hex digits (48 bits): fits a 20-character phone column; collisions only blur statistics


def key() -> bytes:
    from services.common import config

    given = os.environ.get("PRIVACY_PSEUDONYM_KEY")
    if given:
        return given.encode()
    return hmac.new(config.tracking_secret().encode(), b"privacy pseudonym", hashlib.sha256).digest()


def pseudonym(value: str, secret: bytes | None = None) -> str:
    """The pseudonym of an email, phone (any spelling) or name; the same for every
    spelling of one address. A pseudonym stays itself (erasing twice changes nothing)."""
    if is_pseudonym(value):
        return value
    digest = hmac.new(secret if secret is not None else key(), canonical(value).encode(), hashlib.sha256)
    return PREFIX + digest.hexdigest()[:LENGTH]


def is_pseudonym(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def canonical(value: str) -> str:
    for normalise in (normalise_email, normalise_phone):
        try:
            return normalise(value)
        except ValueError:
            continue
    return normalise_name(value).casefold()
