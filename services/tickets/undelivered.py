"""Complaints that did not (yet) become tickets: the quarantine (never a valid
ComplaintReceived, kept whole with the reason) and the dead letters the watcher
saw (so the tracking page says "delayed" and an operator sees what waits).
"""

from __future__ import annotations

from sqlalchemy import false, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from services.common.time.clock import iso, now

from .dead_letters import DeadLetter
from .schema import dead_letters, messages, quarantine, tickets


def record_dead_letter(engine, letter: DeadLetter, state: str) -> None:
    """One row per dead-lettered message (by intake id), updated each time the watcher sees it."""
    at = now()
    values = {"reference": letter.reference, "reason": letter.reason[:2000], "deaths": letter.deaths,
              "state": state, "last_seen_at": at}
    try:
        with engine.begin() as conn:
            conn.execute(insert(dead_letters).values(key=letter.key, first_seen_at=at, **values))
    except IntegrityError:
        with engine.begin() as conn:
            conn.execute(update(dead_letters).where(dead_letters.c.key == letter.key).values(**values))


def list_dead_letters(engine, limit=100, visible_groups=None) -> list[dict]:
    """Recorded dead letters, newest first, each with whether its ticket exists by now;
    those whose ticket is a confidential case only for `visible_groups` (None: all)."""
    query = (select(dead_letters, tickets.c.id.label("ticket_id"))
             .outerjoin(messages, messages.c.intake_id == dead_letters.c.key)
             .outerjoin(tickets, tickets.c.id == messages.c.ticket_id))
    if visible_groups is not None:
        query = query.where(or_(tickets.c.id.is_(None), tickets.c.confidential == false(),
                                tickets.c.confidential_group.in_(sorted(visible_groups))))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(dead_letters.c.last_seen_at.desc()).limit(limit))
        return [{"key": r.key, "reference": r.reference, "reason": r.reason, "deaths": r.deaths,
                 "state": r.state, "ticketed": r.ticket_id is not None,
                 "first_seen_at": iso(r.first_seen_at), "last_seen_at": iso(r.last_seen_at)} for r in rows]


def quarantine_message(engine, reason: str, raw: str) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(quarantine).values(at=now(), reason=reason, raw=raw)).inserted_primary_key[0]


def list_quarantine(engine, limit=100) -> list[dict]:
    with engine.connect() as conn:
        return [{"id": r.id, "at": iso(r.at), "reason": r.reason, "raw": r.raw} for r in conn.execute(
            select(quarantine).order_by(quarantine.c.id.desc()).limit(limit))]
