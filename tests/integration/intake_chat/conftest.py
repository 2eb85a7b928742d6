"""Fixtures of the web intake's tests: a private Redis for the shared rate limits."""

from __future__ import annotations

import pytest

from testkit.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own (a free port), to share limits through and to stop mid-test."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()
