"""Alembic environment of the phone intake (python -m services.intake_voice migrate)."""

from services.common.storage.alembic_env import run
from services.intake_voice.schema import metadata

run(metadata, version_table="alembic_version_intake_voice")
