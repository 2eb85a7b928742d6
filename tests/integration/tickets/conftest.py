"""The tickets service's store, migrated by its Alembic migrations, on SQLite
and on PostgreSQL (one run of each test per database): used by the store's and
the replies' tests."""

from __future__ import annotations

import pytest

from services.common.storage.db import make_engine
from services.tickets.migrate import upgrade
from services.tickets.store import TicketStore


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield TicketStore(engine)
    engine.dispose()
