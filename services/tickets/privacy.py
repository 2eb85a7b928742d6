"""The tickets service's privacy parts: its share of a subject-access export, the
retention rules on its tables, and the legal hold. Erasure requests are coordinated
in privacy_requests.py; what an erasure does to the rows is privacy_erasure.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, false, func, select, update

from services.common.contract.vocabulary import Status
from services.common.privacy.archive import json_ready
from services.common.privacy.parts import DELETED, counted
from services.common.privacy.retention import Retention
from services.common.privacy.subject import Subject
from services.common.time.clock import now
from services.common.web import BadRequest

from . import access_log, confidentiality, queries
from . import privacy_erasure as erasure
from . import repository as repo
from .schema import outbox, quarantine, tickets

SERVICE = "tickets"
RETENTION_BATCH = 100
LEGAL_HOLD_REASON = 200


class TicketsPrivacy:
    service = SERVICE

    def __init__(self, engine, exported_by: str | None = None):
        """exported_by: the operator asking for an export, for the access log of confidential cases."""
        self.engine, self.exported_by = engine, exported_by

    def export(self, subject: Subject, references: tuple[str, ...]) -> dict:
        """The person's tickets, whole (conversation, notes, audit), and the quarantined
        messages that name them. Their confidential cases too (the data is theirs), each
        export written to the case's access log."""
        with self.engine.connect() as conn:
            rows = erasure.subject_tickets(conn, subject, references)
            held = {r.reference: {"legal_hold": r.legal_hold, "legal_hold_reason": r.legal_hold_reason,
                                  "erased_at": r.erased_at} for r in rows}
            quarantined = [json_ready(dict(q._mapping)) for q in conn.execute(select(quarantine))
                           if subject.mentioned_in(q.raw)]
        found = [{**queries.get(self.engine, ref), **json_ready(extra)} for ref, extra in held.items()]
        confidential = [r.reference for r in rows if r.confidential]
        if confidential and self.exported_by:
            access_log.record(self.engine, confidential, self.exported_by, confidentiality.OPERATOR,
                              confidentiality.EXPORT)
        return {"references": list(held), "tables": {"tickets": found, "quarantine": quarantined}}

    def retain(self, at: datetime, rules: Retention) -> dict[tuple[str, str], int]:
        done: Counter = Counter()
        cutoff = rules.contact_cutoff(at)
        if cutoff is not None:
            while True:
                batch = self._expired_contacts(cutoff)
                done += batch
                if batch[("tickets", "pseudonymised")] < RETENTION_BATCH:
                    break
        raw = rules.raw_cutoff(at)
        if raw is not None:
            with self.engine.begin() as conn:
                done[("quarantine", DELETED)] += conn.execute(delete(quarantine).where(quarantine.c.at < raw)).rowcount
                done[("outbox", DELETED)] += conn.execute(delete(outbox).where(
                    outbox.c.published_at.is_not(None), outbox.c.published_at < raw)).rowcount
        return counted(done)

    def _expired_contacts(self, cutoff: datetime) -> Counter:
        """Resolved or closed before the cut-off, not erased yet, not on hold: each ticket's
        own identities and name are the person to erase."""
        done: Counter = Counter()
        with self.engine.begin() as conn:
            ended = func.coalesce(tickets.c.closed_at, tickets.c.resolved_at)
            rows = conn.execute(select(tickets).where(
                tickets.c.status.in_([Status.RESOLVED.value, Status.CLOSED.value]), ended < cutoff,
                tickets.c.erased_at.is_(None), tickets.c.legal_hold == false())
                .order_by(tickets.c.id).limit(RETENTION_BATCH)).all()
            at = now()
            for row in rows:
                done += erasure.erase_tickets(conn, [row], erasure.everything_known(conn, Subject(), [row]), at)
            # One pass over the outbox for the whole batch (usually long purged by RETENTION_RAW_DAYS).
            done += erasure.erase_outbox(conn, Subject(), [r.reference for r in rows])
        return done


def respond(work, accepted=False):
    """The tickets API's answer (api.ERRORS), 202 for an accepted erasure request; an
    identifier that cannot be read is the caller's mistake (422)."""
    from services.common import web
    from services.common.privacy.subject import SubjectError

    from . import api

    response = web.respond(work, (*api.ERRORS, (SubjectError, 422, "invalid")))
    if accepted and response.status_code == 200:
        response.status_code = 202
    return response


def set_legal_hold(engine, reference: str, hold: bool, reason: str | None, actor: str, viewer=None) -> dict:
    """Put a ticket on legal hold (its personal data is kept through erasure requests and
    retention, reported as kept) or release it; audited. A confidential case is NotFound
    to a `viewer` outside its group, as everywhere."""
    if not isinstance(hold, bool):
        raise BadRequest("'hold' must be true or false")
    if reason is not None and (not isinstance(reason, str) or len(reason) > LEGAL_HOLD_REASON):
        raise BadRequest(f"'reason' must be a text of at most {LEGAL_HOLD_REASON} characters")
    reason = (reason or "").strip() or None
    with engine.begin() as conn:
        row = queries.visible(conn, reference, viewer)
        before = {"hold": bool(row.legal_hold), "reason": row.legal_hold_reason}
        after = {"hold": hold, "reason": reason if hold else None}
        if before != after:
            conn.execute(update(tickets).where(tickets.c.id == row.id).values(
                legal_hold=hold, legal_hold_reason=after["reason"]))
            repo.add_audit(conn, row.id, now(), "agent", actor, "legal_hold_set" if hold else "legal_hold_released",
                           {"legal_hold": {"before": before, "after": after}})
        return {"reference": row.reference, "legal_hold": hold, "legal_hold_reason": after["reason"],
                "erased_at": json_ready(row.erased_at)}


def legal_hold(engine, reference: str, viewer=None) -> dict:
    with engine.connect() as conn:
        row = queries.visible(conn, reference, viewer)
        return {"reference": row.reference, "legal_hold": bool(row.legal_hold),
                "legal_hold_reason": row.legal_hold_reason, "erased_at": json_ready(row.erased_at)}

