"""Fixtures of the integration tests of more than one service: the tickets
service behind the Twilio intakes (tests/integration/intake_whatsapp and
intake_voice)."""

from __future__ import annotations

import pytest


@pytest.fixture
def tickets(database_url, services, rabbit):
    """The tickets service on SQLite and on PostgreSQL (one run of the test each)."""
    return services.start("tickets", DATABASE_URL=database_url)


@pytest.fixture
def tickets_sqlite(tmp_path, services, rabbit):
    return services.start("tickets", DATABASE_URL=f"sqlite:///{tmp_path / 'tickets.db'}")
