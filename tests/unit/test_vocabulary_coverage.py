"""Every consumer that decides something per status or priority decides it for each
word of the kernel's vocabulary: a status or priority added to
services/common/contract/vocabulary.py fails here until each of them says what it
means for it."""

from services.common.contract.vocabulary import STATUSES, Priority, Status
from services.notifier import plan
from services.tickets import domain


def test_the_ticket_rules_say_where_each_status_may_go():
    assert set(domain.TRANSITIONS) == set(Status)
    assert all(targets <= set(Status) for targets in domain.TRANSITIONS.values())


def test_every_priority_has_a_first_response_target():
    assert set(domain.DEFAULT_FIRST_RESPONSE_MINUTES) == set(Priority)


def test_the_notifier_decides_what_the_customer_hears_on_entering_each_status():
    assert set(plan.ON_ENTERING) == set(Status)
    assert [plan.on_entering(s.value) for s in STATUSES] == [plan.ON_ENTERING[s] for s in STATUSES]


def test_a_status_the_notifier_never_decided_is_refused_not_ignored():
    try:
        plan.on_entering("archived")
    except ValueError as exc:
        assert "archived" in str(exc)
    else:
        raise AssertionError("an unknown status passed silently")
