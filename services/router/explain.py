"""The decision log: the row written for every routing decision, and `explain`,
which reads it back for a supervisor (who got the ticket, who did not and why,
and where the ticket's region came from).

The decisions themselves are made in policy.py and claimed in assignment.py.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from services.common.contract.errors import NotFound
from services.common.time.clock import iso

from . import policy
from .schema import decisions, tickets

# A decision lists every candidate up to this many agents; beyond, the winner, the
# best-ranked runners-up and a few examples of each failed rule, plus a count per
# rule of everyone, so explanations stay readable and decisions stay fast with
# thousands of agents.
EXPLAIN_ALL_UP_TO = 50
EXPLAIN_RUNNERS_UP = 10
EXPLAIN_EXAMPLES_PER_RULE = 3

# Built once (SQLAlchemy caches its compiled form): one per decision.
_INSERT_DECISION = insert(decisions)


def record(conn, decision: policy.Decision, kind: str, previous: str | None = None) -> None:
    """Write one decision row in the caller's transaction."""
    conn.execute(_INSERT_DECISION, {
        "reference": decision.reference, "at": decision.at, "kind": kind, "step": decision.step,
        "winner": decision.winner, "previous": previous, "rule": decision.rule,
        "candidates": explained_candidates(decision)})


def explain(engine, reference: str) -> dict:
    """The ticket as the router sees it and its decisions, newest first."""
    with engine.connect() as conn:
        row = conn.execute(select(tickets).where(tickets.c.reference == reference)).first()
        rows = conn.execute(select(decisions).where(decisions.c.reference == reference)
                            .order_by(decisions.c.id.desc())).all()
    if row is None and not rows:
        raise NotFound(f"the router has not seen ticket {reference}")
    return {
        "reference": reference,
        "assignee": row.assignee if row else None,
        "region": row.region if row else None,
        "region_source": row.region_source if row else None,
        "confidential_group": row.confidential_group if row else None,
        "waiting_since": iso(row.waiting_since) if row else None,
        "decisions": [{"at": iso(d.at), "kind": d.kind, "step": d.step, "winner": d.winner,
                       "previous": d.previous, "rule": d.rule, "candidates": d.candidates} for d in rows],
    }


def explained_candidates(decision: policy.Decision) -> list[dict]:
    """The candidates worth listing, and a summary counting the rest by rule."""
    candidates = decision.candidates
    if len(candidates) <= EXPLAIN_ALL_UP_TO and not decision.skipped and not decision.unchecked:
        return [_entry(c) for c in candidates]
    # A stable sort by relative load: ties keep the order they were checked in (choice
    # order for a ranked roster, names for a full scan).
    eligible = sorted((c for c in candidates if c.eligible),
                      key=lambda c: c.load / c.capacity if c.capacity else float("inf"))
    listed = [c for c in eligible if c.agent == decision.winner]
    listed += [c for c in eligible if c.agent != decision.winner][:EXPLAIN_RUNNERS_UP]
    counts: dict[str, int] = {"eligible": len(eligible)}
    for c in candidates:
        if not c.eligible:
            counts[c.failed_rule] = counts.get(c.failed_rule, 0) + 1
            if counts[c.failed_rule] <= EXPLAIN_EXAMPLES_PER_RULE:
                listed.append(c)
    for rule, n in decision.skipped.items():
        counts[rule] = counts.get(rule, 0) + n
    detail = "the rest counted by rule"
    if decision.unchecked:
        counts["not_checked"] = decision.unchecked
        detail += (f"; not_checked: {decision.unchecked} more agents, available and matching the skill, "
                   f"region and language this step requires, were ranked after the winner and the "
                   f"{len(eligible) - 1} runners-up (by load relative to capacity, then time since their last "
                   f"assignment, then name), so they were not checked for vacation and capacity")
    total = len(candidates) + sum(decision.skipped.values()) + decision.unchecked
    summary = {"summary": True, "considered": total, "by_rule": counts,
               "detail": f"{total} agents considered; {len(listed)} listed, {detail}"}
    return [_entry(c) for c in listed] + [summary]


def _entry(c: policy.Candidate) -> dict:
    return {"agent": c.agent, "eligible": c.eligible, "failed_rule": c.failed_rule, "detail": c.detail,
            "load": c.load, "capacity": c.capacity}
