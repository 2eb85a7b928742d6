"""Shared fixtures, seen by every tier: real RabbitMQ (a fresh vhost per test),
real databases (a SQLite file and a fresh PostgreSQL database), services
started as the user starts them (`python -m services.<name>`) as separate
processes, and the whole system of the browser and chat tests.

Every fixture here is lazy: nothing touches RabbitMQ or PostgreSQL unless a
test asks for it, so tests/unit runs with neither. The plain helpers behind
the fixtures are in testkit/.

The suite does not monkey-patch eventlet: nameko runs only inside the
service processes it starts.
"""

from __future__ import annotations

import uuid

import pytest

# Before testkit is imported: its asserts (twiml(), ...) explain themselves as a test's do.
pytest.register_assert_rewrite("testkit")

# Every service a test starts signs and checks internal credentials with the test keys.
import testkit.api  # noqa: E402,F401  (sets SERVICE_TOKEN_KEYS before any service starts)
from testkit.postgres import postgres_database  # noqa: E402
from testkit.processes import ServiceProcess, service_process  # noqa: E402
from testkit.rabbit import Rabbit  # noqa: E402
from testkit.whole_system import System  # noqa: E402

# --- RabbitMQ ---------------------------------------------------------------


@pytest.fixture
def rabbit():
    r = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    r.create()
    yield r
    r.delete()


# --- databases ----------------------------------------------------------------


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database, for what only PostgreSQL is for (several replicas)."""
    url, drop = postgres_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """One run of the test per database the product supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickets.db'}"
        return
    url, drop = postgres_database()
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


# --- the whole system (console over HTTP, the web chat, the browser tests) -------------


@pytest.fixture(scope="module")
def system(tmp_path_factory, request):
    """tickets, router, console and intake_chat on a fresh vhost, one per test module
    (a module's SYSTEM_ENV adds settings)."""
    rabbit = Rabbit(f"test-{uuid.uuid4().hex[:12]}")
    rabbit.create()
    running = System(tmp_path_factory.mktemp("system"), rabbit, **getattr(request.module, "SYSTEM_ENV", {}))
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()
        rabbit.delete()
