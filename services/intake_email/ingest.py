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

from sqlalchemy import exc as sa_exc

from services.common.channels.regions import RegionMap
from services.common.contract.complaint import ContractError
from services.common.contract.storable_text import escaped
from services.common.messaging.publisher import BrokerUnavailable, ComplaintPublisher
from services.common.privacy.subject import redact

from . import metrics
from .complaint import FollowUp, build_complaint, content_digest, external_id, region_of, reused_id_external_id
from .parsing import UnusableEmail, message_id_of, parse_email
from .screening import skip_reason
from .store import INGESTED, QUARANTINED, SKIPPED, EmailStore, Prior

log = logging.getLogger("intake_email")
# The database away (not this message's fault): nothing is recorded, the poller
# reconnects and the message is read again. Any other error is the message's.
INFRASTRUCTURE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                         sa_exc.TimeoutError, ConnectionError, TimeoutError)


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
                 max_message_bytes: int, regions: RegionMap | None = None,
                 mailbox_regions: dict[str, str | None] | None = None):
        """`mailbox_regions`: each mailbox's own region setting, by mailbox name."""
        self.store = store
        self.publisher = publisher
        self.regions = regions or RegionMap()
        self.mailbox_regions = dict(mailbox_regions or {})
        self.max_attachment_bytes = max_attachment_bytes
        self.max_message_bytes = max_message_bytes

    def handle(self, mailbox: str, folder: str, uidvalidity: int, msg: Fetched) -> str:
        """Returns the outcome. Raises BrokerUnavailable or a database connection
        error (nothing recorded: the message is read again later).

        Anything else that goes wrong is this message's own doing (text the
        database refuses, a bug on input nobody foresaw): the message is
        quarantined by a path that cannot fail the same way, and the mailbox
        goes on instead of reconnecting to the same message forever."""
        metrics.SEEN.labels(mailbox).inc()
        outcome: dict = {}
        try:
            return self._handle(mailbox, folder, uidvalidity, msg, outcome)
        except (BrokerUnavailable, *INFRASTRUCTURE_ERRORS):
            raise
        except Exception as exc:
            return self._last_resort(mailbox, uidvalidity, msg, outcome, exc)

    def _handle(self, mailbox: str, folder: str, uidvalidity: int, msg: Fetched, outcome: dict) -> str:
        message_id = message_id_of(msg.raw)
        external = external_id(mailbox, message_id, msg.raw)
        digest = content_digest(msg.raw)
        outcome["external"] = external
        prior = self.store.prior(mailbox, external)
        if prior is not None and message_id and prior.content_sha256 not in (None, digest):
            # The Message-ID was used before for other content: another message.
            external = reused_id_external_id(mailbox, message_id, digest)
            outcome["external"] = external
            reused, prior = prior, self.store.prior(mailbox, external)
        else:
            reused = None
        if prior is not None:
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
            follows, notes = self._follow_up(mailbox, msg.uid, message_id, reused, facts)
            complaint = None if skip else build_complaint(
                facts, mailbox=mailbox, folder=folder, uid=msg.uid, external=external, received_at=msg.arrived,
                follows=follows, notes=notes,
                region=region_of(mailbox, self.mailbox_regions.get(mailbox), facts.sender_email, self.regions))
        except UnusableEmail as exc:
            return self._quarantine(mailbox, uidvalidity, msg, external, str(exc), digest)
        except ContractError as exc:
            return self._quarantine(mailbox, uidvalidity, msg, external, f"not a valid complaint: {exc}", digest)
        except Exception as exc:
            log.exception("uid %s could not be read", msg.uid, extra={"mailbox": mailbox})
            return self._quarantine(mailbox, uidvalidity, msg, external,
                                    f"could not be read: {type(exc).__name__}: {exc}", digest)
        if skip is not None:
            self.store.record(mailbox, uidvalidity, msg.uid, external, SKIPPED, reason=skip.reason,
                              detail=skip.detail, sender=facts.sender_email, subject=facts.subject,
                              content_sha256=digest)
            metrics.SKIPPED.labels(mailbox, skip.reason).inc()
            # The detail (which header or address decided) is on the skipped list, not in the log:
            # it may name the sender.
            log.info("skipped uid %s: %s", msg.uid, skip.reason, extra={"mailbox": mailbox})
            return SKIPPED
        self.publisher.publish(complaint)   # returns only once the broker confirmed
        outcome["published"] = complaint.reference
        self.store.record(mailbox, uidvalidity, msg.uid, external, INGESTED, reference=complaint.reference,
                          sender=facts.sender_email, content_sha256=digest)
        metrics.INGESTED.labels(mailbox).inc()
        log.info("ingested uid %s", msg.uid,
                 extra={"mailbox": mailbox, "reference": complaint.reference, "intake_id": complaint.intake_id})
        return INGESTED

    @staticmethod
    def _follow_up(mailbox, uid, message_id, reused: Prior | None, facts) -> tuple[FollowUp | None, tuple]:
        """Where a message that reuses an earlier Message-ID goes: on the earlier
        one's ticket when that one became a ticket from the same sender; on its
        own otherwise (a client that gives every message one id must not pour
        strangers' complaints into one ticket). Either way a note says so."""
        if reused is None:
            return None, ()
        metrics.REUSED_IDS.labels(mailbox).inc()
        if reused.outcome == INGESTED and reused.reference and reused.sender == facts.sender_email:
            log.info("uid %s reuses the Message-ID %s with other content: a follow-up on %s", uid, message_id,
                     reused.reference, extra={"mailbox": mailbox})
            return FollowUp(message_id, reused.reference), (
                f"reuses the Message-ID {message_id} of an earlier message with other content: "
                f"filed as a follow-up on {reused.reference}",)
        why = ("from another sender" if reused.outcome == INGESTED
               else f"which was {reused.outcome}, not a ticket")
        log.info("uid %s reuses the Message-ID %s of an earlier message %s: filed on its own", uid, message_id,
                 why, extra={"mailbox": mailbox})
        return None, (f"reuses the Message-ID {message_id} of an earlier message {why}: filed on its own",)

    def _quarantine(self, mailbox, uidvalidity, msg: Fetched, external, reason, digest=None) -> str:
        self.store.record(mailbox, uidvalidity, msg.uid, external, QUARANTINED, reason=reason, raw=msg.raw,
                          size=msg.size, content_sha256=digest)
        metrics.QUARANTINED.labels(mailbox).inc()
        log.warning("quarantined uid %s: %s", msg.uid, redact(reason), extra={"mailbox": mailbox})
        return QUARANTINED

    def _last_resort(self, mailbox, uidvalidity, msg: Fetched, outcome: dict, exc: Exception) -> str:
        """Quarantine a message whose outcome could not be stored, with nothing
        from its content but the raw bytes (stored as bytes) and an ASCII
        reason. If even that fails, the database itself is in trouble: raise,
        and the poller reconnects."""
        published = outcome.get("published")
        # A statement error's own text lists the statement's parameters (the
        # message's subject, even its bytes): keep only the database's words.
        cause = exc.orig if isinstance(exc, sa_exc.StatementError) and exc.orig is not None else exc
        reason = escaped(f"its outcome could not be stored: {type(cause).__name__}: {cause}"[:2000])
        if published:
            reason += f" (published as {published} before that)"
        external = outcome.get("external") or external_id(mailbox, None, msg.raw)
        log.error("uid %s: %s; quarantining it with its raw bytes", msg.uid, redact(reason),
                  exc_info=None if cause is not exc else exc, extra={"mailbox": mailbox})
        self.store.record(mailbox, uidvalidity, msg.uid, escaped(external)[:500], QUARANTINED, reason=reason,
                          raw=msg.raw, size=msg.size)
        metrics.QUARANTINED.labels(mailbox).inc()
        return QUARANTINED
