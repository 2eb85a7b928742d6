"""Polling instead of sleeping: tests wait for what they expect, up to a limit."""

import time


def wait_for(predicate, timeout=10.0, interval=0.1, message="condition"):
    """Poll until predicate() returns a truthy value; return it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
