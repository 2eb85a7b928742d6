"""The tickets service coordinates a data subject's erasure.

`request` finds the person's tickets, erases them here (privacy_erasure.py) and writes
SubjectErasureRequested to the outbox, all in one transaction: the request cannot be
recorded without being announced, nor announced without this service's part done.
Every other service holding personal data answers with SubjectErasureCompleted
(`record_report`); once all have, the request is complete: its identifiers are
replaced by their pseudonyms and the announcements (which carry them) are deleted.
Until then `reannounce` sends it again now and then, so a service that was down, or
a request parked after failing, is not forgotten.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import Text, cast, delete, insert, select, update

from services.common.contract.errors import NotFound
from services.common.contract.events import (
    ErasureEntry,
    SubjectErasureCompleted,
    SubjectErasureRequested,
    SubjectIdentifiers,
)
from services.common.privacy.parts import KEPT, entry
from services.common.privacy.pseudonym import pseudonym
from services.common.privacy.subject import Subject
from services.common.storage.db import settle_erasure
from services.common.time.clock import iso, now, parse

from . import privacy_erasure as erasure
from .schema import messages, outbox, privacy_erasure_reports, privacy_erasures
from .transactions import emit

log = logging.getLogger("tickets")
SERVICE = "tickets"
TABLES = ("tickets", "ticket_identities", "messages", "notes", "audit", "outbox", "quarantine", "dead_letters")


def request(engine, subject: Subject, references, requested_by: str, services) -> dict:
    """Erase the person here and announce it to `services`; returns the request's status."""
    request_id = str(uuid.uuid4())
    with engine.begin() as conn:
        at = now()
        rows, person = erasure.all_of(conn, subject, references)
        erased, held = erasure.held(rows)
        done = erasure.erase_tickets(conn, erased, person, at)
        erased_refs, held_refs = _references(conn, erased), _references(conn, held)
        done += erasure.erase_traces(conn, person, erased_refs)
        conn.execute(insert(privacy_erasures).values(
            request_id=request_id, identifiers=_identifiers(person), ticket_references=erased_refs,
            held_references=held_refs, services=list(services), requested_by=requested_by[:320],
            requested_at=at, announced_at=at, announcements=1))
        _save_report(conn, request_id, SERVICE, report(done, held), at)
        event = SubjectErasureRequested(request_id, person.identifiers(), tuple(erased_refs), requested_by,
                                        iso(at), tuple(held_refs))
        emit(conn, event, at)
        _complete_if_done(conn, request_id, at)
    settle_erasure(engine)
    log.info("privacy: erasure requested", extra={"request_id": request_id, "tickets": len(erased),
                                                   "held": len(held), "by": requested_by})
    return status(engine, request_id)


def report(done: Counter, held_rows) -> list[ErasureEntry]:
    """This service's report: every table, what happened to it, and the tickets kept."""
    lines = []
    for table in TABLES:
        actions = {a: n for (t, a), n in done.items() if t == table and n}
        lines += [entry(table, a, n) for a, n in sorted(actions.items())] or [entry(table, "none", 0)]
    if held_rows:
        lines.append(entry("tickets", KEPT, len(held_rows), erasure.hold_reasons(held_rows)))
    return lines


def record_report(engine, event: SubjectErasureCompleted) -> str:
    """A service's answer: recorded (again, if it answered before); 'unknown' for a request
    this service never made (another installation's, or deleted)."""
    at = now()
    with engine.begin() as conn:
        # Locked: two services' answers committing at once must not both miss the other's.
        known = conn.execute(select(privacy_erasures.c.request_id)
                             .where(privacy_erasures.c.request_id == event.request_id).with_for_update()).first()
        if known is None:
            return "unknown"
        outcome = _save_report(conn, event.request_id, event.service, list(event.report), at,
                               event.completed_at)
        completed = _complete_if_done(conn, event.request_id, at)
    if completed:
        settle_erasure(engine)
    return outcome


def reannounce(engine, older_than_seconds: float) -> int:
    """Announce again every unfinished request last announced longer ago than that."""
    at = now()
    sent = 0
    with engine.begin() as conn:
        rows = conn.execute(select(privacy_erasures).where(
            privacy_erasures.c.completed_at.is_(None),
            privacy_erasures.c.announced_at < at - timedelta(seconds=older_than_seconds)).with_for_update()).all()
        for r in rows:
            if _complete_if_done(conn, r.request_id, at):
                continue
            emit(conn, SubjectErasureRequested(r.request_id, Subject.of(_as_identifiers(r.identifiers)).identifiers(),
                                               tuple(r.ticket_references), r.requested_by, iso(r.requested_at),
                                               tuple(r.held_references)), at)
            conn.execute(update(privacy_erasures).where(privacy_erasures.c.request_id == r.request_id)
                         .values(announced_at=at, announcements=r.announcements + 1))
            sent += 1
    return sent


def status(engine, request_id: str) -> dict:
    """Where a request stands: each service's report, or pending. Never the identifiers."""
    with engine.connect() as conn:
        row = conn.execute(select(privacy_erasures).where(privacy_erasures.c.request_id == request_id)).first()
        if row is None:
            raise NotFound(f"no erasure request {request_id}")
        reports = {r.service: r for r in conn.execute(select(privacy_erasure_reports).where(
            privacy_erasure_reports.c.request_id == request_id))}
    own = reports.get(SERVICE)
    erased = sum(e["rows"] for e in (own.report if own else ()) if e["table"] == "tickets" and e["action"] != KEPT)
    services = {}
    for name in row.services:
        done = reports.get(name)
        services[name] = ({"status": "done", "completed_at": iso(done.completed_at), "report": done.report}
                          if done else {"status": "pending"})
    return {"request_id": row.request_id, "status": "completed" if row.completed_at else "pending",
            "requested_at": iso(row.requested_at), "requested_by": row.requested_by,
            "completed_at": iso(row.completed_at), "announcements": row.announcements,
            "tickets": erased, "held_references": len(row.held_references), "services": services}


def pending(engine, limit: int = 100) -> list[dict]:
    with engine.connect() as conn:
        ids = conn.execute(select(privacy_erasures.c.request_id).where(privacy_erasures.c.completed_at.is_(None))
                           .order_by(privacy_erasures.c.requested_at).limit(limit)).scalars().all()
    return [status(engine, i) for i in ids]


def pending_count(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(privacy_erasures.c.request_id)
                                .where(privacy_erasures.c.completed_at.is_(None))).all())


# --- inside the transaction ------------------------------------------------------------------

def _references(conn, rows) -> list[str]:
    """The tickets' references, and those their follow-ups were given at intake (an
    intake's ledger knows a message by the reference it told the customer)."""
    ids = [r.id for r in rows]
    found = [r.reference for r in rows]
    if ids:
        found += conn.execute(select(messages.c.intake_reference).where(
            messages.c.ticket_id.in_(ids), messages.c.intake_reference.is_not(None))).scalars().all()
    return list(dict.fromkeys(found))


def _identifiers(subject: Subject) -> dict:
    return {"emails": list(subject.emails), "phones": list(subject.phones), "names": list(subject.names)}


def _as_identifiers(data: dict) -> SubjectIdentifiers:
    return SubjectIdentifiers(tuple(data.get("emails") or ()), tuple(data.get("phones") or ()),
                              tuple(data.get("names") or ()))


def _save_report(conn, request_id, service, lines, at, completed_at=None) -> str:
    """Insert or replace a service's report. Two copies of one answer racing make the second
    transaction fail on the primary key; its delivery is retried and then replaces."""
    values = {"report": [e.__dict__ for e in lines], "completed_at": _instant(completed_at) or at}
    mine = (privacy_erasure_reports.c.request_id == request_id, privacy_erasure_reports.c.service == service)
    if conn.execute(select(privacy_erasure_reports.c.service).where(*mine)).first() is None:
        conn.execute(insert(privacy_erasure_reports).values(request_id=request_id, service=service, **values))
        return "recorded"
    conn.execute(update(privacy_erasure_reports).where(*mine).values(**values))
    return "again"


def _complete_if_done(conn, request_id, at) -> bool:
    row = conn.execute(select(privacy_erasures).where(privacy_erasures.c.request_id == request_id)).one()
    answered = set(conn.execute(select(privacy_erasure_reports.c.service).where(
        privacy_erasure_reports.c.request_id == request_id)).scalars())
    if row.completed_at is not None or not set(row.services) <= answered:
        return False
    # Nobody needs the person's identifiers any more: keep only their pseudonyms (to show
    # later that this person was erased), and drop the announcements that carried them.
    conn.execute(update(privacy_erasures).where(privacy_erasures.c.request_id == request_id).values(
        completed_at=at, identifiers={k: [pseudonym(v) for v in vs] for k, vs in row.identifiers.items()}))
    conn.execute(delete(outbox).where(outbox.c.event_type == SubjectErasureRequested.event_type,
                                      cast(outbox.c.payload, Text).contains(request_id, autoescape=True)))
    log.info("privacy: erasure completed", extra={"request_id": request_id})
    return True


def _instant(value):
    return parse(value) if isinstance(value, str) else value
