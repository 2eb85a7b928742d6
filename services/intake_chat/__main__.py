"""python -m services.intake_chat: the web intake under gunicorn.

gunicorn forks INTAKE_CHAT_WORKERS workers (default 2), each with
INTAKE_CHAT_THREADS threads (default 4), and stops them gracefully on SIGTERM
(requests in flight finish, up to INTAKE_CHAT_GRACEFUL_SECONDS).
"""

from __future__ import annotations

import glob
import importlib
import os
import shutil
import sys
import tempfile

from gunicorn.app.base import BaseApplication

from services.common import config, logs

ENV_SHOWN = ("AMQP_URI", "PUBLIC_BASE_URL", "MAX_BODY_BYTES", "RPC_TIMEOUT_SECONDS", "TRACKING_SECRET",
             "INTAKE_CHAT_WORKERS", "INTAKE_CHAT_THREADS", "PROMETHEUS_MULTIPROC_DIR")
SAMPLE = ('{"name":"Ana","email":"ana@example.org","subject":"Charged twice",'
          '"body":"I was charged twice for order 1234.","category":"billing"}')


class IntakeServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Imported in the worker, after the fork (no preload): each worker opens
        # its own broker connections.
        from .app import create_app

        return create_app()


def _worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    intake = getattr(app, "extensions", {}).get("intake_chat")
    if intake is not None:
        intake.close()


def _child_exit(server, worker):
    # prometheus_client was imported in main(): importing it here, from the
    # SIGCHLD handler, can deadlock on an import lock the interrupted code holds.
    sys.modules["prometheus_client.multiprocess"].mark_process_dead(worker.pid)


def _metrics_dir() -> str | None:
    """Make prometheus_client add up the workers' metrics. Must run before
    prometheus_client is imported. Returns a directory to remove at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        # prometheus_client requires an empty directory at start, or old counts add in.
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        return None
    created = tempfile.mkdtemp(prefix="intake_chat-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return created


def main() -> int:
    log = logs.setup("intake_chat")
    owned_dir = _metrics_dir()
    importlib.import_module("prometheus_client.multiprocess")  # only now that the directory is set
    # Read (and, locally, create) the tracking secret once, before the workers
    # fork, so they never race to create different ones.
    config.tracking_secret()
    bind = f"{config.http_host()}:{config.port('intake_chat')}"
    options = {
        "bind": bind,
        "workers": int(os.environ.get("INTAKE_CHAT_WORKERS", 2)),
        "threads": int(os.environ.get("INTAKE_CHAT_THREADS", 4)),
        "worker_class": "gthread",
        "graceful_timeout": int(os.environ.get("INTAKE_CHAT_GRACEFUL_SECONDS", 30)),
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
        "proc_name": "intake_chat",
    }
    # The same spelling as PUBLIC_BASE_URL's default and `make run`'s banner.
    host = "localhost" if config.http_host() in ("127.0.0.1", "0.0.0.0", "::") else config.http_host()
    base = f"http://{host}:{config.port('intake_chat')}"
    log.info("intake_chat starting on %s", bind, extra=config.describe(ENV_SHOWN))
    log.info("send a complaint: curl -X POST %s/complaints -H 'Content-Type: application/json' -d '%s'",
             base, SAMPLE)
    log.info("web form: %s/", base)
    try:
        IntakeServer(options).run()
    finally:
        if owned_dir:
            shutil.rmtree(owned_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
