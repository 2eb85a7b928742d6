"""One way to open a database for every service: SQLite locally, PostgreSQL in production."""

import sys

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


def _green() -> bool:
    """True inside an eventlet-patched process (the nameko services)."""
    eventlet = sys.modules.get("eventlet")
    return bool(eventlet and eventlet.patcher.is_monkey_patched("thread"))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        pool = {}
        if _green():
            # SQLite waits for a lock in C, which blocks eventlet's hub: a greenlet
            # waiting for the write lock would freeze the greenlet holding it for the
            # whole busy timeout. One connection per process makes greenlets queue
            # on the pool instead, cooperatively; SQLite has one writer anyway.
            pool = {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the API read while the consumer writes; FKs are off by default in SQLite.
            # secure_delete zeroes what a change or a delete frees, so erased personal data
            # does not linger in the file's free space (services/common/privacy).
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def settle_erasure(engine: Engine) -> None:
    """After an erasure on SQLite: copy the write-ahead log into the database and empty it,
    so the rows as they were before are in no file any more. (PostgreSQL keeps old row
    versions until VACUUM, which autovacuum runs; README, "Privacy".)"""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def new_metadata() -> MetaData:
    """Metadata with constraint names fixed by convention, so Alembic can alter them later."""
    return MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })
