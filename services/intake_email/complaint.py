"""An email's facts as a ComplaintReceived (the one contract), with ids that
are the same every time the same message is read: the external id from the
Message-ID and the mailbox (a content hash when there is no Message-ID), the
intake id a UUID5 of it. A message re-read after a crash or a UIDVALIDITY
change is therefore the same complaint with the same reference, and the
tickets service's unique (channel, external_id) keeps it one ticket.

A message that reuses an earlier message's Message-ID with other content (a
broken client, a resent edit) is another message: its external id adds a hash
of its content, and when the earlier one became a ticket and came from the
same sender, it is filed on that ticket as a follow-up."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.common.channels.regions import RegionGuess, RegionMap, first
from services.common.contract.complaint import MAX_BODY, MAX_EXTERNAL_ID, MAX_SUBJECT, ComplaintReceived
from services.common.contract.storable_text import is_storable

from .parsing import EmailFacts, UnusableEmail

CHANNEL = "email"
# Fixed forever: changing it would give re-read messages new intake ids.
INTAKE_NAMESPACE = uuid.UUID("4f0c3b1e-2d54-5c8e-9a61-7b0e51c2d9a4")
TRUNCATED = "\n\n[… message truncated by the email intake]"


@dataclass(frozen=True)
class FollowUp:
    """The earlier message whose Message-ID this one reuses, and its ticket."""
    message_id: str
    reference: str


def external_id(mailbox: str, message_id: str | None, raw: bytes) -> str:
    key = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    value = f"{mailbox}|{key}"
    if len(value) > MAX_EXTERNAL_ID:  # a freakishly long Message-ID: keep the key unique, and short
        value = f"{mailbox}|sha256-id:{hashlib.sha256(key.encode()).hexdigest()}"
    return value


def reused_id_external_id(mailbox: str, message_id: str, digest: str) -> str:
    """The external id of a message that reuses `message_id` with content `digest`."""
    return external_id(mailbox, f"{message_id}|content:{digest}", b"")


def content_digest(raw: bytes) -> str:
    """A hash of what the message says (its body, line endings and trailing
    blanks aside), not of its headers: two deliveries of one message (another
    route, another Received line) have the same digest, an edited resend not."""
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    return hashlib.sha256(re.sub(rb"[ \t]+\n", b"\n", body).rstrip()).hexdigest()


def intake_id_for(external: str) -> str:
    return str(uuid.uuid5(INTAKE_NAMESPACE, external))


def region_of(mailbox: str, mailbox_region: str | None, sender: str | None,
              regions: RegionMap) -> RegionGuess | None:
    """A mailbox set up for one region says more than the sender's domain."""
    return first(RegionMap.configured(mailbox_region, f"mailbox {mailbox}"), regions.for_email(sender))


def build_complaint(facts: EmailFacts, *, mailbox: str, folder: str, uid: int, external: str,
                    received_at: datetime | None, follows: FollowUp | None = None,
                    notes: tuple[str, ...] = (), region: RegionGuess | None = None) -> ComplaintReceived:
    """Raises UnusableEmail when there is nothing to file, ContractError when a field is invalid.
    `notes`: what the caller worked around, shown with the message's own notes.
    `region`: see region_of; it changes no id."""
    if not facts.sender_email:
        raise UnusableEmail("no sender address (From, Sender, Reply-To are missing or unreadable)")
    if not is_storable(facts.sender_email):
        raise UnusableEmail(f"the sender address has characters no database can store: {facts.sender_email!r}")
    if not facts.body.strip() and not facts.subject and not facts.attachments:
        raise UnusableEmail("empty: no subject, no text and no attachment")
    body = facts.body
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY - len(TRUNCATED)] + TRUNCATED
    subject = facts.subject if len(facts.subject) <= MAX_SUBJECT else facts.subject[:MAX_SUBJECT - 1] + "…"
    arrived = received_at or facts.date or datetime.now(UTC)
    extras = {"email": {
        "mailbox": mailbox, "folder": folder, "uid": uid, "message_id": facts.message_id,
        "to": list(facts.to), "cc": list(facts.cc), "body_from_html": facts.body_from_html,
        **({"date": facts.date.isoformat()} if facts.date else {}),
        **({"notes": [*facts.notes, *notes]} if facts.notes or notes else {}),
    }}
    return ComplaintReceived.from_dict({
        "schema_version": 1,
        "intake_id": intake_id_for(external),
        "channel": CHANNEL,
        "external_id": external,
        "received_at": arrived.astimezone(UTC).isoformat(),
        "customer": {"name": (facts.sender_name or "")[:200] or None, "email": facts.sender_email},
        "subject": subject,
        "body": body,
        "language": facts.language,
        "attachments": [{"filename": a.filename, "content_type": a.content_type[:255], "size": a.size,
                         "sha256": a.sha256} for a in facts.attachments],
        "threading": {"in_reply_to": _fits(facts.in_reply_to or (follows.message_id if follows else None)),
                      "references": [r for r in facts.references if _fits(r)],
                      "message_id": _fits(facts.message_id),
                      # The intake's own ledger says which ticket the first message
                      # with this Message-ID became: a reference it verified itself.
                      "ticket_reference": follows.reference if follows else None},
        "extras": extras,
        **({"region": region.region, "region_source": region.source} if region else {}),
    })


def _fits(message_id: str | None) -> str | None:
    """An id longer than a header line may be (998) cannot thread anything: drop it."""
    return message_id if message_id and len(message_id) <= 998 else None
