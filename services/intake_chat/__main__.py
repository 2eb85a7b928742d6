"""python -m services.intake_chat [run | migrate]

run (default): apply migrations (the ledger of idempotency keys) unless
AUTO_MIGRATE=0, then serve the web intake under gunicorn.
migrate: apply migrations and exit.

gunicorn forks INTAKE_CHAT_WORKERS workers (default 2), each with
INTAKE_CHAT_THREADS threads (default 4), and stops them gracefully on SIGTERM
(requests in flight finish, up to INTAKE_CHAT_GRACEFUL_SECONDS); see
services/common/gunicorn_main.py.
"""

from __future__ import annotations

import os
import sys

from services.common import config, logs
from services.common.channels.regions import RegionMap, RegionMapError
from services.common.web import gunicorn_main
from services.common.web.rate_limits import RateLimitConfigError

from . import abuse
from .ledger import keep_days
from .migrate import upgrade

NAME = "intake_chat"
ENV_SHOWN = ("AMQP_URI", "DATABASE_URL", "INTAKE_CHAT_DATABASE_URL", "IDEMPOTENCY_KEY_DAYS", "AUTO_MIGRATE",
             "PUBLIC_BASE_URL", "MAX_BODY_BYTES", "RPC_TIMEOUT_SECONDS", "TRACKING_SECRET",
             "INTAKE_CHAT_WORKERS", "INTAKE_CHAT_THREADS", "PROMETHEUS_MULTIPROC_DIR", "CONSOLE_URL",
             "CHAT_AGENT_WAIT_SECONDS", "CHAT_POLL_SECONDS", "REGION_BY_COUNTRY", "REGION_BY_EMAIL_DOMAIN",
             "RATE_LIMIT_ENABLED", "RATE_LIMIT_STORAGE_URI", "RATE_LIMIT_KEY_PREFIX", "TRUSTED_PROXY_HOPS",
             "INTAKE_RATE_LIMIT_PER_ADDRESS", "INTAKE_RATE_LIMIT_PER_CUSTOMER", "CHAT_SESSIONS_PER_ADDRESS_PER_HOUR")
SAMPLE = ('{"name":"Ana","email":"ana@example.org","subject":"Charged twice",'
          '"body":"I was charged twice for order 1234.","category":"billing"}')


def _load_app():
    # Imported in the worker, after the fork: each worker opens its own broker connections.
    from .app import create_app

    return create_app()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    log = logs.setup(NAME)
    if command == "migrate":
        upgrade(config.database_url(NAME))
        return 0
    if command != "run":
        print(__doc__, file=sys.stderr)
        return 2
    try:  # before the fork: one clear line instead of every worker failing to boot
        RegionMap.from_env()
        keep_days()
    except (RegionMapError, ValueError) as exc:
        log.error("bad configuration: %s", exc)
        return 2
    try:
        abuse.check_settings()
    except RateLimitConfigError as exc:
        log.error("bad rate limit setting: %s", exc)
        return 2
    if os.environ.get("AUTO_MIGRATE", "1") != "0":
        upgrade(config.database_url(NAME))
    owned_dir = gunicorn_main.prepare_metrics("intake_chat")
    # Read (and, locally, create) the tracking secret once, before the workers
    # fork, so they never race to create different ones.
    config.tracking_secret()
    base = gunicorn_main.local_base_url("intake_chat")
    log.info("intake_chat starting on %s:%s", config.http_host(), config.port("intake_chat"),
             extra=config.describe(ENV_SHOWN))
    log.info("send a complaint: curl -X POST %s/complaints -H 'Content-Type: application/json' -d '%s'",
             base, SAMPLE)
    log.info("web form: %s/   web chat: %s/chat", base, base)
    return gunicorn_main.serve("intake_chat", _load_app, owned_metrics_dir=owned_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
