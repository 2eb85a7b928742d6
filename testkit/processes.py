"""The services as separate processes, started the way `make run` starts them.

Used by the test fixtures, the fault-injection suite and the end-to-end
benchmark: start a service, wait for /health/live, kill -9 it, start it
again on the same port, and read its log when something goes wrong.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .paths import ROOT
from .ports import free_port


def service_exists(name: str) -> bool:
    """True when services/<name> is a runnable package (python -m services.<name>)."""
    return (ROOT / "services" / name / "__main__.py").exists()


class ServiceProcess:
    """One service process, with its log kept in a file for failures."""

    def __init__(self, name: str, env: dict, args: list[str], health_url: str, log_path: Path):
        self.name, self.env, self.args = name, env, args
        self.health_url = health_url
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 30) -> ServiceProcess:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if self.healthy():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout}s:\n{self.log()}")

    def healthy(self) -> bool:
        try:
            return requests.get(self.health_url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Signal the whole process group (gunicorn workers too); returns the exit code."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode if self.proc else None

    def kill(self) -> None:
        """kill -9, every process of the service at once: a crash, no clean-up."""
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""


def service_process(name: str, env: dict, log_path: Path, port: int | None = None,
                    args: list[str] | None = None) -> ServiceProcess:
    """A not yet started `python -m services.<name>` listening on `port` (a free one if None)."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()},
           f"{name.upper()}_PORT": str(port)}
    proc = ServiceProcess(name, env, args or [sys.executable, "-m", f"services.{name}"],
                          f"http://127.0.0.1:{port}/health/live", log_path)
    proc.port = port
    proc.url = f"http://127.0.0.1:{port}"
    return proc
