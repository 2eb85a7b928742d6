"""Alembic environment of the email intake (python -m services.intake_email migrate)."""

from services.common.storage.alembic_env import run
from services.intake_email.schema import metadata

run(metadata, version_table="alembic_version_intake_email")
