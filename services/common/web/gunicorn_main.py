"""Serving a Flask app under gunicorn from `python -m services.<name>`: the web
intakes and the agent console.

gunicorn forks `<NAME>_WORKERS` workers (gthread), each with `<NAME>_THREADS`
threads, and stops them gracefully on SIGTERM (requests in flight finish, up
to `<NAME>_GRACEFUL_SECONDS`). Workers import the app after the fork (no
preload), so each opens its own broker and database connections. Metrics
from every worker are added up through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import glob
import importlib
import os
import shutil
import sys
import tempfile

from gunicorn.app.base import BaseApplication

from services.common import config


class FlaskServer(BaseApplication):
    def __init__(self, load_app, options: dict):
        self.load_app = load_app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.load_app()


def prepare_metrics(name: str) -> str | None:
    """Make prometheus_client add up the workers' metrics. Must run before
    prometheus_client is imported anywhere. Returns a directory to remove at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        # prometheus_client requires an empty directory at start, or old counts add in.
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        owned = None
    else:
        owned = tempfile.mkdtemp(prefix=f"{name}-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = owned
    importlib.import_module("prometheus_client.multiprocess")  # only now that the directory is set
    return owned


def _child_exit(server, worker):
    # prometheus_client was imported in prepare_metrics(): importing it here,
    # from the SIGCHLD handler, can deadlock on an import lock the interrupted code holds.
    sys.modules["prometheus_client.multiprocess"].mark_process_dead(worker.pid)


def _close_worker_app(name: str):
    """gunicorn's worker_exit: each app keeps its per-worker connections (publisher,
    RPC proxies, database engine) in app.extensions[name]; close them."""
    def worker_exit(server, worker):
        held = getattr(getattr(worker, "wsgi", None), "extensions", {}).get(name)
        if held is not None:
            held.close()
    return worker_exit


def serve(name: str, load_app, workers: int = 2, threads: int = 4,
          owned_metrics_dir: str | None = None) -> int:
    prefix = name.upper()
    options = {
        "bind": f"{config.http_host()}:{config.port(name)}",
        "workers": int(os.environ.get(f"{prefix}_WORKERS", workers)),
        "threads": int(os.environ.get(f"{prefix}_THREADS", threads)),
        "worker_class": "gthread",
        "graceful_timeout": int(os.environ.get(f"{prefix}_GRACEFUL_SECONDS", 30)),
        "child_exit": _child_exit,
        "worker_exit": _close_worker_app(name),
        "proc_name": name,
    }
    try:
        FlaskServer(load_app, options).run()
    finally:
        if owned_metrics_dir:
            shutil.rmtree(owned_metrics_dir, ignore_errors=True)
    return 0


def local_base_url(name: str) -> str:
    """How a person on this machine reaches the service (for start-up banners)."""
    host = "localhost" if config.http_host() in ("127.0.0.1", "0.0.0.0", "::") else config.http_host()
    return f"http://{host}:{config.port(name)}"


def metrics_response():
    """/metrics of a gunicorn-served app: every worker's metrics added up (or this
    process's own registry when not under gunicorn, as in tests)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    from werkzeug.wrappers import Response

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
