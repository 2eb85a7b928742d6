"""Retry timing for a failed send: exponential, capped, with a limit. Plain Python."""

from __future__ import annotations

import random


def retry_delay(attempts: int, base: float, cap: float, jitter: float = 0.1) -> float:
    """Seconds to wait after the `attempts`-th failure: base, 2*base, 4*base... up to cap,
    with a little jitter so replicas retrying one outage do not hit it in step."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (1 + random.uniform(-jitter, jitter)) if jitter else delay


def gives_up(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts
