"""The running email intake: the store, one publisher, a poller thread per
mailbox and the HTTP server, started together and stopped gracefully."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

from services.common import config
from services.common.channels.regions import RegionMap
from services.common.messaging.publisher import ComplaintPublisher
from services.common.privacy.background import PrivacyWorker
from services.common.privacy.retention import Retention

from . import settings
from .app import create_app
from .ingest import Ingestor
from .poller import MailboxPoller
from .privacy import EmailPrivacy
from .store import EmailStore

log = logging.getLogger("intake_email")
STOP_TIMEOUT = 30.0


class IntakeEmailService:
    def __init__(self, mailboxes: list[settings.Mailbox], database_url: str, amqp_uri: str,
                 regions: RegionMap | None = None, retention: Retention | None = None):
        self.stop_event = threading.Event()
        self.store = EmailStore(database_url)
        self.publisher = ComplaintPublisher(amqp_uri)
        # The readiness probe gets its own connection: the pollers hold the
        # publisher's lock for as long as a confirm takes.
        self._probe = ComplaintPublisher(amqp_uri)
        ingestor = Ingestor(self.store, self.publisher, settings.max_attachment_bytes(),
                            settings.max_message_bytes(), regions, {m.name: m.region for m in mailboxes})
        self.pollers = [MailboxPoller(m, ingestor, self.store, self.stop_event) for m in mailboxes]
        # Erasure requests and the retention rules, on threads of their own (privacy.py).
        self.privacy = EmailPrivacy(self.store.engine)
        self.privacy_worker = PrivacyWorker(self.privacy, amqp_uri, retention)
        self.http = make_server(config.http_host(), config.port("intake_email"), create_app(self), threaded=True)
        self._http_thread = threading.Thread(target=self.http.serve_forever, name="http", daemon=True)

    def check_broker(self) -> None:
        if not self._probe.check():
            raise ConnectionError("RabbitMQ did not answer")

    def start(self) -> None:
        self._http_thread.start()
        self.privacy_worker.start()
        for poller in self.pollers:
            poller.start()

    def wait(self) -> None:
        """Block until stop() is called (from a signal handler)."""
        while not self.stop_event.wait(1):
            pass

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> bool:
        """Let each poller finish the message in hand, then close everything. True when all stopped."""
        self.stop_event.set()
        clean = True
        for poller in self.pollers:
            poller.join(STOP_TIMEOUT)
            if poller.is_alive():
                clean = False
                log.error("mailbox %s did not stop within %.0f s", poller.mailbox.name, STOP_TIMEOUT)
        self.http.shutdown()
        self.privacy_worker.stop()
        self.publisher.close()
        self._probe.close()
        self.store.close()
        return clean
