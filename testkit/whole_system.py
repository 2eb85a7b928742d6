"""The whole system the console, chat and browser tests run against: tickets,
router, console and intake_chat, each a real process on its own SQLite file,
on a RabbitMQ vhost of its own, started as `make run` starts them, with the
seeding they need done through the services' own APIs.

The fixture that starts one per test module is `system` in tests/conftest.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.common.contract.reference import tracking_token
from testkit import api

from .paths import ROOT
from .ports import free_port
from .processes import ServiceProcess
from .rabbit import Rabbit
from .waiting import wait_for

SECRET = "browser-test-tracking-secret"
SUPERVISOR = ("sam", "sam-password-1")
AGENT_PASSWORD = "agent-password-1"
AGENTS = ("ana", "bruno", "hugo", "emma")


class System:
    """The services as `make run` starts them, on a fresh vhost and fresh databases."""

    def __init__(self, tmp: Path, rabbit: Rabbit, **env):
        self.tmp, self.rabbit, self.extra = tmp, rabbit, env
        self.procs: dict[str, ServiceProcess] = {}
        self.ports = {name: free_port() for name in ("tickets", "router", "console", "intake_chat")}

    def url(self, name) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name) -> dict:
        env = dict(os.environ)
        env.update({
            "PYTHONUNBUFFERED": "1",
            "VAR_DIR": str(self.tmp / "var"),
            "TRACKING_SECRET": SECRET,
            "AMQP_URI": self.rabbit.amqp_uri,
            "DATABASE_URL": f"sqlite:///{self.tmp / (name + '.db')}",
            "ROUTER_URL": self.url("router"),
            "CONSOLE_URL": self.url("console"),
            "PUBLIC_BASE_URL": self.url("intake_chat"),
            "ROUTER_SWEEP_SECONDS": "1",
            "CHAT_POLL_SECONDS": "1",
            # Generous: these tests share two cores with everything else a CI machine runs.
            "RPC_TIMEOUT_SECONDS": "15",
            "CONSOLE_BOOTSTRAP_ADMIN": ":".join(SUPERVISOR),
            # The harness's supervisor signs in with a password alone, as often as tests need;
            # the two-step sign-in tests ask for it through their module's SYSTEM_ENV.
            "CONSOLE_TOTP_REQUIRED_ROLES": "",
            "CONSOLE_WORKERS": "1",
            **{f"{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
        })
        env.update({k: str(v) for k, v in self.extra.items()})
        return env

    def start(self):
        for name in ("tickets", "router", "console", "intake_chat"):
            proc = ServiceProcess(name, self.env(name), [sys.executable, "-m", f"services.{name}"],
                                  f"{self.url(name)}/health/live", self.tmp / f"{name}.log")
            self.procs[name] = proc
            proc.start(timeout=90)
        return self

    def stop(self):
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n} log ---\n{p.log()}" for n, p in self.procs.items())

    # --- seeding, through the services' own APIs --------------------------------

    def load_roster(self):
        body = (ROOT / "samples" / "roster.json").read_bytes()
        api.post(f"{self.url('router')}/roster", data=body, headers={"Content-Type": "application/json"},
                      timeout=30).raise_for_status()

    def add_console_users(self, names=AGENTS, role="agent"):
        from services.common.storage.db import make_engine
        from services.console.store import ConsoleStore

        store = ConsoleStore(make_engine(f"sqlite:///{self.tmp / 'console.db'}"))
        try:
            for name in names:
                if store.user(name) is None:
                    store.add_user(name, AGENT_PASSWORD, role)
        finally:
            store.engine.dispose()

    def complain(self, **fields) -> dict:
        body = {"name": "Ana", "email": "ana@example.org", "body": "Something went wrong", **fields}
        resp = api.post(f"{self.url('intake_chat')}/complaints", json=body, timeout=30)
        assert resp.status_code == 202, resp.text
        return resp.json()

    def ticket(self, reference) -> dict | None:
        resp = api.get(f"{self.url('tickets')}/tickets/{reference}", timeout=10)
        return resp.json() if resp.status_code == 200 else None

    def wait_ticket(self, reference, predicate=lambda t: True, timeout=60, message="ticket"):
        return wait_for(lambda: (t := self.ticket(reference)) and predicate(t) and t, timeout=timeout,
                        interval=0.3, message=message)

    def tracking_url(self, reference) -> str:
        return f"{self.url('intake_chat')}/complaints/{reference}?token={tracking_token(reference, SECRET)}"
