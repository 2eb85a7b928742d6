"""The agents' pages: my queue, all tickets with filters, the ticket page and its actions."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden, NotFound

from services.common.contract import reference
from services.common.contract.complaint import CATEGORIES, CHANNELS
from services.common.contract.vocabulary import PRIORITIES, STATUSES

from . import auth, metrics, settings, work_queue
from .clients import RemoteCallError, ServiceUnavailable, agent_of

log = logging.getLogger("console")
bp = Blueprint("work", __name__)

FILTERS = ("q", "status", "priority", "category", "channel", "region", "assignee", "customer")
PER_PAGE = 25
QUEUE_LIMIT = 100


def tickets():
    """The tickets service, asked for the signed-in agent."""
    return auth.console().tickets.acting_for(agent_of(g.user))


def router():
    """The router, asked for the signed-in agent."""
    return auth.console().router.acting_for(agent_of(g.user))


@bp.url_value_preprocessor
def _canonical_reference(endpoint, values):
    """Every ticket route works on the canonical reference; what is not one at all
    (a typo, control characters the tickets database would refuse) is no ticket."""
    if values and "ref" in values:
        canonical = reference.normalize_reference(values["ref"])
        if canonical is None:
            raise NotFound(f"There is no ticket {values['ref'][:40]}: a reference looks like C-7K3M9QX2AB.")
        values["ref"] = canonical


def load_ticket(ref) -> dict:
    try:
        return tickets().get_ticket(ref)
    except RemoteCallError as exc:
        if exc.kind == "NotFound":
            raise NotFound(f"There is no ticket {ref}.") from None
        raise


@bp.get("/")
@auth.signed_in
def home():
    return redirect(url_for("work.my_queue"))


@bp.get("/queue")
@auth.signed_in
def my_queue():
    found = tickets().search({"assignee": g.user["name"], "status": work_queue.open_statuses(),
                              "per_page": QUEUE_LIMIT, "sort": "created_at"})
    items = work_queue.most_urgent_then_oldest(found["items"])
    return render_template("queue.html", items=items, total=found["total"], limit=QUEUE_LIMIT)


@bp.get("/tickets")
@auth.signed_in
def all_tickets():
    chosen = {name: request.args.get(name, "").strip() for name in FILTERS}
    page = request.args.get("page", "1")
    query = {k: v for k, v in chosen.items() if v}
    query.update(page=int(page) if page.isdigit() and int(page) > 0 else 1, per_page=PER_PAGE,
                 sort=request.args.get("sort") or "-created_at")
    error = None
    try:
        found = tickets().search(query)
    except RemoteCallError as exc:
        error, found = exc.detail, {"items": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    return render_template("tickets.html", items=found["items"], found=found, chosen=chosen, error=error,
                           statuses=STATUSES, priorities=PRIORITIES, categories=CATEGORIES, channels=CHANNELS)


@bp.get("/tickets/<ref>")
@auth.signed_in
def ticket(ref):
    ticket = load_ticket(ref)
    explanation = explain_error = None
    try:
        explanation = router().explain(ticket["reference"])
    except ServiceUnavailable:
        explain_error = "The router did not answer, so the routing explanation is not shown."
    except RemoteCallError as exc:
        explain_error = exc.detail
    agents = work_queue.assignable(_agents(), ticket)
    confidential = work_queue.confidential_actions(g.user, ticket)
    access_log = access_log_error = None
    if confidential["access_log"]:
        try:
            access_log = tickets().access_log(ticket["reference"])["items"]
        except (ServiceUnavailable, RemoteCallError) as exc:
            access_log_error = f"The access log could not be read: {exc}"
    return render_template("ticket.html", ticket=ticket, explanation=explanation, explain_error=explain_error,
                           agents=agents, statuses=STATUSES, priorities=PRIORITIES, categories=CATEGORIES,
                           may_reassign_anyone=work_queue.allowed(g.user["role"], "reassign_anyone"),
                           poll_seconds=settings.poll_seconds(), confidential=confidential,
                           access_log=access_log, access_log_error=access_log_error)


@bp.get("/tickets/<ref>/conversation.json")
@auth.signed_in
def conversation(ref):
    """For the ticket page's live update (a chat): the messages, newest last."""
    ticket = load_ticket(ref)
    return {"reference": ticket["reference"], "status": ticket["status"],
            "messages": [{k: m.get(k) for k in ("id", "direction", "channel", "author", "body", "created_at")}
                         for m in ticket["messages"]]}


@bp.post("/tickets/<ref>/reply")
@auth.signed_in
def reply(ref):
    body = request.form.get("body", "").strip()
    status = request.form.get("status") or None
    if not body:
        return _back(ref, "Write the reply before sending it.", "error")
    return _act(ref, "reply", lambda: tickets().reply(ref, body, status),
                "Reply sent to the customer.")


@bp.post("/tickets/<ref>/change")
@auth.signed_in
def change(ref):
    fields = {k: request.form[k] for k in ("status", "priority", "category") if request.form.get(k)}
    current = {k: request.form.get(f"current_{k}") for k in fields}
    fields = {k: v for k, v in fields.items() if v != current.get(k)}
    if not fields:
        return _back(ref, "Nothing was changed.", "info")
    return _act(ref, "change", lambda: tickets().change(ref, fields),
                "Saved: " + ", ".join(f"{k} {v.replace('_', ' ')}" for k, v in fields.items()) + ".")


@bp.post("/tickets/<ref>/assign")
@auth.signed_in
def assign(ref):
    assignee = request.form.get("assignee", "").strip() or None
    expected = request.form.get("expected_assignee", "").strip() or None
    if not work_queue.may_reassign(g.user["role"], g.user["name"], expected, assignee):
        raise Forbidden("Only a supervisor can move a ticket that another agent holds.")
    # expected_assignee: refused if someone else reassigned it since the page was shown.
    return _act(ref, "assign", lambda: tickets().assign(ref, assignee, expected),
                f"Assigned to {assignee}." if assignee else "Unassigned.")


@bp.post("/tickets/<ref>/confidential")
@auth.signed_in
def confidential(ref):
    """Mark a ticket a confidential case, or (a supervisor of its group) open it up again."""
    wanted = request.form.get("confidential") == "yes"
    try:
        ticket = tickets().change(ref, {"confidential": wanted})
    except RemoteCallError as exc:
        return _back(ref, f"Not done: {exc.detail}", "error")
    metrics.AGENT_ACTIONS.labels("confidential").inc()
    log.info("ticket %s by %s", "marked confidential" if wanted else "unmarked", g.user["name"],
             extra={"reference": ref})
    if wanted and not work_queue.viewer(g.user).sees(True, ticket.get("confidential_group")):
        # Marked by a supervisor outside the group: from now on it is not theirs to see.
        flash(f"{ref} is now a confidential case: only the {ticket.get('confidential_group')} group sees it.",
              "success")
        return redirect(url_for("work.my_queue"))
    return _back(ref, "Marked confidential." if wanted else "No longer confidential.", "success")


@bp.post("/tickets/<ref>/notes")
@auth.signed_in
def add_note(ref):
    body = request.form.get("body", "").strip()
    if not body:
        return _back(ref, "Write the note before saving it.", "error")
    return _act(ref, "note", lambda: tickets().add_note(ref, body), "Note added.")


def _act(ref, action, work, done):
    try:
        work()
    except RemoteCallError as exc:
        return _back(ref, f"Not done: {exc.detail}", "error")
    metrics.AGENT_ACTIONS.labels(action).inc()
    log.info("ticket %s by %s", action, g.user["name"], extra={"reference": ref})
    return _back(ref, done, "success")


def _back(ref, message, category):
    flash(message, category)
    return redirect(url_for("work.ticket", ref=ref) + "#top")


def _agents() -> list[dict]:
    """The roster (name, groups), or the console's users when the router does not answer."""
    try:
        return router().agents()
    except ServiceUnavailable:
        return auth.console().store.list_users()
