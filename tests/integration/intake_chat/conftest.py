"""Fixtures of the web intake's tests: a private Redis for the shared rate limits,
and for every test its own migrated ledger of idempotency keys (a SQLite file),
unless it names another database: the app opens INTAKE_CHAT_DATABASE_URL, and so
does a service process started from the test (it inherits the environment)."""

from __future__ import annotations

import shutil

import pytest

from services.intake_chat.migrate import upgrade
from testkit.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own (a free port), to share limits through and to stop mid-test."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_ledger_file(tmp_path_factory):
    """Migrated once; each test copies it (Alembic takes a while, a copy does not)."""
    path = tmp_path_factory.mktemp("ledger") / "intake_chat.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def ledger_database(migrated_ledger_file, tmp_path, monkeypatch):
    path = tmp_path / "intake_chat.db"
    shutil.copy(migrated_ledger_file, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("INTAKE_CHAT_DATABASE_URL", url)
    return url
