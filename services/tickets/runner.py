"""Start the tickets service in this process (after eventlet is patched)."""

import os

from nameko.cli.run import run

from services.common import config, logs


def serve() -> int:
    log = logs.setup("tickets")
    url = config.database_url("tickets")
    if os.environ.get("AUTO_MIGRATE", "1") != "0":
        from .migrate import upgrade

        upgrade(url)
    from .service import TicketsService

    nameko_config = {
        "AMQP_URI": config.amqp_uri(),
        "DATABASE_URL": url,
        "WEB_SERVER_ADDRESS": f"{config.http_host()}:{config.port('tickets')}",
        "serializer": "json",
        "max_workers": int(os.environ.get("TICKETS_MAX_WORKERS", 10)),
        # Declared by the publisher too; never auto-deleted so no event is lost to a missing exchange.
        "AUTO_DELETE_EVENT_EXCHANGES": False,
    }
    log.info("tickets service starting", extra={
        "http": f"http://{nameko_config['WEB_SERVER_ADDRESS']}/tickets",
        **config.describe(["AMQP_URI", "DATABASE_URL", "TICKETS_DATABASE_URL"])})
    run([TicketsService], nameko_config)
    return 0
