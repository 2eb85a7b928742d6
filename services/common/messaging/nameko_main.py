"""Starting a nameko service from `python -m services.<name>`.

`green()` must run before anything imports socket or threading: nameko needs
green I/O, and psycopg2 must yield to the eventlet hub instead of blocking it
(a blocked hub misses AMQP heartbeats and the broker redelivers work).
"""

from __future__ import annotations

import os
import warnings


def green() -> None:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()


def serve(name: str, load_service, migrate=None) -> int:
    """Run one nameko service class until SIGTERM/Ctrl-C (nameko stops it gracefully:
    in-flight workers finish, unacked messages go back to the queue)."""
    from nameko.cli.run import run

    from services.common import config, logs

    log = logs.setup(name)
    url = config.database_url(name)
    if migrate and os.environ.get("AUTO_MIGRATE", "1") != "0":
        migrate(url)
    service_cls = load_service()
    nameko_config = {
        "AMQP_URI": config.amqp_uri(),
        "DATABASE_URL": url,
        "WEB_SERVER_ADDRESS": f"{config.http_host()}:{config.port(name)}",
        "serializer": "json",
        "max_workers": int(os.environ.get(f"{name.upper()}_MAX_WORKERS", 10)),
        # Never auto-deleted, so no event is lost to a vanished exchange.
        "AUTO_DELETE_EVENT_EXCHANGES": False,
    }
    log.info("%s service starting", name, extra={
        "http": f"http://{nameko_config['WEB_SERVER_ADDRESS']}/",
        **config.describe(["AMQP_URI", "DATABASE_URL", f"{name.upper()}_DATABASE_URL"])})
    run([service_cls], nameko_config)
    return 0
