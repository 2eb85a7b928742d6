"""The `python -m services.<name> [run | migrate]` command line every nameko service
shares: run applies migrations (unless AUTO_MIGRATE=0) and serves; migrate applies
them and exits."""

from __future__ import annotations

import sys


def main(name: str, argv: list[str], load_service, load_upgrade, usage: str) -> int:
    """load_service() -> the nameko service class; load_upgrade() -> upgrade(url).
    Both are loaded lazily: eventlet must be patched before the service is imported."""
    command = argv[0] if argv else "run"
    if command == "run":
        from services.common.messaging import nameko_main

        nameko_main.green()
        return nameko_main.serve(name, load_service, migrate=load_upgrade())
    if command == "migrate":
        from services.common import config, logs

        logs.setup(name)
        load_upgrade()(config.database_url(name))
        return 0
    print(usage, file=sys.stderr)
    return 2
