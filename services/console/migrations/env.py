"""Alembic environment of the console (python -m services.console migrate)."""

from services.common.storage.alembic_env import run
from services.console.schema import metadata

run(metadata, version_table="alembic_version_console")
