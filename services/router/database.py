"""The router's connection to its database: SQLite's settings for a router (commits
that do not wait for the disk unless configured, checkpoints in the sweep rather
than in a decision's commit), and the readiness ping. PostgreSQL keeps its own.
"""

from __future__ import annotations

from sqlalchemy import event, select

from . import settings

# SQLite copies its write-ahead log back into the database (a checkpoint, with fsyncs)
# in whichever commit makes the log pass this many pages. The sweep checkpoints every
# few seconds instead (checkpoint), so decisions do not pay for it; this larger
# threshold (SQLite's default is 1000) is the safety net if sweeps stop.
SQLITE_AUTOCHECKPOINT_PAGES = 10000


def prepare(engine) -> None:
    """Set up a new engine for the router (SQLite: PRAGMA synchronous, settings.sqlite_synchronous,
    and the checkpoint threshold on every connection)."""
    if engine.dialect.name != "sqlite":
        return
    synchronous = settings.sqlite_synchronous()

    @event.listens_for(engine, "connect")
    def _set(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.close()


def checkpoint(engine) -> None:
    """SQLite: copy the write-ahead log into the database now (PASSIVE: never waits
    for readers), here in the sweep rather than in some decision's commit."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def ping(engine) -> None:
    with engine.connect() as conn:
        conn.execute(select(1))
