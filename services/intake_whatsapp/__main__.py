"""python -m services.intake_whatsapp [run | migrate]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve Twilio's
WhatsApp webhooks under gunicorn (INTAKE_WHATSAPP_WORKERS, _THREADS, _GRACEFUL_SECONDS).
migrate: apply migrations and exit.
"""

from __future__ import annotations

import os
import sys

from services.common import config, gunicorn_main, logs

from . import settings
from .migrate import upgrade


def _load_app():
    from .app import create_app

    return create_app()


def _close(server, worker):
    from services.common.webhook_intake import close_app

    close_app(getattr(worker, "wsgi", None), settings.NAME)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    log = logs.setup(settings.NAME)
    if command == "migrate":
        upgrade(config.database_url(settings.NAME))
        return 0
    if command != "run":
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get("AUTO_MIGRATE", "1") != "0":
        upgrade(config.database_url(settings.NAME))
    owned_metrics_dir = gunicorn_main.prepare_metrics(settings.NAME)
    # Read (and, locally, create) the secret once, before the workers fork.
    config.tracking_secret()
    log.info("intake_whatsapp starting on %s:%s", config.http_host(), config.port(settings.NAME),
             extra=config.describe(settings.ENV_SHOWN))
    if not settings.auth_token():
        log.warning("TWILIO_AUTH_TOKEN is not set: every webhook will be refused (403)")
    log.info("point the WhatsApp sender's webhooks at %s/messages (incoming) and %s/status (status callback)",
             settings.public_url(), settings.public_url())
    return gunicorn_main.serve(settings.NAME, _load_app, worker_exit=_close,
                               owned_metrics_dir=owned_metrics_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
