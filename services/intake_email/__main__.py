"""python -m services.intake_email            run the pollers and the HTTP side
python -m services.intake_email migrate    apply the database migrations

SIGTERM or SIGINT: each mailbox finishes the message in hand, then the
process exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from services.common import config, logs
from services.common.channels.regions import RegionMapError
from services.common.privacy.retention import Retention, RetentionError

from . import migrate, settings
from .service import IntakeEmailService

ENV_SHOWN = ("AMQP_URI", "DATABASE_URL", "INTAKE_EMAIL_DATABASE_URL", "INTAKE_EMAIL_PORT", "EMAIL_MAILBOXES_FILE",
             "EMAIL_POLL_SECONDS", "EMAIL_IDLE_SECONDS", "EMAIL_RECONNECT_MAX_SECONDS", "EMAIL_BATCH_SIZE",
             "EMAIL_MAX_ATTACHMENT_BYTES", "EMAIL_MAX_MESSAGE_BYTES", "EMAIL_IMAP_TIMEOUT_SECONDS",
             "COMPLAINTS_SYSTEM_ID", "MAIL_FROM", "SYSTEM_ADDRESSES", "AUTO_MIGRATE", "REGION_BY_COUNTRY",
             "REGION_BY_EMAIL_DOMAIN")


def main(argv: list[str]) -> int:
    log = logs.setup("intake_email")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no line per health probe
    url = config.database_url("intake_email")
    if argv[:1] == ["migrate"]:
        migrate.upgrade(url)
        log.info("intake_email migrations applied")
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        mailboxes = settings.mailboxes()
        regions = settings.regions()
        retention = Retention.from_env()
    except settings.SettingsError as exc:
        log.error("bad mailbox configuration: %s", exc)
        return 2
    except RetentionError as exc:
        log.error("bad retention rule: %s", exc)
        return 2
    except RegionMapError as exc:
        log.error("bad region map: %s", exc)
        return 2
    if os.environ.get("AUTO_MIGRATE", "1") != "0":   # as the other services
        migrate.upgrade(url)

    log.info("intake_email starting on %s:%s", config.http_host(), config.port("intake_email"),
             extra=config.describe(ENV_SHOWN))
    if not mailboxes:
        log.warning("no mailbox configured (set EMAIL_MAILBOXES or EMAIL_MAILBOXES_FILE): "
                    "serving health and metrics only, reading no mail")
    for mailbox in mailboxes:
        log.info("mailbox %s", mailbox.name, extra={k: v for k, v in mailbox.describe().items() if k != "name"})
    service = IntakeEmailService(mailboxes, url, config.amqp_uri(), regions, retention)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    signal.signal(signal.SIGINT, lambda *_: service.stop())
    service.start()
    service.wait()
    log.info("intake_email stopping: finishing the messages in hand")
    clean = service.shutdown()
    log.info("intake_email stopped")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
