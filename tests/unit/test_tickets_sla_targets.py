"""First-response targets as an operator writes them: read with clear errors
(services/tickets/domain.py). Flagging breaches is in the store's tests,
tests/integration/tickets/test_tickets_store.py."""

from __future__ import annotations

import pytest

from services.tickets import domain


def test_sla_targets_are_read_with_clear_errors():
    assert domain.parse_first_response_minutes("urgent=30, low=2880") == {
        **domain.DEFAULT_FIRST_RESPONSE_MINUTES, "urgent": 30.0, "low": 2880.0}
    for bad, said in (("vip=5", "unknown priority"), ("high=soon", "must be a number"), ("low=0", "above zero")):
        with pytest.raises(ValueError, match=said):
            domain.parse_first_response_minutes(bad)
