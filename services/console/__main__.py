"""python -m services.console [COMMAND]

run (default): apply migrations unless AUTO_MIGRATE=0, create the administrator
  named in CONSOLE_BOOTSTRAP_ADMIN=name:password if there is none by that name,
  then serve under gunicorn (CONSOLE_WORKERS, CONSOLE_THREADS).
migrate: apply migrations and exit.
add-user NAME [--role agent|supervisor|admin] [--display-name TEXT] [--email ADDRESS]:
  create a console user; the password comes from CONSOLE_PASSWORD or a prompt.
  The name should be the agent's roster name, so "My queue" is theirs; the
  email address is where a password reset link goes.
edit-user NAME [--role ROLE] [--email ADDRESS] [--display-name TEXT] [--active yes|no]:
  change a user; a new role or deactivation signs them out everywhere.
set-password NAME: a new password (CONSOLE_PASSWORD or a prompt); signs them out everywhere.
reset-two-step NAME: forget the user's authenticator app and recovery codes (a lost
  phone) and sign them out; a supervisor or administrator sets up a new app at the
  next sign-in.
set-groups NAME [GROUP,GROUP...]: the groups the user is in (replacing the ones they
  had; none given: no group). `set-groups carla confidential` lets carla see the
  confidential cases of the group "confidential" (README, "Confidential cases").
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from services.common import config, logs
from services.common.web import gunicorn_main

from . import settings
from .schema import ROLES


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
            store.add_user(wanted[0], wanted[1], "admin")
            log.info("created administrator %s from CONSOLE_BOOTSTRAP_ADMIN", wanted[0])
    finally:
        store.engine.dispose()


def _load_app():
    from .app import create_app

    return create_app()


def run() -> int:
    log = logs.setup("console")
    settings.check()  # a wrong sign-in setting stops the start here, with its name
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


def _password(name: str) -> str | None:
    password = os.environ.get("CONSOLE_PASSWORD")
    if password:
        return password
    password = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != password:
        print("The passwords differ; nothing was changed.", file=sys.stderr)
        return None
    return password


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m services.console {command}")
    parser.add_argument("name")
    return parser


def _with_store(action) -> int:
    """Run action(store) -> message; a ConsoleError is printed and exits 1."""
    from .store import ConsoleError

    logs.setup("console")
    _migrate()
    store = _store()
    try:
        print(action(store))
        return 0
    except ConsoleError as exc:
        print(f"Not done: {exc}", file=sys.stderr)
        return 1
    finally:
        store.engine.dispose()


def add_user(argv: list[str]) -> int:
    parser = _parser("add-user")
    parser.add_argument("--role", choices=ROLES, default="agent")
    parser.add_argument("--display-name")
    parser.add_argument("--email")
    args = parser.parse_args(argv)
    password = _password(args.name)
    if password is None:
        return 1

    def add(store):
        user = store.add_user(args.name, password, args.role, args.display_name, args.email)
        return f"Created {user['role']} {user['name']}."
    return _with_store(add)


def edit_user(argv: list[str]) -> int:
    parser = _parser("edit-user")
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--email", help="an empty value removes the address")
    parser.add_argument("--display-name")
    parser.add_argument("--active", choices=("yes", "no"))
    args = parser.parse_args(argv)
    active = None if args.active is None else args.active == "yes"

    def edit(store):
        user = store.edit_user(args.name, args.role, args.email, args.display_name, active)
        return (f"{user['name']}: {user['role']}, email {user['email'] or 'none'}, "
                f"{'active' if user['active'] else 'inactive'}.")
    return _with_store(edit)


def set_password(argv: list[str]) -> int:
    parser = _parser("set-password")
    args = parser.parse_args(argv)
    password = _password(args.name)
    if password is None:
        return 1

    def change(store):
        store.set_password(args.name, password)
        return f"New password set for {args.name}; their sessions have ended."
    return _with_store(change)


def reset_two_step(argv: list[str]) -> int:
    parser = _parser("reset-two-step")
    args = parser.parse_args(argv)

    def reset(store):
        from .store import ConsoleError

        user = store.user(args.name)
        if user is None:
            raise ConsoleError(f"no user {args.name!r}")
        had = store.second_factors.remove(user["id"])
        store.close_sessions(user["id"])
        store.audit.record("totp_reset", user["name"], "command line",
                           "app and recovery codes forgotten" if had else "there was none")
        return (f"Two-step sign-in of {user['name']} reset; their sessions have ended." if had
                else f"{user['name']} had no two-step sign-in; their sessions have ended.")
    return _with_store(reset)


def set_groups(argv: list[str]) -> int:
    parser = _parser("set-groups")
    parser.add_argument("groups", nargs="?", default="", help="comma-separated, e.g. confidential,billing-team")
    args = parser.parse_args(argv)

    def change(store):
        user = store.set_groups(args.name, args.groups.split(","))
        return f"{user['name']} is in {', '.join(user['groups']) or 'no group'}."
    return _with_store(change)


COMMANDS = {"add-user": add_user, "edit-user": edit_user, "set-password": set_password,
            "reset-two-step": reset_two_step, "set-groups": set_groups}


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        return run()
    if command == "migrate":
        logs.setup("console")
        _migrate()
        return 0
    if command in COMMANDS:
        return COMMANDS[command](argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
