"""Ticket rules (services/tickets/domain.py): statuses, priorities, actors,
threading. Pure unit tests, no broker, no database."""

from __future__ import annotations

import itertools

import pytest

from services.tickets.domain import (
    TRANSITIONS,
    IllegalTransition,
    ThreadDecision,
    TicketError,
    TicketRef,
    changes_between,
    check_actor,
    check_priority,
    check_transition,
    decide_thread,
    identity_keys,
    queue_for,
    router_decision_outcome,
    status_after_customer_reply,
)

ALL_STATUSES = ("new", "in_progress", "pending_customer", "resolved", "closed")


# --- status transitions ------------------------------------------------------------


def test_transition_table_covers_every_status_and_closed_is_final():
    assert set(TRANSITIONS) == set(ALL_STATUSES)
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(ALL_STATUSES)
    assert TRANSITIONS["closed"] == frozenset()
    assert "in_progress" in TRANSITIONS["resolved"]  # a resolved ticket can be reopened


ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
DISALLOWED = [(a, b) for a, b in itertools.permutations(ALL_STATUSES, 2) if (a, b) not in ALLOWED]


@pytest.mark.parametrize("current, target", ALLOWED)
def test_allowed_transitions_pass(current, target):
    assert check_transition(current, target) == target


@pytest.mark.parametrize("current, target", DISALLOWED)
def test_disallowed_transitions_raise_with_both_statuses_and_what_is_allowed(current, target):
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    message = str(info.value)
    assert f"from {current} to {target}" in message
    allowed_part = message.split(f"allowed from {current}:", 1)[1]
    if TRANSITIONS[current]:
        for status in TRANSITIONS[current]:
            assert status in allowed_part
        assert target not in allowed_part.replace(" ", "").split(",")
    else:
        assert "final" in allowed_part
    assert (info.value.current, info.value.target) == (current, target)
    assert isinstance(info.value, TicketError)


@pytest.mark.parametrize("current, target", [
    ("new", "closed"),            # must be resolved first
    ("in_progress", "new"),
    ("resolved", "pending_customer"),
    ("closed", "in_progress"),    # closed is final: a new linked ticket instead
    ("closed", "new"),
])
def test_rules_a_support_team_relies_on(current, target):
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def test_closed_ticket_message_says_final():
    with pytest.raises(IllegalTransition) as info:
        check_transition("closed", "resolved")
    assert str(info.value) == ("cannot change status from closed to resolved; "
                               "allowed from closed: none (final)")


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_same_status_is_a_no_op(status):
    assert check_transition(status, status) == status


@pytest.mark.parametrize("target", ["open", "done", "", "Closed", None])
def test_unknown_target_status_names_the_value(target):
    with pytest.raises(TicketError) as info:
        check_transition("new", target)
    assert not isinstance(info.value, IllegalTransition)
    assert repr(target) in str(info.value)
    assert "in_progress" in str(info.value)  # lists the statuses there are


def test_unknown_current_status_is_a_ticket_error():
    with pytest.raises(TicketError) as info:
        check_transition("archived", "new")
    assert "archived" in str(info.value)


# --- priority, actor, queue ------------------------------------------------------------


@pytest.mark.parametrize("priority", ["low", "medium", "high", "urgent"])
def test_known_priorities_pass(priority):
    assert check_priority(priority) == priority


@pytest.mark.parametrize("priority", ["critical", "", "HIGH", None])
def test_unknown_priority_names_the_value_and_lists_allowed(priority):
    with pytest.raises(TicketError) as info:
        check_priority(priority)
    message = str(info.value)
    assert repr(priority) in message
    for p in ("low", "medium", "high", "urgent"):
        assert p in message


@pytest.mark.parametrize("actor_type, actor", [
    ("agent", "ana"), ("system", None), ("system", "router"), ("customer", None), ("customer", "ana@example.com"),
])
def test_check_actor_accepts(actor_type, actor):
    assert check_actor(actor_type, actor) is None


@pytest.mark.parametrize("actor", [None, ""])
def test_agent_without_a_name_is_refused(actor):
    with pytest.raises(TicketError) as info:
        check_actor("agent", actor)
    assert "agent" in str(info.value) and "actor" in str(info.value)


@pytest.mark.parametrize("actor_type", ["robot", "", "Agent", None])
def test_unknown_actor_type_is_refused(actor_type):
    with pytest.raises(TicketError) as info:
        check_actor(actor_type, "ana")
    assert repr(actor_type) in str(info.value)
    assert "agent" in str(info.value) and "customer" in str(info.value)


@pytest.mark.parametrize("category, queue", [
    ("billing", "billing"), ("technical", "technical"), ("delivery", "delivery"),
    (None, "general"), ("", "general"),
])
def test_queue_for(category, queue):
    assert queue_for(category) == queue


# --- customer replies ---------------------------------------------------------------------


@pytest.mark.parametrize("current, assigned, after", [
    ("pending_customer", True, "in_progress"),
    ("pending_customer", False, "new"),
    ("resolved", True, "in_progress"),
    ("resolved", False, "new"),
    ("new", True, "new"),
    ("new", False, "new"),
    ("in_progress", True, "in_progress"),
    ("in_progress", False, "in_progress"),
])
def test_status_after_customer_reply(current, assigned, after):
    assert status_after_customer_reply(current, assigned) == after


# --- audit diff --------------------------------------------------------------------------------


def test_changes_between_reports_only_changed_fields():
    before = {"status": "new", "priority": "medium", "assignee": None, "queue": "billing"}
    after = {"status": "in_progress", "priority": "medium", "assignee": "ana", "queue": "billing"}
    assert changes_between(before, after) == {
        "status": {"before": "new", "after": "in_progress"},
        "assignee": {"before": None, "after": "ana"},
    }


def test_changes_between_identical_is_empty():
    state = {"status": "new", "priority": "high"}
    assert changes_between(state, dict(state)) == {}


def test_changes_between_new_field_has_no_before():
    assert changes_between({}, {"priority": "urgent"}) == {"priority": {"before": None, "after": "urgent"}}


def test_changes_between_unassigning_shows_the_old_agent():
    assert changes_between({"assignee": "ana"}, {"assignee": None}) == {
        "assignee": {"before": "ana", "after": None}}


# --- identities -----------------------------------------------------------------------------------


def keys(**identities):
    return identity_keys(identities.items())


def test_identity_keys_case_folds_email():
    assert keys(email=" Ana.Silva@Example.COM ") == keys(email="ana.silva@example.com")


def test_phone_and_whatsapp_number_are_one_identity():
    assert keys(phone="+351912345678") == keys(whatsapp="+351912345678")
    assert keys(phone="+351912345678", whatsapp="+351912345678") == keys(phone="+351912345678")
    assert keys(phone="+351912345678") & keys(whatsapp=" +351912345678 ")


def test_different_identities_do_not_meet():
    assert not keys(email="ana@example.com") & keys(email="bob@example.com")
    assert not keys(phone="+351912345678") & keys(phone="+351912345679")
    assert len(keys(email="ana@example.com", phone="+351912345678", whatsapp="+351912345679")) == 3


def test_no_identities_is_empty():
    assert keys() == frozenset()
    assert keys(email="", phone=None, whatsapp="") == frozenset()


def test_an_sms_number_is_the_same_customer_as_their_phone_and_whatsapp():
    assert keys(sms="+351912345678") == keys(whatsapp="+351912345678") == keys(phone="+351912345678")


def test_a_new_identity_kind_compares_as_itself_without_a_rule_of_its_own():
    assert keys(messenger="4711") == keys(messenger=" 4711 ")
    assert not keys(messenger="4711") & keys(telegram="4711")
    assert not keys(messenger="+351912345678") & keys(phone="+351912345678")


# --- threading ------------------------------------------------------------------------------------------

ANA = keys(email="ana@example.com", whatsapp="+351912345678")
BOB = keys(email="bob@example.com")


def ticket(id_, status="in_progress", owner=ANA):
    return TicketRef(id=id_, reference=f"C-{id_:010d}", status=status, identities=owner)


def test_no_hints_opens_a_new_ticket():
    assert decide_thread(verified=None, by_message_id=None, mentioned=[], sender=ANA) == ThreadDecision(
        None, None, "new")


def test_verified_reference_wins_over_everything():
    verified, replied, typed = ticket(1), ticket(2), ticket(3)
    d = decide_thread(verified=verified, by_message_id=replied, mentioned=[typed], sender=ANA)
    assert (d.ticket, d.related, d.via) == (verified, None, "verified_reference")


def test_verified_reference_needs_no_shared_identity():
    verified = ticket(1, owner=ANA)
    d = decide_thread(verified=verified, by_message_id=None, mentioned=[], sender=frozenset())
    assert (d.ticket, d.via) == (verified, "verified_reference")


def test_in_reply_to_wins_over_a_typed_reference():
    replied, typed = ticket(2), ticket(3)
    d = decide_thread(verified=None, by_message_id=replied, mentioned=[typed], sender=ANA)
    assert (d.ticket, d.related, d.via) == (replied, None, "in_reply_to")


def test_typed_reference_counts_when_sender_is_the_customer():
    typed = ticket(3)
    d = decide_thread(verified=None, by_message_id=None, mentioned=[typed],
                      sender=keys(email="ANA@example.com"))
    assert (d.ticket, d.related, d.via) == (typed, None, "reference_in_text")


def test_typed_reference_matches_phone_sender_to_whatsapp_ticket():
    typed = ticket(3, owner=keys(whatsapp="+351912345678"))
    d = decide_thread(verified=None, by_message_id=None, mentioned=[typed],
                      sender=keys(phone="+351912345678"))
    assert (d.ticket, d.via) == (typed, "reference_in_text")


def test_stranger_typing_someone_elses_reference_gets_a_new_ticket():
    anas = ticket(3, owner=ANA)
    d = decide_thread(verified=None, by_message_id=None, mentioned=[anas], sender=BOB)
    assert (d.ticket, d.related, d.via) == (None, None, "new")


def test_stranger_typing_a_closed_reference_is_not_linked_to_it():
    anas_closed = ticket(3, status="closed", owner=ANA)
    d = decide_thread(verified=None, by_message_id=None, mentioned=[anas_closed], sender=BOB)
    assert (d.ticket, d.related, d.via) == (None, None, "new")


def test_anonymous_sender_and_anonymous_ticket_do_not_match():
    anonymous = ticket(3, owner=frozenset())
    d = decide_thread(verified=None, by_message_id=None, mentioned=[anonymous], sender=frozenset())
    assert (d.ticket, d.via) == (None, "new")


def test_first_of_the_senders_own_typed_references_is_chosen():
    bobs, anas_first, anas_second = ticket(3, owner=BOB), ticket(4), ticket(5)
    d = decide_thread(verified=None, by_message_id=None, mentioned=[bobs, anas_first, anas_second], sender=ANA)
    assert (d.ticket, d.via) == (anas_first, "reference_in_text")


@pytest.mark.parametrize("hint, via", [
    ("verified", "verified_reference_closed"),
    ("by_message_id", "in_reply_to_closed"),
    ("mentioned", "reference_in_text_closed"),
])
def test_match_on_closed_ticket_opens_a_new_linked_ticket(hint, via):
    closed = ticket(7, status="closed")
    kwargs = {"verified": None, "by_message_id": None, "mentioned": []}
    kwargs[hint] = [closed] if hint == "mentioned" else closed
    d = decide_thread(sender=ANA, **kwargs)
    assert (d.ticket, d.related, d.via) == (None, closed, via)


@pytest.mark.parametrize("status", ["new", "in_progress", "pending_customer", "resolved"])
def test_match_on_a_not_closed_ticket_appends_to_it(status):
    t = ticket(8, status=status)
    d = decide_thread(verified=None, by_message_id=t, mentioned=[], sender=ANA)
    assert (d.ticket, d.related, d.via) == (t, None, "in_reply_to")


# --- the router's decisions --------------------------------------------------------------------------

@pytest.mark.parametrize("status, current, assignee, previous, outcome", [
    ("new", None, "ana", None, "applied"),              # a waiting ticket gets its agent
    ("in_progress", "bob", "ana", "bob", "applied"),     # the router moves it (bob left)
    ("new", "ana", "ana", None, "no_op"),               # the same decision delivered again
    ("new", "ana", "ana", "bob", "no_op"),              # a race already won
    ("new", "carla", "ana", None, "superseded"),        # an agent took it meanwhile
    ("in_progress", "carla", "ana", "bob", "superseded"),
    ("resolved", None, "ana", None, "skipped"),         # not open any more
    ("closed", "bob", "ana", "bob", "skipped"),
    (None, None, "ana", None, "skipped"),               # no such ticket
    ("pending_customer", "bob", None, "bob", "applied"),  # unassigned: bob is away
    ("new", None, None, "bob", "no_op"),                # unassigned already
    ("new", "carla", None, "bob", "superseded"),        # an agent reassigned it since
])
def test_a_router_decision_applies_only_while_the_ticket_is_as_the_router_saw_it(
        status, current, assignee, previous, outcome):
    assert router_decision_outcome(status, current, assignee, previous) == outcome


def test_every_open_status_takes_a_decision_and_every_other_skips_it():
    from services.common.contract.vocabulary import Status

    for status in Status:
        expected = "applied" if status.is_open else "skipped"
        assert router_decision_outcome(status.value, None, "ana", None) == expected, status
