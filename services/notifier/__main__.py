"""python -m services.notifier [run | migrate]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve (nameko).
migrate: apply migrations and exit.
"""

import sys

from services.common.messaging.nameko_cli import main


def _service():
    from .service import NotifierService

    return NotifierService


def _upgrade():
    from .migrate import upgrade

    return upgrade


if __name__ == "__main__":
    sys.exit(main("notifier", sys.argv[1:], _service, _upgrade, __doc__))
