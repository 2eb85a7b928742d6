"""Alembic environment of the notifier service (python -m services.notifier migrate)."""

from services.common.storage.alembic_env import run
from services.notifier.schema import metadata

run(metadata, version_table="alembic_version_notifier")
