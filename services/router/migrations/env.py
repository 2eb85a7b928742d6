"""Alembic environment of the router service (python -m services.router migrate)."""

from services.common.storage.alembic_env import run
from services.router.schema import metadata

run(metadata, version_table="alembic_version_router")
