"""A private RabbitMQ node and a private PostgreSQL cluster for one run.

The fault-injection suite restarts the broker and the database while
complaints flow; doing that to the machine's shared servers would break
everything else using them, so each run gets its own, on its own ports and
in its own folder, and removes them afterwards. Both are the Debian
packages' servers (the ones `scripts/setup.sh` installs), started directly.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready within {timeout:.0f}s")


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: run its tools as the postgres user."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, cwd="/", check=True, capture_output=True, text=True, **kwargs)


def _rabbit_tool(name: str) -> str:
    """The tool itself, not Debian's /usr/sbin wrapper: the wrapper switches to the
    rabbitmq user with a clean environment, which would drop this node's settings."""
    direct = Path("/usr/lib/rabbitmq/bin") / name
    return str(direct) if direct.exists() else (shutil.which(name) or name)


class PrivateRabbit:
    """One RabbitMQ node (with the management plugin) named after its port."""

    def __init__(self, workdir: Path, port: int, mgmt_port: int, dist_port: int):
        self.dir = workdir / "rabbitmq"
        self.port, self.mgmt_port, self.dist_port = port, mgmt_port, dist_port
        self.node = f"loadtest{port}@localhost"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{port}/"
        self.api = f"http://127.0.0.1:{mgmt_port}/api"

    def _env(self) -> dict:
        return {**os.environ,
                "RABBITMQ_NODENAME": self.node, "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.dir / "log"), "RABBITMQ_PID_FILE": str(self.dir / "pid"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins")}

    def start(self, timeout: float = 90) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        # The config file replaces the system's (which pins port 5672).
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.mgmt_port}\n")
        subprocess.run([_rabbit_tool("rabbitmq-server"), "-detached"], env=self._env(), check=True,
                       capture_output=True)
        _wait(self.ready, timeout, f"RabbitMQ node {self.node}")

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.api}/overview", auth=("guest", "guest"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _pid(self) -> int | None:
        try:
            return int((self.dir / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _kill_vm(self) -> None:
        pid = self._pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """The broker dies at once (kill -9 of the Erlang VM), as in a crash."""
        self._kill_vm()
        _wait(lambda: not self.ready(), 30, "RabbitMQ to go away")

    def restart(self, down_for: float = 1) -> None:
        self.kill()
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        subprocess.run([_rabbit_tool("rabbitmqctl"), "-n", self.node, "stop"], env=self._env(),
                       capture_output=True, timeout=60)
        self._kill_vm()  # whatever rabbitmqctl left behind

    def queue_messages(self, name: str) -> int:
        resp = requests.get(f"{self.api}/queues/%2F/{name}", auth=("guest", "guest"), timeout=5)
        return int(resp.json().get("messages", 0) or 0) if resp.status_code == 200 else 0


class PrivatePostgres:
    """One PostgreSQL cluster, trust auth on 127.0.0.1:port, owned by the postgres user."""

    def __init__(self, workdir: Path, port: int):
        self.dir = workdir / "postgres"
        self.data = self.dir / "data"
        self.port = port
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/setup.sh postgres)")
        self.bin = Path(versions[-1])

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        _as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale", "C.UTF-8"])

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                      "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """mode 'immediate' is a crash: no checkpoint, recovery from the WAL at the next start."""
        try:
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        except subprocess.CalledProcessError:
            pass

    def restart(self, down_for: float = 1) -> None:
        self.stop("immediate")
        time.sleep(down_for)
        self.start()

    def create_database(self, name: str) -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
