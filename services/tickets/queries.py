"""Reading tickets: one ticket with its conversation, notes and audit (agents),
its public view (the customer's tracking page), search (agents' lists, the
router's reconcile), and the counts behind the metrics. A confidential case is
read only for a viewer who sees it (confidentiality.py): to anyone else it does
not exist, in a lookup, a search or a total.
"""

from __future__ import annotations

from sqlalchemy import case, exists, false, func, or_, select

from services.common.contract.errors import NotFound
from services.common.contract.reference import normalize_reference
from services.common.contract.vocabulary import OPEN_STATUS_VALUES, PRIORITIES
from services.common.time.clock import iso

from . import domain
from . import repository as repo
from .schema import audit, dead_letters, identities, messages, notes, tickets

SORTS = {
    "created_at": tickets.c.created_at, "updated_at": tickets.c.updated_at,
    "priority": case({p.value: p.rank for p in PRIORITIES}, value=tickets.c.priority),
}
MAX_PER_PAGE = 100


def knows_reference(engine, reference: str) -> bool:
    """True when a ticket, or a message threaded onto one, carries this reference."""
    with engine.connect() as conn:
        return repo.by_reference(conn, reference) is not None


def get(engine, reference: str, viewer=None) -> dict:
    """The ticket whole; NotFound (as for no ticket at all) when `viewer` may not see it."""
    with engine.connect() as conn:
        row = visible(conn, reference, viewer)
        result = repo.view(repo.snapshot(row, repo.identities_of(conn, row.id)))
        result["messages"] = [repo.message_view(repo.message_snapshot(m)) for m in conn.execute(
            select(messages).where(messages.c.ticket_id == row.id).order_by(messages.c.id))]
        result["notes"] = [{"id": n.id, "author": n.author, "body": n.body, "created_at": iso(n.created_at)}
                           for n in conn.execute(select(notes).where(notes.c.ticket_id == row.id)
                                                 .order_by(notes.c.id))]
        result["audit"] = [{"at": iso(a.at), "actor_type": a.actor_type, "actor": a.actor,
                            "action": a.action, "changes": a.changes}
                           for a in conn.execute(select(audit).where(audit.c.ticket_id == row.id)
                                                 .order_by(audit.c.id))]
        return result


def visible(conn, reference: str, viewer):
    """The ticket's row, if there is one and `viewer` (None: the service itself) sees it."""
    row = repo.require(conn, reference)
    if viewer is not None and not viewer.sees(row.confidential, row.confidential_group):
        raise NotFound(f"no ticket {reference}")
    return row


def public_view(engine, reference: str) -> dict | None:
    """What the customer may see: status and the conversation, no notes or audit.
    No ticket yet: "delayed" when the complaint sits in the dead-letter queue, else None."""
    try:
        full = get(engine, reference)
    except NotFound:
        return _delayed_view(engine, reference)
    return {
        "reference": full["reference"], "status": full["status"], "category": full["category"],
        "created_at": full["created_at"], "updated_at": full["updated_at"],
        "messages": [_public_message(m) for m in full["messages"]],
        "survey": full["survey"], "can_rate": full["status"] in domain.SURVEY_STATUSES,
        "follow_up": full["follow_up"],
    }


def search(engine, *, status=None, priority=None, category=None, queue=None, assignee=None,
           channel=None, region=None, customer=None, text=None, created_from=None, created_to=None,
           sort="-created_at", page=1, per_page=25, visible_groups=None) -> dict:
    """`visible_groups`: the confidential groups whose cases may be listed (None: all)."""
    conditions = []
    if visible_groups is not None:
        conditions.append(or_(tickets.c.confidential == false(),
                              tickets.c.confidential_group.in_(sorted(visible_groups))))
    for column, value in ((tickets.c.status, status), (tickets.c.priority, priority),
                          (tickets.c.category, category), (tickets.c.queue, queue),
                          (tickets.c.channel, channel)):
        if value:
            conditions.append(column.in_(value) if isinstance(value, list | tuple) else column == value)
    if region:
        conditions.append(func.lower(tickets.c.region) == region.lower())
    if assignee == "none":
        conditions.append(tickets.c.assignee.is_(None))
    elif assignee:
        conditions.append(tickets.c.assignee == assignee)
    if customer:
        pattern = f"%{_escape_like(customer.lower())}%"
        conditions.append(or_(
            func.lower(tickets.c.customer_name).like(pattern, escape="\\"),
            exists().where(identities.c.ticket_id == tickets.c.id,
                           func.lower(identities.c.value).like(pattern, escape="\\"))))
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        conditions.append(or_(
            func.lower(tickets.c.subject).like(pattern, escape="\\"),
            func.lower(tickets.c.reference).like(pattern, escape="\\"),
            exists().where(messages.c.ticket_id == tickets.c.id,
                           func.lower(messages.c.body).like(pattern, escape="\\"))))
    if created_from:
        conditions.append(tickets.c.created_at >= created_from)
    if created_to:
        conditions.append(tickets.c.created_at < created_to)
    descending = sort.startswith("-")
    column = SORTS[sort.lstrip("-")]
    order = [column.desc() if descending else column.asc(), tickets.c.id.desc() if descending
             else tickets.c.id.asc()]
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    query = select(tickets).where(*conditions)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
        found = repo.identities_for(conn, [r.id for r in rows])
        return {"items": [repo.view(repo.snapshot(r, found.get(r.id, []))) for r in rows], "total": total,
                "page": page, "per_page": per_page}


def open_counts(engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(tickets.c.status, tickets.c.priority, func.count())
                            .where(tickets.c.status.in_(OPEN_STATUS_VALUES))
                            .group_by(tickets.c.status, tickets.c.priority))
        return {(s, p): n for s, p, n in rows}


def _delayed_view(engine, reference: str) -> dict | None:
    canonical = normalize_reference(reference)
    with engine.connect() as conn:
        row = conn.execute(select(dead_letters.c.first_seen_at).where(
            dead_letters.c.reference == canonical).limit(1)).first() if canonical else None
    if row is None:
        return None
    return {"reference": canonical, "status": "delayed", "delayed_since": iso(row.first_seen_at),
            "messages": [], "can_rate": False}


def _public_message(m: dict) -> dict:
    """A message as its customer sees it: no internal ids; who answered, for our replies."""
    public = {k: m[k] for k in ("direction", "channel", "subject", "body", "created_at")}
    if m["direction"] == "out":
        public["author"] = m["author"]
    return public


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
