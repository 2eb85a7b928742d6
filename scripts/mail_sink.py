"""A development SMTP server for `make run`: it keeps every message the notifier
sends as a file under var/mail/ (a Maildir: var/mail/new/) and prints one line
per message, so the combined log shows what customers and agents would receive.

    .venv/bin/python scripts/mail_sink.py     # listens on 127.0.0.1:8025 (MAIL_SINK_PORT)

Not for production: it accepts any mail without login.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common import config  # noqa: E402  (after the path is set)


class LoggingMailbox(Mailbox):
    def handle_message(self, message):
        super().handle_message(message)
        print(f"mail to {message['X-RcptTo']}: {message['Subject']}", flush=True)


def main() -> int:
    folder = config.VAR_DIR / "mail"
    folder.parent.mkdir(parents=True, exist_ok=True)  # Maildir creates its own new/ cur/ tmp/ only if absent
    host = os.environ.get("MAIL_SINK_HOST", "127.0.0.1")
    port = int(os.environ.get("MAIL_SINK_PORT", 8025))
    controller = Controller(LoggingMailbox(str(folder)), hostname=host, port=port)
    controller.start()
    shown = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    print(f"mail sink on {host}:{port}, keeping messages in {shown}/new/", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
