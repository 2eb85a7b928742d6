"""The published events: each round-trips, and a bad delivery is refused with every
bad field named (as the inbound contract does)."""

import json

import pytest

from services.common.contract import events
from services.common.contract.events import (
    Assignment,
    CustomerView,
    ErasureEntry,
    EventError,
    Identity,
    MessageSnapshot,
    SubjectErasureCompleted,
    SubjectErasureRequested,
    SubjectIdentifiers,
    TicketAssigned,
    TicketCreated,
    TicketSnapshot,
    TicketUpdated,
    received,
)
from services.common.contract.vocabulary import ActorType, Priority, Status

NOW = "2026-11-28T10:00:00.000+00:00"


def snapshot(**overrides) -> TicketSnapshot:
    values = dict(reference="C-7K3M9QX2", status=Status.NEW, priority=Priority.HIGH, channel="sms", version=1,
                  customer=CustomerView("Ana", False, (Identity("phone", "+351912345678"),)),
                  created_at=NOW, updated_at=NOW, region="pt", region_source="phone +351 (PT)")
    return TicketSnapshot(**{**values, **overrides})


def delivered(event) -> dict:
    """As a subscriber receives it: the outbox envelope around the payload, through JSON."""
    payload = {"event_id": "e-1", "event_type": event.event_type, "occurred_at": NOW, **event.to_payload()}
    return json.loads(json.dumps(payload))


def test_a_ticket_update_round_trips_with_its_enums_typed():
    event = TicketUpdated(snapshot(assignee="ana"), {"assignee": {"before": None, "after": "ana"}},
                          ActorType.SYSTEM, "router", Assignment("assign", "exact", "skill+region"))
    got = received(TicketUpdated, delivered(event))
    assert got.event == event and got.event_id == "e-1"
    assert got.event.ticket.status is Status.NEW and got.event.ticket.customer.address("phone") == "+351912345678"


def test_a_confidential_ticket_says_so_and_names_its_group():
    event = TicketUpdated(snapshot(confidential=True, confidential_group="grievances"),
                          {"confidential": {"before": False, "after": True}}, ActorType.AGENT, "sam")
    got = received(TicketUpdated, delivered(event)).event
    assert got.ticket.confidential is True and got.ticket.confidential_group == "grievances"


def test_a_snapshot_from_before_confidential_cases_reads_as_not_confidential():
    payload = delivered(TicketUpdated(snapshot(), {}, ActorType.SYSTEM, "router"))
    for name in ("confidential", "confidential_group"):
        del payload["ticket"][name]
    ticket = received(TicketUpdated, payload).event.ticket
    assert ticket.confidential is False and ticket.confidential_group is None


def test_confidential_must_be_a_boolean_in_an_event():
    payload = delivered(TicketUpdated(snapshot(), {}, ActorType.SYSTEM, "router"))
    payload["ticket"]["confidential"] = "yes"
    with pytest.raises(EventError) as caught:
        received(TicketUpdated, payload)
    assert caught.value.errors == {"ticket.confidential": "expected bool"}


def test_every_event_class_is_listed_once_by_source_and_type():
    assert len(events.BY_TYPE) == len(events.TICKET_EVENTS) + len(events.ROUTER_EVENTS) + len(events.PRIVACY_EVENTS)
    assert {c.source for c in events.TICKET_EVENTS} == {"tickets"}
    assert {c.source for c in events.ROUTER_EVENTS} == {"router"}
    assert {c.source for c in events.PRIVACY_EVENTS} == {"privacy"}


def test_an_erasure_request_and_its_report_round_trip():
    asked = SubjectErasureRequested("r-1", SubjectIdentifiers(("ana@example.org",), ("+351912345678",), ("Ana",)),
                                    ("C-7K3M9QX2AB",), "operator:dpo", NOW, held_references=("C-0000000000",))
    assert received(SubjectErasureRequested, delivered(asked)).event == asked
    answered = SubjectErasureCompleted("r-1", "notifier", (ErasureEntry("notifications", "erased", 3),
                                                           ErasureEntry("notifier_tickets", "kept", 1, "legal hold")),
                                       NOW)
    got = received(SubjectErasureCompleted, delivered(answered)).event
    assert got == answered and got.report[1].reason == "legal hold"


def test_an_erasure_report_with_a_bad_line_names_it():
    payload = delivered(SubjectErasureCompleted("r-1", "notifier", (ErasureEntry("notifications", "erased", 3),), NOW))
    payload["report"][0]["rows"] = "three"
    del payload["request_id"]
    with pytest.raises(EventError) as caught:
        received(SubjectErasureCompleted, payload)
    assert set(caught.value.errors) == {"report[0].rows", "request_id"}


def test_an_unknown_status_and_a_missing_field_are_both_named():
    payload = delivered(TicketCreated(snapshot(), "i-1", NOW, MessageSnapshot(1, "in", "sms", NOW, "hi")))
    payload["ticket"]["status"] = "archived"
    del payload["intake_id"]
    with pytest.raises(EventError) as caught:
        received(TicketCreated, payload)
    assert caught.value.errors["ticket.status"].startswith("unknown status 'archived'; expected one of new,")
    assert caught.value.errors["intake_id"] == "missing"


def test_wrong_types_are_named_with_their_path():
    payload = delivered(TicketAssigned("C-1", "ana", None, Assignment("assign"), Priority.LOW, "email"))
    payload["assignment"]["kind"] = 3
    payload["priority"] = "whenever"
    with pytest.raises(EventError) as caught:
        received(TicketAssigned, payload)
    assert set(caught.value.errors) == {"assignment.kind", "priority"}


def test_an_event_from_a_newer_schema_or_of_another_type_is_refused():
    payload = delivered(TicketAssigned("C-1", "ana", None, Assignment("assign"), Priority.LOW, "email"))
    with pytest.raises(EventError, match="schema_version"):
        received(TicketAssigned, {**payload, "schema_version": events.SCHEMA_VERSION + 1})
    with pytest.raises(EventError, match="event_type"):
        received(TicketUpdated, payload)
    with pytest.raises(EventError, match="event_id"):
        received(TicketAssigned, {**payload, "event_id": ""})
    with pytest.raises(EventError, match="expected a JSON object"):
        received(TicketAssigned, ["not", "an", "object"])


def test_unknown_extra_fields_are_tolerated_for_older_consumers():
    payload = delivered(TicketAssigned("C-1", "ana", None, Assignment("assign"), Priority.LOW, "email"))
    assert received(TicketAssigned, {**payload, "added_later": 1}).event.assignee == "ana"


def test_status_order_and_open_statuses():
    assert [s.value for s in Status] == ["new", "in_progress", "pending_customer", "resolved", "closed"]
    assert [s for s in Status if s.is_open] == [Status.NEW, Status.IN_PROGRESS, Status.PENDING_CUSTOMER]
    assert Priority.URGENT.rank > Priority.HIGH.rank > Priority.MEDIUM.rank > Priority.LOW.rank
