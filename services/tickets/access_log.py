"""The access log of confidential cases: a row each time a person saw one (the
ticket, a list it was on, an export, an alert about it), and reading it back.
Who may see or read what is decided in confidentiality.py; this is only SQL.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from services.common.time.clock import iso, now, utc

from . import confidentiality
from .schema import access_log

MAX_ROWS = 1000


def record(engine, references, actor: str, actor_type: str, action: str) -> int:
    """Log `action` by `actor` on these tickets, except where the same person did the
    same within COALESCE_SECONDS. Returns the rows added."""
    references = sorted(set(references))
    if not references:
        return 0
    at = now()
    who = actor[:320]
    with engine.begin() as conn:
        last = dict(conn.execute(
            select(access_log.c.reference, func.max(access_log.c.at))
            .where(access_log.c.reference.in_(references), access_log.c.actor == who,
                   access_log.c.action == action).group_by(access_log.c.reference)).all())
        rows = [{"reference": r, "actor": who, "actor_type": actor_type, "action": action, "at": at}
                for r in references if confidentiality.worth_logging(utc(last.get(r)), at)]
        if rows:
            conn.execute(insert(access_log), rows)
    return len(rows)


def entries(engine, reference: str, limit: int = MAX_ROWS) -> list[dict]:
    """The newest first."""
    with engine.connect() as conn:
        return [{"at": iso(r.at), "actor": r.actor, "actor_type": r.actor_type, "action": r.action}
                for r in conn.execute(select(access_log).where(access_log.c.reference == reference)
                                      .order_by(access_log.c.at.desc(), access_log.c.id.desc()).limit(limit))]
