"""Turning HTTP and RPC requests into store calls and errors into clear answers.

Errors keep one JSON shape: {"error": <kind>, "detail": <what is wrong>}.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.common import web
from services.common.contract.complaint import CATEGORIES, CHANNELS
from services.common.contract.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from services.common.contract.vocabulary import PRIORITIES, STATUSES, ActorType
from services.common.web import BadRequest

from . import domain
from .queries import MAX_PER_PAGE, SORTS

# Far beyond any real search; a larger page's offset would overflow the database's integers (a 500).
MAX_PAGE = 1_000_000

ERRORS = (
    (NotFound, 404, "not_found"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (Conflict, 409, "conflict"),
    (domain.IllegalTransition, 409, "illegal_transition"),
    (domain.TicketError, 422, "invalid"),
    (Invalid, 422, "invalid"),
    (BadRequest, 400, "bad_request"),
)


def respond(work, created=False):
    return web.respond(work, ERRORS, created)


def agent_acting(caller) -> str:
    """The agent an agent's act is recorded for: the one the console signed into the
    caller's token, or the operator whose token it is; never a name the caller writes."""
    if caller is not None and (caller.agent or caller.operator):
        return caller.actor[:100]
    who = caller.subject if caller else "an unknown caller"
    raise Forbidden(f"{who} cannot act as an agent: agents act through the console, operators with their "
                    "own token")


def note_author(caller) -> str:
    """A note's author: the agent or operator, or the service itself for a system note
    (the notifier records a callback it placed); never a name the caller writes."""
    if caller is not None and not (caller.agent or caller.operator):
        return caller.subject
    return agent_acting(caller)


def acting(caller, actor_type, actor) -> tuple[str, str | None]:
    """(actor_type, actor) for the audit trail: an agent (or operator) as their token says;
    a service only for a customer or itself, never as an agent."""
    if caller is not None and (caller.agent or caller.operator):
        return ActorType.AGENT.value, caller.actor[:100]
    if actor_type == ActorType.AGENT:
        agent_acting(caller)
    return actor_type, actor or (caller.subject if caller else None)


def search_filters(args) -> dict:
    """Query parameters (or an RPC dict) -> TicketStore.search keyword arguments."""
    get = args.get
    filters = {}
    for name, allowed in (("status", STATUSES), ("priority", PRIORITIES),
                          ("category", CATEGORIES), ("channel", CHANNELS)):
        value = get(name)
        if value:
            values = value if isinstance(value, list) else str(value).split(",")
            bad = [v for v in values if v not in allowed]
            if bad:
                raise BadRequest(f"unknown {name} {', '.join(bad)}; expected any of {', '.join(allowed)}")
            filters[name] = values
    for name, key in (("queue", "queue"), ("region", "region"), ("assignee", "assignee"), ("customer", "customer"),
                      ("q", "text")):
        if get(name):
            filters[key] = web.path_text(str(get(name)), "search text" if name == "q" else f"{name} filter")
    for name in ("created_from", "created_to"):
        if get(name):
            filters[name] = _timestamp(name, get(name))
    sort = get("sort") or "-created_at"
    if sort.lstrip("-") not in SORTS:
        raise BadRequest(f"unknown sort {sort!r}; expected one of {', '.join(SORTS)} (prefix - for descending)")
    filters["sort"] = sort
    filters["page"] = _positive_int("page", get("page") or 1, MAX_PAGE)
    filters["per_page"] = _positive_int("per_page", get("per_page") or 25, MAX_PER_PAGE)
    return filters


def _timestamp(name, value) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadRequest(f"{name} is not an ISO 8601 date or timestamp: {value!r}") from None
    # Stored in UTC; an offset-less value is taken as UTC too.
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00: before the first moment UTC has
        raise BadRequest(f"{name} is out of the range of dates: {value!r}") from None


def _positive_int(name, value, maximum=None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a whole number") from None
    if number < 1 or (maximum and number > maximum):
        raise BadRequest(f"{name} must be between 1 and {maximum or 'any'}")
    return number
