"""The body of every service's migrations/env.py: online migrations only."""

from alembic import context
from sqlalchemy import create_engine


def run(metadata, version_table: str) -> None:
    config = context.config
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable, metadata, version_table)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection, metadata, version_table)
    engine.dispose()


def _run(connection, metadata, version_table) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables instead.
    # A version table per service lets services share one database.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      version_table=version_table)
    with context.begin_transaction():
        context.run_migrations()
