"""An SMTP server that keeps what it receives in memory (aiosmtpd), for the
load tests: the notifier of a private cluster sends here, and the run counts
how many acknowledgements each customer got."""

from __future__ import annotations

import threading
from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller


class MailCatcher:
    def __init__(self, port: int):
        self.messages = []
        self.lock = threading.Lock()
        catcher = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with catcher.lock:
                    catcher.messages.append(message_from_bytes(envelope.content, policy=default))
                return "250 OK"

        self.port = port
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def received(self) -> list:
        with self.lock:
            return list(self.messages)
