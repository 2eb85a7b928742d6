"""Alembic environment for the tickets service (run by `python -m services.tickets migrate`)."""

from alembic import context

from services.tickets.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from sqlalchemy import create_engine

        connectable = create_engine(config.get_main_option("sqlalchemy.url"))
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables instead.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      version_table="alembic_version_tickets")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
