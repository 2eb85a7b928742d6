"""Alembic environment of the tickets service (python -m services.tickets migrate)."""

from services.common.storage.alembic_env import run
from services.tickets.schema import metadata

run(metadata, version_table="alembic_version_tickets")
