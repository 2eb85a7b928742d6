"""Every service of the registry as its own process, as `make run` starts them,
on one RabbitMQ vhost, each on a SQLite file of its own or all on one
PostgreSQL database (each owns its tables, with their own migration history):
for the checks that go across all of them (security headers on every answer,
the fuzzing of every JSON API).

Only what each needs to start is set; no IMAP, SMTP or Twilio is behind them,
so the email intake reads no mailbox and the notifier's sends wait for retry.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.common import registry
from services.common.web import api_description

from .ports import free_port
from .processes import ServiceProcess
from .rabbit import Rabbit
from .twilio_requests import AUTH_TOKEN

# The services with an OpenAPI description of a JSON API (docs/openapi/<name>.yaml), in start order.
JSON_APIS = tuple(s.name for s in registry.SERVICES if s.name in api_description.described())


class EveryService:
    def __init__(self, tmp: Path, rabbit: Rabbit, names=None, database_url: str | None = None, **env):
        self.tmp, self.rabbit, self.extra = tmp, rabbit, env
        self.names = tuple(names or (s.name for s in registry.SERVICES))
        self.ports = {s.name: free_port() for s in registry.SERVICES}
        self.procs: dict[str, ServiceProcess] = {}
        self.database_urls = {n: database_url or f"sqlite:///{tmp / (n + '.db')}" for n in self.ports}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "PYTHONUNBUFFERED": "1",
            "VAR_DIR": str(self.tmp / "var"),
            "TRACKING_SECRET": "every-service-tracking-secret",
            "AMQP_URI": self.rabbit.amqp_uri,
            "PUBLIC_BASE_URL": self.url("intake_chat"),
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "RPC_TIMEOUT_SECONDS": "10",
            **{f"{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
            **{f"{n.upper()}_URL": self.url(n) for n in self.ports},
            **{f"{n.upper()}_DATABASE_URL": url for n, url in self.database_urls.items()},
            **{f"{n.upper()}_WORKERS": "1" for n in self.ports},
            "CONSOLE_BOOTSTRAP_ADMIN": "sam:sam-password-1",
        })
        env.update({k: str(v) for k, v in self.extra.items()})
        return env

    def start(self) -> EveryService:
        env = self.env()
        for name in self.names:
            proc = ServiceProcess(name, env, [sys.executable, "-m", f"services.{name}"],
                                  f"{self.url(name)}/health/live", self.tmp / f"{name}.log")
            self.procs[name] = proc
            proc.start(timeout=90)
        return self

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n} log ---\n{p.log()}" for n, p in self.procs.items())
