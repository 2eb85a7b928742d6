"""Configuration from environment variables, with defaults that work locally.

Every knob is read here so README.md has one place to document them. Secrets
are read but never logged (see `describe`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from services.common import registry

ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("VAR_DIR", ROOT / "var"))

# From the service registry, the one list of services (and their default ports).
DEFAULT_PORTS = {s.name: s.port for s in registry.SERVICES}

SECRET_NAMES = ("TRACKING_SECRET", "SERVICE_TOKEN_KEYS", "METRICS_TOKEN")


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")


def database_url(service: str) -> str:
    """DATABASE_URL for the service; each service owns its own SQLite file by default."""
    specific = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if specific:
        return specific
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / (service + '.db')}"


def http_host() -> str:
    return os.environ.get("HTTP_HOST", "127.0.0.1")


def port(service: str) -> int:
    """<SERVICE>_PORT, else the registry's default."""
    return int(os.environ.get(f"{service.upper()}_PORT", registry.get(service).port))


def service_url(service: str) -> str:
    """Where one service reaches another over HTTP: <SERVICE>_URL (e.g. http://console:8008
    in a cluster), else this machine on the port that service listens on (<SERVICE>_PORT)."""
    given = os.environ.get(f"{service.upper()}_URL")
    return (given or f"http://127.0.0.1:{port(service)}").rstrip("/")


def public_base_url() -> str:
    """Where customers reach the web intake (tracking links in messages)."""
    return os.environ.get("PUBLIC_BASE_URL", f"http://localhost:{port('intake_chat')}").rstrip("/")


def max_body_bytes() -> int:
    return int(os.environ.get("MAX_BODY_BYTES", 256 * 1024))


def rpc_timeout() -> float:
    return float(os.environ.get("RPC_TIMEOUT_SECONDS", 5))


def tracking_secret() -> str:
    """TRACKING_SECRET, or a random one kept under var/ for local runs."""
    return os.environ.get("TRACKING_SECRET") or _local_secret("tracking_secret")


def service_token_keys() -> list[str]:
    """The keys that sign and check the internal credentials (services/common/auth):
    SERVICE_TOKEN_KEYS, comma-separated; the first signs, every one is accepted, so
    a key is rotated without downtime by putting the new one first, then, once every
    replica runs with both, dropping the old. Locally, a random one kept under var/."""
    given = [k.strip() for k in os.environ.get("SERVICE_TOKEN_KEYS", "").split(",") if k.strip()]
    return given or [_local_secret("service_token_key")]


_LOCAL_SECRETS: dict[Path, str] = {}


def _local_secret(name: str) -> str:
    """A random secret kept in var/<name>, made on first use, for local runs. Read from
    the file once per process: every internal call checks a token under it."""
    path = VAR_DIR / name
    if path in _LOCAL_SECRETS:
        return _LOCAL_SECRETS[path]
    if not path.exists():
        # Several processes may start at once: each writes its own temp file and
        # links it into place; os.link fails if another got there first, so all
        # of them end up reading the one secret that won.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=VAR_DIR, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    _LOCAL_SECRETS[path] = path.read_text().strip()
    return _LOCAL_SECRETS[path]


def describe(names) -> dict[str, str]:
    """Values for a startup log line, with secrets and passwords masked."""
    out = {}
    for name in names:
        value = os.environ.get(name)
        if value is None:
            continue
        if name in SECRET_NAMES or any(word in name for word in ("PASSWORD", "TOKEN", "SECRET")):
            value = "***"
        elif "://" in value and "@" in value:
            scheme, rest = value.split("://", 1)
            value = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        out[name] = value
    return out
