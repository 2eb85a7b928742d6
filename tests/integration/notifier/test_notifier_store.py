"""The notifier's store on SQLite and PostgreSQL (schema from its Alembic
migrations): one row per key whatever the races, claims that never hand a row
to two senders, retries and failures, interrupted sends, ticket versions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from services.common.storage.db import make_engine
from services.notifier.migrate import upgrade
from services.notifier.plan import Draft
from services.notifier.schema import metadata
from services.notifier.store import NotifierStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    yield NotifierStore(engine)
    engine.dispose()


def draft(key="acknowledgement:C-2VVFXBBXSS::email:ana@example.org", **fields) -> Draft:
    return Draft(**{"key": key, "purpose": "acknowledgement", "channel": "email", "recipient": "ana@example.org",
                    "reference": "C-2VVFXBBXSS", "subject": "s", "body": "b", **fields})


def test_migrations_create_exactly_the_declared_schema(store):
    tables = set(inspect(store.engine).get_table_names()) - {"alembic_version_notifier"}
    assert tables == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert {c["name"] for c in inspect(store.engine).get_columns(name)} == set(table.columns.keys())


def test_one_row_per_key_even_when_writers_race(store):
    def write():
        with store.begin() as conn:
            store.enqueue(conn, [draft()], NOW)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.begin() as conn:
        assert store.enqueue(conn, [draft(), draft(key="other")], NOW) == 1
    assert len(store.list()) == 2


def test_a_due_row_is_claimed_once_then_retried_then_failed(store):
    with store.begin() as conn:
        store.enqueue(conn, [draft(), draft(key="later", not_before=NOW + timedelta(hours=1))], NOW)
    claimed = store.claim_due(NOW)
    assert [r.key for r in claimed] == [draft().key] and store.claim_due(NOW) == []
    store.mark_retry(claimed[0].id, "SMTPRecipientsRefused: 550", NOW + timedelta(seconds=30), NOW)
    assert store.claim_due(NOW) == []
    (again,) = store.claim_due(NOW + timedelta(seconds=31))
    store.mark_failed(again.id, "SMTPRecipientsRefused: 550", NOW)
    (failed,) = store.list(status="failed")
    assert failed["attempts"] == 2 and "550" in failed["last_error"]
    assert store.retry(failed["id"], NOW)["status"] == "pending"


def test_a_send_interrupted_by_a_crash_is_tried_again(store):
    with store.begin() as conn:
        store.enqueue(conn, [draft()], NOW)
    (row,) = store.claim_due(NOW)          # ... and the process dies before marking it
    assert store.release_stale(NOW - timedelta(minutes=5), NOW) == 0   # not stale yet
    assert store.release_stale(NOW + timedelta(seconds=1), NOW) == 1   # left "sending" too long
    assert [r.id for r in store.claim_due(NOW)] == [row.id]


def test_an_older_ticket_version_never_overwrites_a_newer_one(store):
    ticket = {"reference": "C-2VVFXBBXSS", "status": "pending_customer", "version": 3, "assignee": "bob"}
    with store.begin() as conn:
        assert store.save_state(conn, ticket, NOW) is None
        store.save_state(conn, {**ticket, "status": "new", "version": 1, "assignee": None}, NOW,
                         last_message_id="<m@x>")
        row = store.state(conn, "C-2VVFXBBXSS")
    assert (row.status, row.assignee, row.version, row.last_message_id) == ("pending_customer", "bob", 3, "<m@x>")


def test_rows_are_claimed_one_at_a_time_so_a_crash_strands_only_the_one_in_hand(store):
    with store.begin() as conn:
        store.enqueue(conn, [draft(key="a"), draft(key="b"), draft(key="c")], NOW)
    first = store.claim_next(NOW)           # ... and the process dies while sending it
    assert first is not None
    assert sorted(r["status"] for r in store.list()) == ["pending", "pending", "sending"]
    assert {r.key for r in store.claim_due(NOW)} == {"a", "b", "c"} - {first.key}
