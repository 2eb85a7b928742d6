"""The router's schema migrations on an existing database (SQLite and PostgreSQL):
a push the old router still owed the tickets service becomes a decision that
reconcile announces again, and the push columns go."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from services.common.storage.db import make_engine
from services.router.migrate import upgrade


def test_a_pending_push_of_an_old_database_is_announced_again_after_the_upgrade(database_url):
    upgrade(database_url, "r0002")
    engine = make_engine(database_url)
    try:
        at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        with engine.begin() as conn:
            for ref, pending in (("C-PENDING", 1), ("C-PUSHED", 0)):
                conn.execute(text(
                    "INSERT INTO router_tickets (reference, priority, channel, status, version, assignee, weight, "
                    "created_at, pushed_assignee, push_pending, updated_at) VALUES (:ref, 'medium', 'web', 'new', 1, "
                    "'ana', 1, :at, :pushed, :pending, :at)"), {"ref": ref, "at": at, "pending": pending,
                                                               "pushed": None if pending else "ana"})
        upgrade(database_url)
        columns = {c["name"] for c in inspect(engine).get_columns("router_tickets")}
        assert {"region_source", "announced_at"} <= columns
        assert not {"push_pending", "pushed_assignee"} & columns
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT reference, announced_at FROM router_tickets")).all())
        assert rows["C-PUSHED"] is None and rows["C-PENDING"] is not None
    finally:
        engine.dispose()
