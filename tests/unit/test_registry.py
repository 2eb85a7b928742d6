"""The service registry is the one list of services, and it tells the truth about
the tree: every runnable package is in it, with the kind, port and migrations it
really has; and one service finds another where that one listens.

(That compose and Kubernetes run exactly the registry's services is checked by
deploy/validate.py, exercised in test_deploy.py.)"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from services.common import config, registry
from services.common.contract.complaint import CHANNELS
from services.intake_chat import kb_client

ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = ROOT / "services"


def runnable_packages() -> set[str]:
    return {p.parent.name for p in SERVICES_DIR.glob("*/__main__.py")}


def test_every_runnable_package_is_registered_and_every_registered_service_exists():
    assert set(registry.names()) == runnable_packages()


def test_no_two_services_share_a_port():
    ports = [s.port for s in registry.SERVICES]
    assert len(set(ports)) == len(ports), ports


def test_a_service_is_marked_as_migrating_exactly_when_it_has_migrations():
    for s in registry.SERVICES:
        has = (SERVICES_DIR / s.name / "migrations").is_dir() and (SERVICES_DIR / s.name / "migrate.py").is_file()
        assert s.migrations == has, s.name


def test_each_service_is_the_kind_its_main_starts():
    """nameko services start through nameko_main/nameko_cli, gunicorn ones through
    gunicorn_main/webhook_main; a poller runs a loop of its own."""
    for s in registry.SERVICES:
        main = (SERVICES_DIR / s.name / "__main__.py").read_text()
        nameko = "nameko_main" in main or "nameko_cli" in main
        gunicorn = "gunicorn_main" in main or "webhook_main" in main
        expected = registry.NAMEKO if nameko else registry.GUNICORN if gunicorn else registry.POLLER
        assert s.kind == expected, s.name


def test_intakes_take_channels_of_the_contract_and_services_call_only_registered_ones():
    for s in registry.SERVICES:
        assert {c.name for c in s.channels} <= set(CHANNELS), s.name
        assert all(c.identity in (None, *registry.IDENTITY_KINDS) for c in s.channels), s.name
        assert s.intake == s.name.startswith("intake_"), s.name
        assert set(s.calls) <= set(registry.names()) - {s.name}, s.name
        assert s.health_live.startswith("/") and s.health_ready.startswith("/")


def test_make_migrate_loops_over_the_registry():
    done = subprocess.run([sys.executable, "-m", "services.common.registry", "with-migrations"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == registry.with_migrations()
    assert {"intake_chat", "tickets"} <= set(done.stdout.split())
    makefile = (ROOT / "Makefile").read_text()
    assert "services.common.registry with-migrations" in makefile


def test_make_run_starts_the_mail_sink_and_then_every_registered_service():
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "scripts" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    assert [name for name, _ in run.SERVICES] == ["mail", *registry.names()]
    assert ("tickets", [sys.executable, "-m", "services.tickets"]) in run.SERVICES


def test_ports_come_from_the_registry_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("ROUTER_PORT", raising=False)
    assert config.port("router") == registry.get("router").port == config.DEFAULT_PORTS["router"]
    monkeypatch.setenv("ROUTER_PORT", "18005")
    assert config.port("router") == 18005
    with pytest.raises(KeyError, match="not a service of this system"):
        config.port("ruoter")


def test_the_web_intake_asks_the_console_on_the_port_it_was_given(monkeypatch):
    """CONSOLE_PORT moves the console; the knowledge-base client follows it
    (it used to ask 8008 whatever CONSOLE_PORT said, and fail silently)."""
    asked = []

    def fake_request(method, url, **kwargs):
        asked.append(url)
        raise requests.ConnectionError("nothing listens here in a unit test")

    monkeypatch.delenv("CONSOLE_URL", raising=False)
    monkeypatch.setenv("CONSOLE_PORT", "18123")
    monkeypatch.setattr(kb_client.requests, "request", fake_request)
    with pytest.raises(kb_client.KnowledgeBaseUnavailable):
        kb_client.KnowledgeBaseClient().suggest("charged twice")
    assert asked == ["http://127.0.0.1:18123/api/kb/suggest"]


def test_an_explicit_service_url_wins_over_the_port(monkeypatch):
    monkeypatch.setenv("CONSOLE_PORT", "18123")
    monkeypatch.setenv("CONSOLE_URL", "http://console:8008/")
    assert kb_client.console_url() == "http://console:8008"
    monkeypatch.setenv("ROUTER_URL", "http://router:8005")
    assert config.service_url("router") == "http://router:8005"


def test_each_channel_is_taken_by_one_intake():
    names = [c.name for s in registry.SERVICES for c in s.channels]
    assert len(names) == len(set(names)) and set(names) == set(CHANNELS)
