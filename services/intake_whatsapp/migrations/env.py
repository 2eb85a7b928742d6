"""Alembic environment of the WhatsApp intake (python -m services.intake_whatsapp migrate)."""

from services.common.storage.alembic_env import run
from services.intake_whatsapp.schema import metadata

run(metadata, version_table="alembic_version_intake_whatsapp")
