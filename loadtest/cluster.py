"""The whole system on a private broker and database: what the fault-injection
suite and the end-to-end benchmark run against.

Every service of the registry (services/common/registry.py) that has a role
here (`load_cluster`) is started as its own process, each with its own
PostgreSQL database (services own their tables), all on one private RabbitMQ
node.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

from services.common import registry
from testkit import api
from testkit.fake_twilio import AUTH_TOKEN, FakeTwilio
from testkit.ports import free_port
from testkit.processes import ServiceProcess, service_exists, service_process

from .drivers import VoiceDriver, WebFormDriver, WhatsAppDriver
from .infra import PrivatePostgres, PrivateRabbit
from .mail_catcher import MailCatcher

# The registry's services that complaints pass through and this cluster can drive, in its start
# order (the consumers first, so nothing waits on them; the intakes last).
SERVICES = tuple(s.name for s in registry.SERVICES if s.load_cluster)
TRACKING_SECRET = "loadtest-tracking-secret"


def roster(agents: int, capacity: int) -> dict:
    """Agents who can take any complaint: the run measures the pipeline, not scarcity."""
    skills = {c: 1 for c in ("billing", "technical", "delivery", "product", "service", "other")}
    return {"agents": [{"name": f"agent{i:03d}", "display_name": f"Agent {i}", "email": f"agent{i}@support.example",
                        "skills": skills, "regions": [], "languages": [], "capacity": capacity}
                       for i in range(agents)]}


class Cluster:
    def __init__(self, workdir: Path | None = None, log=print, extra_env: dict | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="complaints-loadtest-"))
        self.workdir.chmod(0o755)  # the postgres user keeps its cluster inside
        self.log = log
        self.rabbit = PrivateRabbit(self.workdir, free_port(), free_port(), free_port())
        self.postgres = PrivatePostgres(self.workdir, free_port())
        self.extra_env = extra_env or {}
        self.procs: dict[str, ServiceProcess] = {}
        self.exited: dict[str, int] = {}  # services that died on their own during the run, and how often
        self.names = [n for n in SERVICES if service_exists(n)]
        # Fixed for the run, so a restarted service comes back where the others expect it.
        self.ports = {name: free_port() for name in self.names}
        # Stand-ins for the outside world: the SMTP server and Twilio's REST API.
        self.mail = MailCatcher(free_port())
        self.twilio = FakeTwilio(free_port())

    def database_url(self, service: str) -> str:
        return self.postgres.url(service)

    def start(self) -> None:
        self.log(f"work folder {self.workdir}")
        self.log("starting a private PostgreSQL and RabbitMQ")
        self.postgres.init()
        self.postgres.start()
        for name in self.names:
            self.postgres.create_database(name)
        self.rabbit.start()
        self.mail.start()
        self.twilio.start()
        for name in self.names:
            self.start_service(name)

    def env(self, name: str) -> dict:
        local = {n: f"http://127.0.0.1:{p}" for n, p in self.ports.items()}
        return {"AMQP_URI": self.rabbit.amqp_uri, "DATABASE_URL": self.database_url(name),
                f"{name.upper()}_DATABASE_URL": self.database_url(name), "VAR_DIR": self.workdir / "var",
                "TRACKING_SECRET": TRACKING_SECRET,
                **{f"{n.upper()}_PORT": p for n, p in self.ports.items()},
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.mail.port, "SMTP_SECURITY": "none",
                **self.twilio.env(),
                # Twilio reaches the webhooks directly here: the public URL is the local one.
                "PUBLIC_WHATSAPP_URL": local.get("intake_whatsapp", ""),
                "PUBLIC_VOICE_URL": local.get("intake_voice", ""),
                # The load comes from one address on purpose: the web intake's rate limiter still
                # runs on every post (its cost is part of the figures) but never refuses one.
                "INTAKE_RATE_LIMIT_PER_ADDRESS": "1000000/minute", "INTAKE_RATE_LIMIT_PER_CUSTOMER": "1000000/minute",
                **self.extra_env}

    def drivers(self, channels=("web", "whatsapp", "voice")) -> list:
        """One simulated customer client per intake that runs (and was asked for)."""
        made = []
        if "web" in channels and "intake_chat" in self.procs:
            made.append(WebFormDriver(self.url("intake_chat")))
        if "whatsapp" in channels and "intake_whatsapp" in self.procs:
            made.append(WhatsAppDriver(self.url("intake_whatsapp"), self.url("intake_whatsapp"), AUTH_TOKEN))
        if "voice" in channels and "intake_voice" in self.procs:
            made.append(VoiceDriver(self.url("intake_voice"), self.url("intake_voice"), AUTH_TOKEN))
        return made

    def start_service(self, name: str, timeout: float = 60) -> ServiceProcess:
        proc = service_process(name, self.env(name), self.workdir / f"{name}.log", port=self.ports[name])
        self.procs[name] = proc
        proc.start(timeout)
        self.log(f"{name} up on {proc.url}")
        return proc

    def kill(self, name: str) -> None:
        self.procs[name].kill()

    def url(self, name: str) -> str:
        return self.procs[name].url

    def load_roster(self, agents: int, complaints: int) -> None:
        # Room for several times the planned load: runs go on until every fault is done.
        capacity = max(50, math.ceil(5 * complaints / agents))
        resp = api.post(self.url("router") + "/roster", json=roster(agents, capacity), timeout=30)
        resp.raise_for_status()
        self.log(f"roster: {agents} agents, capacity {capacity} each")

    def wait_healthy(self, timeout: float = 60) -> None:
        """Wait for every service to answer again. A service whose process exited on its
        own is started again, as docker compose (restart: unless-stopped) or Kubernetes
        would, and counted in `self.exited`."""
        deadline = time.monotonic() + timeout
        for name, proc in list(self.procs.items()):
            while not proc.healthy():
                if not proc.running():
                    self.exited[name] = self.exited.get(name, 0) + 1
                    self.log(f"{name} exited on its own (code {proc.proc.returncode}); restarting it as an "
                             f"orchestrator would. Its last words:\n{proc.log()[-1500:]}")
                    proc = self.start_service(name)
                    continue
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} not healthy again:\n{proc.log()}")
                time.sleep(0.3)

    def stop(self, keep: bool = False) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        for peer in (self.mail, self.twilio):
            try:
                peer.stop()
            except Exception:  # never started
                pass
        self.rabbit.stop()
        self.postgres.stop("fast")
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
