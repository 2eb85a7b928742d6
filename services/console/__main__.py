"""python -m services.console [run | migrate | add-user NAME --role agent|supervisor [--display-name TEXT]]

run (default): apply migrations unless AUTO_MIGRATE=0, create the supervisor
  named in CONSOLE_BOOTSTRAP_ADMIN=name:password if there is none by that name,
  then serve under gunicorn (CONSOLE_WORKERS, CONSOLE_THREADS).
migrate: apply migrations and exit.
add-user: create a console user; the password comes from CONSOLE_PASSWORD or a
  prompt. The name should be the agent's roster name, so "My queue" is theirs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from services.common import config, logs
from services.common.web import gunicorn_main

from . import settings


def _store():
    from services.common.storage.db import make_engine

    from .store import ConsoleStore

    return ConsoleStore(make_engine(settings.database_url()))


def _migrate() -> None:
    from .migrate import upgrade

    upgrade(settings.database_url())


def _bootstrap(log) -> None:
    wanted = settings.bootstrap_admin()
    if not wanted:
        return
    store = _store()
    try:
        if store.user(wanted[0]) is None:
            store.add_user(wanted[0], wanted[1], "supervisor")
            log.info("created supervisor %s from CONSOLE_BOOTSTRAP_ADMIN", wanted[0])
    finally:
        store.engine.dispose()


def _load_app():
    from .app import create_app

    return create_app()


def run() -> int:
    log = logs.setup("console")
    owned_dir = gunicorn_main.prepare_metrics("console")
    config.tracking_secret()  # the CSRF key derives from it: create it once, before the fork
    if os.environ.get("AUTO_MIGRATE", "1") != "0":
        _migrate()
    _bootstrap(log)
    base = gunicorn_main.local_base_url("console")
    log.info("console starting", extra=config.describe(settings.ENV_SHOWN))
    log.info("agent console: %s/signin", base)
    return gunicorn_main.serve("console", _load_app, workers=2, threads=4,
                               owned_metrics_dir=owned_dir)


def add_user(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console add-user")
    parser.add_argument("name")
    parser.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    parser.add_argument("--display-name")
    args = parser.parse_args(argv)
    logs.setup("console")
    _migrate()
    password = os.environ.get("CONSOLE_PASSWORD")
    if not password:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            print("The passwords differ; nothing was created.", file=sys.stderr)
            return 1
    from .store import ConsoleError

    store = _store()
    try:
        user = store.add_user(args.name, password, args.role, args.display_name)
    except ConsoleError as exc:
        print(f"Not created: {exc}", file=sys.stderr)
        return 1
    finally:
        store.engine.dispose()
    print(f"Created {user['role']} {user['name']}.")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        return run()
    if command == "migrate":
        logs.setup("console")
        _migrate()
        return 0
    if command == "add-user":
        return add_user(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
