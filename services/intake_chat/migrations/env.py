"""Alembic environment of the web intake (python -m services.intake_chat migrate)."""

from services.common.storage.alembic_env import run
from services.intake_chat.schema import metadata

run(metadata, version_table="alembic_version_intake_chat")
