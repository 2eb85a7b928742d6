"""python -m services.tickets [run | migrate | replay-dead-letters]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve (nameko).
migrate: apply migrations and exit (the Kubernetes Job does this).
replay-dead-letters: move parked complaints back to the work queue.
"""

import sys


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        from services.common.messaging import nameko_main

        nameko_main.green()
        from .migrate import upgrade

        def service():
            from .service import TicketsService

            return TicketsService

        return nameko_main.serve("tickets", service, migrate=upgrade)
    if command == "migrate":
        from services.common import config, logs

        from .migrate import upgrade

        log = logs.setup("tickets")
        upgrade(config.database_url("tickets"))
        log.info("tickets database is at the latest schema")
        return 0
    if command == "replay-dead-letters":
        from .replay import replay

        return replay()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
