"""Every event the tickets service and the router publish, typed and versioned.

A producer builds one of these dataclasses and writes `to_payload()` to its
outbox (services/common/messaging/outbox.py adds the envelope: event_id,
event_type, occurred_at, schema_version). A consumer reads a delivery with
`received(cls, payload)`, which validates it and names every bad field, as
ComplaintReceived.from_dict does for complaints. A field added here must be
given by every producer (the constructor demands it) and is checked on every
consumer's side, so a copy that was missed fails a test instead of 3 a.m.

Exchanges: `tickets.events` (TICKET_EVENTS) and `router.events` (ROUTER_EVENTS);
the routing key is the event type. The privacy events (a data subject's erasure,
services/common/privacy): the tickets service asks on `tickets.events`, and every
service holding personal data answers on `privacy.events` (PRIVACY_EVENTS).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from enum import Enum
from typing import ClassVar, Union

from services.common.contract.vocabulary import ActorType, Priority, Status

SCHEMA_VERSION = 1


class EventError(ValueError):
    """An event that does not match its class; `errors` maps each dotted field to what is wrong."""

    def __init__(self, event_type: str, errors: dict[str, str]):
        self.event_type, self.errors = event_type, dict(errors)
        super().__init__(f"{event_type}: " + "; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


# --- the parts events share ------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """One way to reach the customer: kind (email, phone, whatsapp, sms, …) and its value."""
    kind: str
    value: str


@dataclass(frozen=True)
class CustomerView:
    name: str | None = None
    anonymous: bool = False
    identities: tuple[Identity, ...] = ()

    def address(self, kind: str) -> str | None:
        """The customer's first identity of this kind, if any."""
        return next((i.value for i in self.identities if i.kind == kind), None)


@dataclass(frozen=True)
class TicketSnapshot:
    """The ticket as it was just after the change an event announces."""
    reference: str
    status: Status
    priority: Priority
    channel: str
    version: int
    customer: CustomerView
    created_at: str
    updated_at: str
    category: str | None = None
    queue: str | None = None
    subject: str | None = None
    region: str | None = None
    region_source: str | None = None
    language: str | None = None
    assignee: str | None = None
    related_reference: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    first_response_at: str | None = None
    sla_breached_at: str | None = None
    follow_up: dict | None = None
    survey: dict | None = None
    # A confidential case: only members of `confidential_group` (and services acting as
    # themselves) may see it; the router gives it only to them, alerts name nothing of it.
    confidential: bool = False
    confidential_group: str | None = None


@dataclass(frozen=True)
class MessageSnapshot:
    """One message of a ticket: the customer's (direction "in") or our reply ("out")."""
    id: int
    direction: str
    channel: str
    created_at: str
    body: str = ""
    subject: str | None = None
    external_id: str | None = None
    intake_reference: str | None = None
    message_id: str | None = None
    author: str | None = None
    attachments: list | None = None
    extras: dict | None = None
    threaded_via: str | None = None
    received_at: str | None = None


@dataclass(frozen=True)
class Assignment:
    """Why the router chose an assignee: its decision kind, relaxation step and rule."""
    kind: str
    step: str | None = None
    rule: str | None = None


# --- the events ---------------------------------------------------------------------------

class Event:
    event_type: ClassVar[str]
    source: ClassVar[str]

    def to_payload(self) -> dict:
        return _plain(asdict(self))

    def plain(self, part: str) -> dict | None:
        """One part of the event (its ticket, its message) as the plain dict it travels as,
        without converting the rest."""
        value = getattr(self, part, None)
        return None if value is None else _plain(asdict(value))

    @classmethod
    def from_dict(cls, data) -> Event:
        errors: dict[str, str] = {}
        value = _convert(cls, data, "", errors)
        if errors:
            raise EventError(cls.event_type, errors)
        return value


@dataclass(frozen=True)
class TicketCreated(Event):
    event_type: ClassVar[str] = "ticket_created"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    intake_id: str
    received_at: str
    message: MessageSnapshot


@dataclass(frozen=True)
class TicketMessageAdded(Event):
    event_type: ClassVar[str] = "ticket_message_added"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    message: MessageSnapshot


@dataclass(frozen=True)
class TicketUpdated(Event):
    """Fields changed ({field: {"before": …, "after": …}}) by whom. `assignment` is set when
    the change applies a router decision (announced by the router as TicketAssigned)."""
    event_type: ClassVar[str] = "ticket_updated"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    changes: dict
    actor_type: ActorType
    actor: str | None = None
    assignment: Assignment | None = None


@dataclass(frozen=True)
class TicketReplyAdded(Event):
    event_type: ClassVar[str] = "ticket_reply_added"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    message: MessageSnapshot


@dataclass(frozen=True)
class TicketSurveyAnswered(Event):
    event_type: ClassVar[str] = "ticket_survey_answered"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    survey: dict
    message: MessageSnapshot | None = None


@dataclass(frozen=True)
class TicketSlaBreached(Event):
    event_type: ClassVar[str] = "ticket_sla_breached"
    source: ClassVar[str] = "tickets"
    ticket: TicketSnapshot
    target: str
    minutes: float


@dataclass(frozen=True)
class TicketAssigned(Event):
    """The router's decision: this ticket goes to `assignee` (from `previous`, None if it was
    waiting). The tickets service applies it and announces the result as TicketUpdated."""
    event_type: ClassVar[str] = "ticket_assigned"
    source: ClassVar[str] = "router"
    reference: str
    assignee: str
    previous: str | None
    assignment: Assignment
    priority: Priority
    channel: str
    ticket_created_at: str | None = None


@dataclass(frozen=True)
class TicketUnassigned(Event):
    """The router took the ticket back from `previous` (absent, removed) into its waiting queue."""
    event_type: ClassVar[str] = "ticket_unassigned"
    source: ClassVar[str] = "router"
    reference: str
    previous: str
    reason: str | None = None


@dataclass(frozen=True)
class TicketEscalated(Event):
    """Nobody could take the ticket within the relaxation steps: it went to the fallback queue."""
    event_type: ClassVar[str] = "ticket_escalated"
    source: ClassVar[str] = "router"
    reference: str
    queue: str
    reason: str | None = None
    waiting_since: str | None = None


# --- a data subject's erasure (services/common/privacy) -------------------------------------

@dataclass(frozen=True)
class SubjectIdentifiers:
    """How a person is recognised: normalised emails (lower case), phones (E.164) and names."""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectErasureRequested(Event):
    """Erase or pseudonymise everything held about this person. The tickets service
    (the coordinator) already did its part; `references` are the person's tickets it
    erased, `held_references` those it kept under a legal hold (keep what belongs to
    them too). Sent again, same request_id, until every service has answered."""
    event_type: ClassVar[str] = "subject_erasure_requested"
    source: ClassVar[str] = "tickets"
    request_id: str
    identifiers: SubjectIdentifiers
    references: tuple[str, ...]
    requested_by: str
    requested_at: str
    held_references: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErasureEntry:
    """One line of a service's erasure report: what happened to a table's (or a kind of
    stored file's) rows about the person: erased, pseudonymised, deleted, or kept (why)."""
    table: str
    action: str
    rows: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class SubjectErasureCompleted(Event):
    """A service's answer to SubjectErasureRequested, once its work committed."""
    event_type: ClassVar[str] = "subject_erasure_completed"
    source: ClassVar[str] = "privacy"
    request_id: str
    service: str
    report: tuple[ErasureEntry, ...]
    completed_at: str


TICKET_EVENTS: tuple[type[Event], ...] = (TicketCreated, TicketMessageAdded, TicketUpdated, TicketReplyAdded,
                                          TicketSurveyAnswered, TicketSlaBreached, SubjectErasureRequested)
ROUTER_EVENTS: tuple[type[Event], ...] = (TicketAssigned, TicketUnassigned, TicketEscalated)
PRIVACY_EVENTS: tuple[type[Event], ...] = (SubjectErasureCompleted,)
BY_TYPE: dict[tuple[str, str], type[Event]] = {(c.source, c.event_type): c
                                               for c in TICKET_EVENTS + ROUTER_EVENTS + PRIVACY_EVENTS}


@dataclass(frozen=True)
class Received:
    """A delivered event: its envelope (id, when) and the validated event."""
    event_id: str
    occurred_at: str
    event: Event = field(repr=False)


def received(cls: type[Event], payload) -> Received:
    """Validate a delivery of `cls`; raises EventError naming every bad field."""
    if not isinstance(payload, dict):
        raise EventError(cls.event_type, {"$": "expected a JSON object"})
    errors = {}
    if not isinstance(payload.get("event_id"), str) or not payload.get("event_id"):
        errors["event_id"] = "missing"
    if payload.get("event_type", cls.event_type) != cls.event_type:
        errors["event_type"] = f"expected {cls.event_type}, got {payload.get('event_type')!r}"
    version = payload.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        errors["schema_version"] = f"this service reads version {SCHEMA_VERSION} and older, not {version!r}"
    try:
        event = cls.from_dict(payload)
    except EventError as exc:
        errors.update(exc.errors)
    if errors:
        raise EventError(cls.event_type, errors)
    return Received(payload["event_id"], str(payload.get("occurred_at") or ""), event)


def received_or_reported(cls: type[Event], payload, log, bad_events) -> Received | None:
    """received(), or None for a malformed delivery after counting it in `bad_events` (a
    prometheus Counter) and logging one ERROR line naming every bad field: requeueing
    cannot fix it, so the subscriber acks it."""
    try:
        return received(cls, payload)
    except EventError as exc:
        bad_events.inc()
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        log.error("malformed %s event ignored: %s", cls.event_type, exc,
                  extra={"event_id": event_id, "errors": exc.errors})
        return None


# --- conversion ------------------------------------------------------------------------------

_HINTS: dict[type, dict] = {}


def _hints(cls) -> dict:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _convert(kind, value, name, errors):
    """`value` as `kind` (a type hint), or None with errors[name] said."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            return None
        return _convert(options[0], value, name, errors)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return _fail(errors, name, "expected a list")
        item = typing.get_args(kind)[0]
        return tuple(_convert(item, v, f"{name}[{i}]", errors) for i, v in enumerate(value))
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            return _fail(errors, name, f"unknown {kind.__name__.lower()} {value!r}; expected one of "
                                       + ", ".join(m.value for m in kind))
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__"):
        return _dataclass(kind, value, name, errors)
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _fail(errors, name, "expected a number")
    expected = {dict: dict, list: list, str: str, int: int, bool: bool}.get(origin or kind, object)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return _fail(errors, name, f"expected {expected.__name__}")
    return value


def _dataclass(cls, data, name, errors):
    if not isinstance(data, dict):
        return _fail(errors, name, "expected an object")
    hints, values, known = _hints(cls), {}, len(errors)
    for f in fields(cls):
        dotted = f"{name}.{f.name}" if name else f.name
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name], dotted, errors)
        elif f.default is MISSING and f.default_factory is MISSING:
            _fail(errors, dotted, "missing")
    return None if len(errors) > known else cls(**values)


def _fail(errors, name, message):
    errors[name or "$"] = message
    return None


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
