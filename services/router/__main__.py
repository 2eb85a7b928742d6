"""python -m services.router [run | migrate | import-roster FILE]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve (nameko).
migrate: apply migrations and exit.
import-roster FILE: load agents from a JSON or CSV file (through the running router's RPC).
"""

import sys


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        from services.common.messaging import nameko_main

        nameko_main.green()
        from .migrate import upgrade

        def service():
            from .service import RouterService

            return RouterService

        return nameko_main.serve("router", service, migrate=upgrade)
    if command == "migrate":
        from services.common import config, logs

        from .migrate import upgrade

        logs.setup("router")
        upgrade(config.database_url("router"))
        return 0
    if command == "import-roster" and len(argv) == 2:
        from .import_file import import_file

        return import_file(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
