"""Schema migrations of the web intake (Alembic), the same on SQLite and PostgreSQL."""

from pathlib import Path

from services.common.storage import migrations

FOLDER = Path(__file__).resolve().parent / "migrations"


def upgrade(url: str, revision: str = "head") -> None:
    migrations.upgrade(url, FOLDER, revision)
