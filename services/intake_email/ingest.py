"""One message from a mailbox to its outcome: ingested (published and
confirmed), skipped (not a complaint), quarantined (cannot be one), or
already handled. The caller advances nothing: `record` moves the checkpoint
in the same transaction as the outcome, and only after the broker confirmed.

A crash after the confirm and before the record re-publishes the message on
the next run, with the same intake id and external id: the tickets service
keeps it one ticket.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from services.common.contract import ContractError
from services.common.publisher import ComplaintPublisher

from . import metrics
from .complaint import build_complaint, external_id
from .parsing import UnusableEmail, message_id_of, parse_email
from .screening import skip_reason
from .store import INGESTED, QUARANTINED, SKIPPED, EmailStore

log = logging.getLogger("intake_email")


@dataclass(frozen=True)
class Fetched:
    """A message as read from the server."""
    uid: int
    raw: bytes                       # the whole message, or its headers when too large
    size: int                        # RFC822.SIZE on the server
    arrived: datetime | None         # INTERNALDATE
    too_large: bool = False


class Ingestor:
    def __init__(self, store: EmailStore, publisher: ComplaintPublisher, max_attachment_bytes: int,
                 max_message_bytes: int):
        self.store = store
        self.publisher = publisher
        self.max_attachment_bytes = max_attachment_bytes
        self.max_message_bytes = max_message_bytes

    def handle(self, mailbox: str, folder: str, uidvalidity: int, msg: Fetched) -> str:
        """Returns the outcome. Raises BrokerUnavailable (nothing recorded: the
        message is read again later) or a database error."""
        metrics.SEEN.labels(mailbox).inc()
        external = external_id(mailbox, message_id_of(msg.raw), msg.raw)
        if self.store.outcome(mailbox, external) is not None:
            self.store.advance(mailbox, uidvalidity, msg.uid)
            metrics.DUPLICATES.labels(mailbox).inc()
            return "duplicate"
        if msg.too_large:
            return self._quarantine(mailbox, uidvalidity, msg, external,
                                    f"too large: {msg.size} bytes (EMAIL_MAX_MESSAGE_BYTES is "
                                    f"{self.max_message_bytes}); headers kept, the message stays on the server")
        # Reading the message is pure: whatever goes wrong in it (even a bug on a
        # message nobody foresaw) quarantines that one message instead of
        # blocking the mailbox behind it.
        try:
            facts = parse_email(msg.raw, self.max_attachment_bytes)
            skip = skip_reason(facts)
            complaint = None if skip else build_complaint(
                facts, mailbox=mailbox, folder=folder, uid=msg.uid, external=external, received_at=msg.arrived)
        except UnusableEmail as exc:
            return self._quarantine(mailbox, uidvalidity, msg, external, str(exc))
        except ContractError as exc:
            return self._quarantine(mailbox, uidvalidity, msg, external, f"not a valid complaint: {exc}")
        except Exception as exc:
            log.exception("uid %s could not be read", msg.uid, extra={"mailbox": mailbox})
            return self._quarantine(mailbox, uidvalidity, msg, external,
                                    f"could not be read: {type(exc).__name__}: {exc}")
        if skip is not None:
            self.store.record(mailbox, uidvalidity, msg.uid, external, SKIPPED, reason=skip.reason,
                              detail=skip.detail, sender=facts.sender_email, subject=facts.subject)
            metrics.SKIPPED.labels(mailbox, skip.reason).inc()
            log.info("skipped uid %s: %s (%s)", msg.uid, skip.reason, skip.detail,
                     extra={"mailbox": mailbox})
            return SKIPPED
        self.publisher.publish(complaint)   # returns only once the broker confirmed
        self.store.record(mailbox, uidvalidity, msg.uid, external, INGESTED, reference=complaint.reference)
        metrics.INGESTED.labels(mailbox).inc()
        log.info("ingested uid %s", msg.uid,
                 extra={"mailbox": mailbox, "reference": complaint.reference, "intake_id": complaint.intake_id})
        return INGESTED

    def _quarantine(self, mailbox, uidvalidity, msg: Fetched, external, reason) -> str:
        self.store.record(mailbox, uidvalidity, msg.uid, external, QUARANTINED, reason=reason, raw=msg.raw,
                          size=msg.size)
        metrics.QUARANTINED.labels(mailbox).inc()
        log.warning("quarantined uid %s: %s", msg.uid, reason, extra={"mailbox": mailbox})
        return QUARANTINED
