"""Configuration: local defaults that work, and secrets that stay secret."""

import subprocess
import sys

from services.common import config
from testkit.paths import ROOT


def test_processes_starting_together_share_one_generated_tracking_secret(tmp_path):
    code = "from services.common import config; print(config.tracking_secret())"
    env = {"VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    secrets = {p.communicate(timeout=30)[0].strip() for p in procs}
    assert len(secrets) == 1 and len(secrets.pop()) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["tracking_secret"]  # no temp files left


def test_describe_masks_secrets_and_credentials(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://user:s3cret@rabbit:5672/")
    monkeypatch.setenv("TRACKING_SECRET", "hush")
    monkeypatch.setenv("SMTP_PASSWORD", "hush2")
    shown = config.describe(["AMQP_URI", "TRACKING_SECRET", "SMTP_PASSWORD", "UNSET_VARIABLE"])
    assert shown == {"AMQP_URI": "amqp://***@rabbit:5672/", "TRACKING_SECRET": "***", "SMTP_PASSWORD": "***"}


def test_each_service_gets_its_own_sqlite_file_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TICKETS_DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "VAR_DIR", tmp_path)
    assert config.database_url("tickets") == f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://db/complaints")
    assert config.database_url("tickets") == "postgresql+psycopg2://db/complaints"
    monkeypatch.setenv("TICKETS_DATABASE_URL", "postgresql+psycopg2://db/tickets")
    assert config.database_url("tickets") == "postgresql+psycopg2://db/tickets"
