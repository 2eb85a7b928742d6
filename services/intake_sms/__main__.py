"""python -m services.intake_sms [run | migrate]

run (default): apply migrations unless AUTO_MIGRATE=0, then serve Twilio's
SMS webhooks under gunicorn (INTAKE_SMS_WORKERS, _THREADS, _GRACEFUL_SECONDS).
migrate: apply migrations and exit.
"""

import sys

from services.common.web import webhook_main

from .migrate import upgrade
from .settings import SETTINGS

if __name__ == "__main__":
    base = SETTINGS.public_url()
    sys.exit(webhook_main.main(SETTINGS, sys.argv[1:], upgrade,
                               f"Twilio phone number, Messaging: a message comes in -> POST {base}/messages, "
                               f"status callback -> POST {base}/status"))
