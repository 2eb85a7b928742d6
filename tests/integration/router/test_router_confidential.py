"""Confidential cases in the router, on SQLite and PostgreSQL: only agents of the
case's group may take it (explain says why the others may not), with no member
free it waits, a ticket that becomes a case leaves an assignee outside the group,
an agent who leaves the group gives their cases back, and `explain` and the
waiting queue show a case to nobody outside its group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.common.contract.confidential import Viewer
from services.common.contract.errors import NotFound
from services.common.contract.events import (
    CustomerView,
    MessageSnapshot,
    TicketCreated,
    TicketSnapshot,
    TicketUnassigned,
    TicketUpdated,
    received,
)
from services.common.contract.vocabulary import ActorType, Priority, Status
from services.common.messaging import outbox
from services.router import roster
from services.router.schema import outbox as router_outbox

CASE = {"confidential": True, "confidential_group": "confidential"}
OUTSIDER = Viewer("bob", "agent", frozenset(), "supervisor")
MEMBER = Viewer("carla", "agent", frozenset({"confidential"}), "agent")


def snapshot(**fields) -> TicketSnapshot:
    at = datetime.now(UTC).isoformat()
    return TicketSnapshot(**{"reference": f"C-{uuid.uuid4().hex[:10].upper()}", "status": Status.NEW,
                             "priority": Priority.MEDIUM, "channel": "web", "version": 1, "category": "billing",
                             "customer": CustomerView(name="Rita"), "created_at": at, "updated_at": at, **fields})


def delivery(event) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": event.event_type,
            "occurred_at": datetime.now(UTC).isoformat(), **event.to_payload()}


def created(ticket) -> dict:
    message = MessageSnapshot(id=1, direction="in", channel="web", created_at=ticket.created_at, body="Hi")
    return delivery(TicketCreated(ticket=ticket, intake_id=str(uuid.uuid4()), received_at=ticket.created_at,
                                  message=message))


def announced(router) -> list[tuple[str, dict]]:
    published = []
    outbox.relay(router.engine, router_outbox, lambda event_type, payload: published.append((event_type, payload)))
    return published


@pytest.fixture
def router(store):
    store.import_roster(roster.parse_json([
        {"name": "abe", "skills": ["billing"], "capacity": 50},                          # idle, outside
        {"name": "carla", "skills": ["billing"], "capacity": 5, "groups": ["confidential"]}]))
    return store


def test_a_case_goes_only_to_a_member_and_explain_says_why_the_others_may_not(router):
    case = snapshot(**CASE)
    assert router.ticket_event(TicketCreated, created(case)).winner == "carla"
    reasons = {c["agent"]: c["detail"] for c in router.explain(case.reference)["decisions"][0]["candidates"]}
    assert reasons["abe"] == "abe is not in the confidential group 'confidential'"
    # An ordinary ticket still goes to the idlest agent.
    assert router.ticket_event(TicketCreated, created(snapshot())).winner == "abe"


def test_with_no_member_free_the_case_waits_until_one_is(router):
    router.patch_agent("carla", {"status": "away"})
    case = snapshot(**CASE)
    decision = router.ticket_event(TicketCreated, created(case))
    assert decision.winner is None and "waiting" in decision.rule
    assert [w["reference"] for w in router.mirror.waiting_as_dicts()] == [case.reference]
    router.patch_agent("carla", {"status": "available"})
    assert [d.winner for d in router.drain_waiting()] == ["carla"]


def test_a_ticket_that_becomes_a_case_leaves_an_assignee_outside_the_group(router):
    plain = snapshot()
    assert router.ticket_event(TicketCreated, created(plain)).winner == "abe"
    announced(router)
    marked = snapshot(reference=plain.reference, assignee="abe", version=3, **CASE)
    decision = router.ticket_event(TicketUpdated, delivery(TicketUpdated(
        marked, {"confidential": {"before": False, "after": True}}, ActorType.AGENT, "sup")))
    assert decision.winner == "carla" and decision.rule.startswith(
        "a confidential case stays in its group and abe is not in the confidential group")
    assert router.roster.agent("abe")["load"] == 0 and router.roster.agent("carla")["load"] == 1


def test_an_agent_who_leaves_the_group_gives_their_cases_back(router):
    case = snapshot(**CASE)
    assert router.ticket_event(TicketCreated, created(case)).winner == "carla"
    announced(router)
    router.patch_agent("carla", {"groups": []})
    assert router.roster.agent("carla")["load"] == 0
    [(event_type, payload)] = announced(router)
    event = received(TicketUnassigned, payload).event
    assert (event_type, event.reference, event.previous) == ("ticket_unassigned", case.reference, "carla")
    assert "no longer in the confidential case's group" in event.reason
    assert router.drain_waiting()[0].winner is None   # nobody else may take it


def test_explain_and_the_waiting_queue_show_a_case_to_nobody_outside_its_group(router):
    router.patch_agent("carla", {"status": "away"})
    case, plain = snapshot(**CASE), snapshot(category="technical")
    router.ticket_event(TicketCreated, created(case))
    router.ticket_event(TicketCreated, created(plain))
    with pytest.raises(NotFound):
        router.explain(case.reference, OUTSIDER)
    assert router.explain(case.reference, MEMBER)["confidential_group"] == "confidential"
    assert [w["reference"] for w in router.mirror.waiting_as_dicts(OUTSIDER)] == [plain.reference]
    assert {w["reference"] for w in router.mirror.waiting_as_dicts(MEMBER)} == {case.reference, plain.reference}


def test_a_case_given_by_hand_to_someone_outside_the_group_goes_to_a_member(router):
    case = snapshot(**CASE)
    assert router.ticket_event(TicketCreated, created(case)).winner == "carla"
    announced(router)
    by_hand = snapshot(reference=case.reference, assignee="abe", version=3, **CASE)
    decision = router.ticket_event(TicketUpdated, delivery(TicketUpdated(
        by_hand, {"assignee": {"before": "carla", "after": "abe"}}, ActorType.AGENT, "sup")))
    assert decision.winner == "carla" and "abe is not in the confidential group" in decision.rule
