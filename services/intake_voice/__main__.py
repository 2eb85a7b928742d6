"""python -m services.intake_voice [run | migrate]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve Twilio's
Voice webhooks under gunicorn (INTAKE_VOICE_WORKERS, _THREADS, _GRACEFUL_SECONDS).
migrate: apply migrations and exit.
"""

import sys

from services.common.web import webhook_main

from . import settings
from .migrate import upgrade

if __name__ == "__main__":
    base = settings.public_url()
    sys.exit(webhook_main.main(settings, sys.argv[1:], upgrade,
                               f"Twilio phone number: a call comes in -> POST {base}/calls, "
                               f"call status changes -> POST {base}/status"))
