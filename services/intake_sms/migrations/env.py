"""Alembic environment of the SMS intake (python -m services.intake_sms migrate)."""

from services.common.storage.alembic_env import run
from services.intake_sms.schema import metadata

run(metadata, version_table="alembic_version_intake_sms")
