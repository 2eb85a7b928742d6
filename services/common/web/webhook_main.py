"""`python -m services.<intake> [run | migrate]` for the Twilio webhook intakes.

run (default): apply the service's migrations unless AUTO_MIGRATE=0, then
serve its Flask app under gunicorn (services/common/gunicorn_main.py).
migrate: apply the migrations and exit.

Imports nothing that loads prometheus_client: gunicorn_main.prepare_metrics
must set PROMETHEUS_MULTIPROC_DIR first.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType

from services.common import config, logs
from services.common.privacy.retention import Retention
from services.common.web import gunicorn_main


def main(settings: ModuleType, argv: list[str], upgrade: Callable[[str], None], webhooks: str) -> int:
    """settings: the service's settings module (NAME, ENV_SHOWN, auth_token());
    its Flask factory is services.<NAME>.app.create_app. webhooks: where
    Twilio's webhooks must point, for the start-up log."""
    name, auth_token, env_shown = settings.NAME, settings.auth_token(), settings.ENV_SHOWN
    command = argv[0] if argv else "run"
    log = logs.setup(name)
    if command == "migrate":
        upgrade(config.database_url(name))
        return 0
    if command != "run":
        print(f"usage: python -m services.{name} [run | migrate]", file=sys.stderr)
        return 2
    if os.environ.get("AUTO_MIGRATE", "1") != "0":
        upgrade(config.database_url(name))
    Retention.from_env()  # a bad RETENTION_* value stops the start, not each worker
    owned_metrics_dir = gunicorn_main.prepare_metrics(name)
    # Read (and, locally, create) the secret once, before the workers fork.
    config.tracking_secret()
    log.info("%s starting on %s:%s", name, config.http_host(), config.port(name), extra=config.describe(env_shown))
    if not auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: every webhook will be refused (403)")
    log.info(webhooks)

    def load_app():  # in each worker, after the fork: its own connections and privacy threads
        app = importlib.import_module(f"services.{name}.app").create_app()
        importlib.import_module("services.common.privacy.flask_side").start_background(app)
        return app

    return gunicorn_main.serve(name, load_app, owned_metrics_dir=owned_metrics_dir)
