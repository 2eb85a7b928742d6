"""python -m services.intake_whatsapp [run | migrate]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve Twilio's
WhatsApp webhooks under gunicorn (INTAKE_WHATSAPP_WORKERS, _THREADS, _GRACEFUL_SECONDS).
migrate: apply migrations and exit.
"""

import sys

from services.common.web import webhook_main

from . import settings
from .migrate import upgrade

if __name__ == "__main__":
    base = settings.public_url()
    sys.exit(webhook_main.main(settings, sys.argv[1:], upgrade,
                               f"Twilio WhatsApp sender: incoming messages -> POST {base}/messages, "
                               f"status callback -> POST {base}/status"))
