"""Shared fixtures: real RabbitMQ (a fresh vhost per test), real databases
(a SQLite file and a fresh PostgreSQL database), and services started as the
user starts them (`python -m services.<name>`), as separate processes.

The suite does not monkey-patch eventlet: nameko runs only inside the
service processes it starts.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests

from loadtest.system import ServiceProcess, free_port, service_process  # noqa: F401  (free_port: used by tests)

ROOT = Path(__file__).resolve().parents[1]
AMQP_BASE = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://127.0.0.1:15672/api")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- RabbitMQ ---------------------------------------------------------------


class Rabbit:
    """A throwaway vhost on the real broker, with the management API to look inside."""

    def __init__(self, vhost: str):
        self.vhost = vhost
        parts = urlsplit(AMQP_BASE)
        self.amqp_uri = urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
        user = parts.username or "guest"
        self.auth = (user, parts.password or "guest")

    def api(self, method, path, **kwargs):
        return requests.request(method, f"{RABBIT_API}{path}", auth=self.auth, timeout=10, **kwargs)

    def create(self):
        self.api("PUT", f"/vhosts/{quote(self.vhost, safe='')}").raise_for_status()
        self.api("PUT", f"/permissions/{quote(self.vhost, safe='')}/{self.auth[0]}",
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete(self):
        self.api("DELETE", f"/vhosts/{quote(self.vhost, safe='')}")

    def queue(self, name) -> dict | None:
        resp = self.api("GET", f"/queues/{quote(self.vhost, safe='')}/{quote(name, safe='')}")
        return resp.json() if resp.status_code == 200 else None

    def queue_depth(self, name) -> int:
        """Ready + unacked messages; polls until the management stats settle."""
        info = self.queue(name) or {}
        return int(info.get("messages", 0) or 0)

    def get_messages(self, name, count=10) -> list[dict]:
        """Read messages and put them back (the management API's requeue mode)."""
        resp = self.api("POST", f"/queues/{quote(self.vhost, safe='')}/{quote(name, safe='')}/get",
                        json={"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"})
        resp.raise_for_status()
        return resp.json()


@pytest.fixture
def rabbit():
    r = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    r.create()
    yield r
    r.delete()


# --- databases ----------------------------------------------------------------


def _postgres_database():
    import psycopg2

    name = f"complaints_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/" + name))

    def drop():
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database, for what only PostgreSQL is for (several replicas)."""
    url, drop = _postgres_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """One run of the test per database the product supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    url, drop = _postgres_database()
    yield url
    drop()


# --- service processes --------------------------------------------------------


@pytest.fixture
def services(tmp_path, request, rabbit):
    """Factory: services.start('tickets', DATABASE_URL=...) -> ServiceProcess, on the
    test's vhost. It depends on `rabbit` so services stop before the vhost goes;
    list `database_url` before it in a test's arguments for the same reason."""
    started: list[ServiceProcess] = []

    class Factory:
        def start(self, name, **env_overrides):
            env = {"VAR_DIR": str(tmp_path / "var"), "TRACKING_SECRET": "test-tracking-secret",
                   "AMQP_URI": rabbit.amqp_uri, **env_overrides}
            proc = service_process(name, env, tmp_path / f"{name}-{len(started)}.log")
            started.append(proc)
            return proc.start()

    yield Factory()
    for proc in reversed(started):
        proc.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for proc in started:
            print(f"--- {proc.name} log ---\n{proc.log()}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def wait_for(predicate, timeout=10.0, interval=0.1, message="condition"):
    """Poll until predicate() returns a truthy value; return it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
