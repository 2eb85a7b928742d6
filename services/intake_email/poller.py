"""One thread per mailbox: connect, read every message past the checkpoint,
hand each to the Ingestor, then wait for more (IMAP IDLE when the server has
it, polling otherwise). Any failure (server restart, dropped connection,
broker down, database down) closes the connection and reconnects with a
backoff; nothing is acknowledged that was not handled.

Messages are fetched with BODY.PEEK[], so reading never marks them read.
Flagging or moving a handled message happens after its outcome was recorded:
if that fails, the checkpoint and the ledger still say it was handled.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
import time
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from . import metrics, settings
from .ingest import Fetched, Ingestor
from .settings import Mailbox
from .store import EmailStore

log = logging.getLogger("intake_email")


class MailboxPoller(threading.Thread):
    def __init__(self, mailbox: Mailbox, ingestor: Ingestor, store: EmailStore, stop: threading.Event):
        super().__init__(name=f"mailbox:{mailbox.name}", daemon=True)
        self.mailbox = mailbox
        self.ingestor = ingestor
        self.store = store
        self.stop_event = stop
        self.state = "starting"
        self.last_error: str | None = None
        self.connected_since: str | None = None
        self.last_poll_at: str | None = None
        self.mode: str | None = None    # "idle" or "poll", once connected
        metrics.register(mailbox.name)

    # --- status, for /mailboxes and /health/ready ----------------------------------

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def status(self) -> dict:
        return {**self.mailbox.describe(), "state": self.state, "mode": self.mode,
                "connected_since": self.connected_since, "last_poll_at": self.last_poll_at,
                "last_error": self.last_error}

    # --- the loop -------------------------------------------------------------------

    def run(self) -> None:
        backoff = 1.0
        name = self.mailbox.name
        while not self.stop_event.is_set():
            try:
                with self._connect() as client:
                    self._serve(client)
            except Exception as exc:  # whatever broke, this thread must go on: reconnect
                if self.connected:
                    backoff = 1.0   # it worked until now: the first retry comes quickly
                metrics.POLL_ERRORS.labels(name).inc()
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("mailbox %s: %s; reconnecting in %.0f s", name, self.last_error, backoff,
                            extra={"mailbox": name})
            finally:
                self.state = "stopped" if self.stop_event.is_set() else "disconnected"
                self.connected_since = None
                metrics.CONNECTED.labels(name).set(0)
            if self.stop_event.wait(backoff):
                break
            backoff = min(backoff * 2, settings.reconnect_max_seconds())
        self.state = "stopped"

    def _set_connected(self) -> None:
        self.state = "connected"
        self.last_error = None
        self.connected_since = datetime.now(UTC).isoformat()
        metrics.CONNECTED.labels(self.mailbox.name).set(1)

    def _connect(self) -> IMAPClient:
        mb = self.mailbox
        context = ssl.create_default_context(cafile=mb.ca_file) if mb.security != "none" else None
        client = IMAPClient(mb.host, port=mb.port, ssl=mb.security == "tls", ssl_context=context,
                            timeout=settings.imap_timeout())
        try:
            if mb.security == "starttls":
                client.starttls(context)
            client.normalise_times = False   # timezone-aware INTERNALDATE
            client.login(mb.user, mb.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def _serve(self, client: IMAPClient) -> None:
        mb = self.mailbox
        marking = bool(mb.processed_flag or mb.move_to)
        info = client.select_folder(mb.folder, readonly=not marking)
        self._set_connected()
        uidvalidity = int(info[b"UIDVALIDITY"])
        previous = self.store.previous_uidvalidity(mb.name)
        checkpoint = self.store.checkpoint(mb.name, uidvalidity)
        if previous is not None and previous != uidvalidity:
            log.warning("mailbox %s: UIDVALIDITY changed from %s to %s; re-reading the folder "
                        "(messages handled before are recognised and not ingested again)",
                        mb.name, previous, uidvalidity, extra={"mailbox": mb.name})
        use_idle = mb.idle and b"IDLE" in client.capabilities()
        self.mode = "idle" if use_idle else "poll"
        log.info("mailbox %s: connected (%s), UIDVALIDITY %s, last UID %s", mb.name, self.mode, uidvalidity,
                 checkpoint.last_uid, extra={"mailbox": mb.name})
        last_uid = checkpoint.last_uid
        while not self.stop_event.is_set():
            last_uid = self._drain(client, uidvalidity, last_uid)
            self.last_poll_at = datetime.now(UTC).isoformat()
            if self.stop_event.is_set():
                break
            if use_idle:
                self._idle(client)
            else:
                self.stop_event.wait(settings.poll_seconds())

    def _drain(self, client: IMAPClient, uidvalidity: int, last_uid: int) -> int:
        """Handle every message past last_uid, in UID order, searching again until
        nothing new came in meanwhile; returns the new last UID."""
        while not self.stop_event.is_set():
            # "N:*" always matches the newest message, even below N: filter.
            uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
            if not uids:
                break
            last_uid = self._handle_all(client, uidvalidity, last_uid, uids)
        metrics.LAG.labels(self.mailbox.name).set(0)
        return last_uid

    def _handle_all(self, client: IMAPClient, uidvalidity: int, last_uid: int, uids: list[int]) -> int:
        name = self.mailbox.name
        limit = settings.max_message_bytes()
        size = settings.batch_size()
        for start in range(0, len(uids), size):
            chunk = uids[start:start + size]
            meta = client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
            small = [u for u in chunk if u in meta and meta[u].get(b"RFC822.SIZE", 0) <= limit]
            bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            for uid in chunk:
                if self.stop_event.is_set():
                    return last_uid     # the message in hand is finished; the rest waits for the next start
                if uid not in meta:
                    continue            # expunged since the search
                arrived = meta[uid].get(b"INTERNALDATE")
                metrics.LAG.labels(name).set(_age(arrived))
                message = self._fetched(client, uid, meta[uid], bodies.get(uid), limit)
                self.ingestor.handle(name, self.mailbox.folder, uidvalidity, message)
                last_uid = uid
                self._mark(client, uid)
        return last_uid

    @staticmethod
    def _fetched(client, uid, meta, body, limit) -> Fetched:
        size = int(meta.get(b"RFC822.SIZE", 0))
        arrived = meta.get(b"INTERNALDATE")
        if size > limit:
            headers = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
            return Fetched(uid=uid, raw=headers, size=size, arrived=arrived, too_large=True)
        if body is None or b"BODY[]" not in body:
            # Expunged between the two fetches, or a server hiccup: never step
            # over it silently; the next connection searches again.
            raise RuntimeError(f"the server returned no content for UID {uid}")
        return Fetched(uid=uid, raw=body[b"BODY[]"], size=size, arrived=arrived)

    def _mark(self, client: IMAPClient, uid: int) -> None:
        mb = self.mailbox
        try:
            if mb.processed_flag:
                client.add_flags([uid], [mb.processed_flag])
            if mb.move_to:
                if client.has_capability("MOVE"):
                    client.move([uid], mb.move_to)
                else:
                    client.copy([uid], mb.move_to)
                    client.delete_messages([uid])
                    if client.has_capability("UIDPLUS"):
                        client.uid_expunge([uid])
                    else:
                        client.expunge()
        except imaplib.IMAP4.abort:
            raise   # the connection is gone: reconnect (the message is recorded as handled already)
        except IMAPClientError as exc:
            metrics.MARK_ERRORS.labels(mb.name).inc()
            log.warning("mailbox %s: uid %s handled but not flagged/moved: %s", mb.name, uid, exc,
                        extra={"mailbox": mb.name})

    def _idle(self, client: IMAPClient) -> None:
        """Wait for the server to announce new mail, for at most EMAIL_IDLE_SECONDS
        (then renew), checking every second whether we are asked to stop."""
        client.idle()
        try:
            deadline = time.monotonic() + settings.idle_seconds()
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                if client.idle_check(timeout=1):
                    break
        finally:
            client.idle_done()


def _age(arrived) -> float:
    if not isinstance(arrived, datetime):
        return 0.0
    if arrived.tzinfo is None:
        arrived = arrived.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - arrived).total_seconds())
