"""Alembic, driven from code: each service keeps its migrations in its own
folder and its own version table, so services can share one database."""

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(url: str, folder: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, folder: Path, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, folder), revision)
