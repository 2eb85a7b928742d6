"""The router (handling.Router, over its stores), migrated by its Alembic
migrations, on SQLite and on PostgreSQL (one run of each test per database),
with relaxation steps short enough to test: used by the store's and the agents'
contact numbers' tests."""

from __future__ import annotations

import pytest

from services.common.storage.db import make_engine
from services.router import policy
from services.router.handling import Router
from services.router.migrate import upgrade


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield Router(engine, policy.PolicyConfig(relax_after=(60, 120, 180)))
    engine.dispose()
