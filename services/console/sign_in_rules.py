"""The sign-in rules in plain Python (no Flask, no SQL): when failed sign-ins
lock a name or an address and for how long, which roles must use a second
factor, what a password must be, and what recovery codes look like.

Lockout, with the defaults (settings.lockout_policy() reads them):
  - 5 failed sign-ins in a row for one name (CONSOLE_LOCKOUT_FAILURES), or 20
    from one client address (CONSOLE_LOCKOUT_ADDRESS_FAILURES), lock it;
  - the first lock lasts 60 s (CONSOLE_LOCKOUT_SECONDS), each next one twice
    the one before, at most 900 s (CONSOLE_LOCKOUT_MAX_SECONDS);
  - a day without a failure forgets both the count and the doubling;
  - a wrong password and a wrong code from the authenticator count alike; a
    try while locked is refused unchecked and does not count.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

FORGET_AFTER = timedelta(days=1)
RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code copied from paper is read back right.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 12  # about 59 bits
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class LockoutPolicy:
    account_failures: int = 5
    address_failures: int = 20
    first_lock: timedelta = timedelta(seconds=60)
    longest_lock: timedelta = timedelta(seconds=900)

    def __post_init__(self):
        if self.account_failures < 1 or self.address_failures < 1:
            raise ValueError("a lockout needs at least 1 failure")
        if self.first_lock <= timedelta(0) or self.longest_lock < self.first_lock:
            raise ValueError("the first lock must be positive and no longer than the longest")

    def threshold(self, key: str) -> int:
        return self.address_failures if key.startswith("address:") else self.account_failures

    def lock_for(self, level: int) -> timedelta:
        """The level-th lock (0 for the first) lasts first_lock * 2**level, capped."""
        if level >= 32:  # 2**32 minutes is past any cap; no huge numbers
            return self.longest_lock
        return min(self.first_lock * (2 ** level), self.longest_lock)


@dataclass(frozen=True)
class LockState:
    failures: int = 0
    level: int = 0
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None


def account_key(name: str) -> str:
    return f"account:{name[:180]}"


def address_key(address: str) -> str:
    return f"address:{address[:180]}"


def locked_until(state: LockState | None, now: datetime) -> datetime | None:
    """When the lock ends, if one is on now."""
    if state is None or state.locked_until is None or state.locked_until <= now:
        return None
    return state.locked_until


def after_failure(state: LockState | None, now: datetime, threshold: int, policy: LockoutPolicy
                  ) -> tuple[LockState, bool]:
    """The state after one more failure, and whether that failure started a lock."""
    if state is None or state.last_failure_at is None or now - state.last_failure_at > FORGET_AFTER:
        state = LockState()
    failures = state.failures + 1
    if failures < threshold:
        return replace(state, failures=failures, last_failure_at=now), False
    return LockState(failures=0, level=state.level + 1, locked_until=now + policy.lock_for(state.level),
                     last_failure_at=now), True


def totp_required(role: str, required_roles: frozenset[str]) -> bool:
    return role in required_roles


def password_problem(password: str | None, name: str, min_length: int) -> str | None:
    """Why this password cannot be used, in words for the person choosing it; None if it can."""
    password = password or ""
    if len(password) < min_length:
        return f"Choose a password of at least {min_length} characters."
    if len(password) > MAX_PASSWORD:
        return f"Choose a password of at most {MAX_PASSWORD} characters."
    if password.strip().lower() == (name or "").strip().lower():
        return "Choose a password that is not your name."
    return None


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes as shown to the person: 'abcd-efgh-jkmn'."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def normal_recovery_code(typed: str) -> str:
    """What someone typed, as stored: lower case, without spaces or dashes."""
    return "".join(c for c in (typed or "").lower() if c.isalnum())


def looks_like_totp(typed: str) -> bool:
    digits = "".join((typed or "").split())
    return len(digits) == 6 and digits.isascii() and digits.isdigit()


def parse_roles(value: str, known: tuple[str, ...]) -> frozenset[str]:
    """'supervisor, admin' -> {'supervisor', 'admin'}; an unknown role is an error."""
    roles = frozenset(r.strip() for r in value.split(",") if r.strip())
    unknown = sorted(roles - set(known))
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; expected some of {', '.join(known)}")
    return roles
